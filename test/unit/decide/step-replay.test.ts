import { describe, expect, it } from 'vitest';
import { replayStep, stepCondition } from '../../../lib/engine/decide/step-replay.js';

describe('replayStep: what a claim does with the step it reaches', () => {
  // The claim is attempt 2, with a job status of `success` unless said otherwise.
  it.each([
    { case: 'nothing recorded', recorded: undefined, replay: 'run' },
    {
      case: 'succeeded in an earlier attempt',
      recorded: { status: 'succeeded', attempt: 1 },
      replay: 'reuse',
    },
    {
      case: 'succeeded in this attempt',
      recorded: { status: 'succeeded', attempt: 2 },
      replay: 'reuse',
    },
    {
      case: 'failed in an earlier attempt',
      recorded: { status: 'failed', attempt: 1 },
      replay: 'run',
    },
    {
      case: 'failed in this attempt (a checkpoint resumes)',
      recorded: { status: 'failed', attempt: 2 },
      replay: 'reuse',
    },
    {
      case: 'skipped in this attempt',
      recorded: { status: 'skipped', attempt: 2 },
      replay: 'reuse',
    },
    {
      case: 'skipped in an earlier attempt',
      recorded: { status: 'skipped', attempt: 1 },
      replay: 'run',
    },
    {
      case: 'cancelled in this attempt',
      recorded: { status: 'cancelled', attempt: 2 },
      replay: 'reuse',
    },
    {
      case: 'running when this attempt died',
      recorded: { status: 'running', attempt: 2 },
      replay: 'run',
    },
    {
      case: 'running when an earlier attempt died',
      recorded: { status: 'running', attempt: 1 },
      replay: 'run',
    },
    {
      case: 'waiting in this attempt',
      recorded: { status: 'waiting', attempt: 2 },
      replay: 'resume',
    },
    {
      case: 'waiting since an earlier attempt (a crash after the wake)',
      recorded: { status: 'waiting', attempt: 1 },
      replay: 'resume',
    },
  ] as const)('$case → $replay', ({ recorded, replay }) => {
    expect(replayStep(recorded, 2, undefined, 'success')).toBe(replay);
  });

  it.each([
    { hook: 'pre', status: 'failure', replay: 'run' },
    { hook: 'post', status: 'success', replay: 'run' },
    { hook: 'post', status: 'failure', replay: 'run' },
    { hook: 'onSuccess', status: 'success', replay: 'run' },
    { hook: 'onSuccess', status: 'failure', replay: 'pass' },
    { hook: 'onFailure', status: 'failure', replay: 'run' },
    { hook: 'onFailure', status: 'success', replay: 'pass' },
    { hook: 'onFailure', status: 'cancelled', replay: 'pass' },
  ] as const)('a $hook hook while the job is $status → $replay', ({ hook, status, replay }) => {
    expect(replayStep(undefined, 1, hook, status)).toBe(replay);
  });

  it('keeps a hook that already ran, whatever the status now', () => {
    expect(replayStep({ status: 'succeeded', attempt: 1 }, 1, 'onSuccess', 'failure')).toBe(
      'reuse',
    );
  });

  it('passes a hook for the other outcome even when it waited', () => {
    expect(replayStep({ status: 'waiting', attempt: 1 }, 1, 'onFailure', 'success')).toBe('pass');
  });
});

describe('stepCondition: the `if` a step runs under', () => {
  it.each([
    { own: undefined, hook: undefined, condition: undefined },
    { own: undefined, hook: 'pre', condition: undefined },
    { own: undefined, hook: 'onSuccess', condition: undefined },
    { own: undefined, hook: 'post', condition: 'always()' },
    { own: undefined, hook: 'onFailure', condition: 'always()' },
    { own: 'success()', hook: 'post', condition: 'success()' },
    { own: "env.X == '1'", hook: undefined, condition: "env.X == '1'" },
  ] as const)('own $own, hook $hook → $condition', ({ own, hook, condition }) => {
    expect(stepCondition(own, hook)).toBe(condition);
  });
});
