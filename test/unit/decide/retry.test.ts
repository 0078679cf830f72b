import { describe, expect, it } from 'vitest';
import { nextAttempt, nextTry, retryDelayMs } from '../../../lib/engine/decide/retry.js';
import type { Retries } from '../../../lib/spec/schema.js';

const policy = (p: Partial<Retries>): Retries => ({
  max: 3,
  backoff: 'exp',
  initialIntervalMs: 1000,
  jitter: false,
  ...p,
});
const failure = { code: 'STEP_FAILED', message: 'boom' };

describe('retryDelayMs: the backoff before the next attempt', () => {
  it.each([
    { backoff: 'exp', attempt: 1, delay: 1000 },
    { backoff: 'exp', attempt: 2, delay: 2000 },
    { backoff: 'exp', attempt: 3, delay: 4000 },
    { backoff: 'lin', attempt: 1, delay: 1000 },
    { backoff: 'lin', attempt: 3, delay: 3000 },
    { backoff: 'fixed', attempt: 1, delay: 1000 },
    { backoff: 'fixed', attempt: 3, delay: 1000 },
  ] as const)('$backoff after attempt $attempt → $delay ms', ({ backoff, attempt, delay }) => {
    expect(retryDelayMs(policy({ backoff }), attempt, failure)).toBe(delay);
  });

  it.each([
    { case: 'capped at maxIntervalMs', p: { maxIntervalMs: 2500 }, attempt: 3, delay: 2500 },
    { case: 'jitter at its low end', p: { jitter: true }, attempt: 2, random: 0, delay: 1000 },
    { case: 'jitter at its high end', p: { jitter: true }, attempt: 2, random: 1, delay: 2000 },
    {
      case: 'jitter after the cap',
      p: { jitter: true, maxIntervalMs: 1000 },
      attempt: 3,
      random: 0.5,
      delay: 750,
    },
  ])('$case → $delay ms', ({ p, attempt, random, delay }) => {
    expect(retryDelayMs(policy(p), attempt, failure, () => random ?? 0)).toBe(delay);
  });

  it.each([
    { case: 'no retries declared', p: undefined, attempt: 1, error: failure },
    { case: 'max: 0', p: policy({ max: 0 }), attempt: 1, error: failure },
    { case: 'the last attempt failed', p: policy({ max: 2 }), attempt: 3, error: failure },
    ...[
      'VALIDATION',
      'EXPRESSION_ERROR',
      'CAPABILITY_DENIED',
      'NOT_IMPLEMENTED',
      'SECRET_NOT_FOUND',
      'CANCELLED',
    ].map((code) => ({
      case: `a permanent ${code}`,
      p: policy({}),
      attempt: 1,
      error: { code, message: '' },
    })),
  ])('gives up: $case', ({ p, attempt, error }) => {
    expect(retryDelayMs(p, attempt, error)).toBeUndefined();
  });

  it('retries a failure without an error record', () => {
    expect(retryDelayMs(policy({}), 1, null)).toBe(1000);
  });
});

describe('nextAttempt: a failed job attempt', () => {
  it.each([
    { case: 'retries left', p: policy({}), attempt: 2, next: { dueAt: 12_000, delayMs: 2000 } },
    { case: 'none left', p: policy({ max: 1 }), attempt: 2, next: undefined },
    { case: 'no policy', p: undefined, attempt: 1, next: undefined },
  ])('$case → $next', ({ p, attempt, next }) => {
    expect(nextAttempt(p, attempt, failure, 10_000)).toEqual(next);
  });
});

describe('nextTry: a failed try of a step, in the same invocation', () => {
  const at = { now: 10_000, deadline: 20_000, stopped: false };
  it.each([
    { case: 'the backoff fits before the deadline', p: policy({}), failed: 1, at, delay: 1000 },
    {
      case: 'the backoff ends at the deadline',
      p: policy({}),
      failed: 1,
      at: { ...at, deadline: 11_000 },
      delay: undefined,
    },
    {
      case: 'the job was stopped',
      p: policy({}),
      failed: 1,
      at: { ...at, stopped: true },
      delay: undefined,
    },
    { case: 'no tries left', p: policy({ max: 1 }), failed: 2, at, delay: undefined },
    { case: 'no policy', p: undefined, failed: 1, at, delay: undefined },
  ])('$case → $delay', ({ p, failed, at, delay }) => {
    expect(nextTry(p, failed, failure, at)).toBe(delay);
  });
});
