import { describe, expect, it } from 'vitest';
import {
  clock,
  formatEvent,
  formatFieldProblem,
  formatProblem,
  formatRunList,
  type JobDoc,
  type RunDoc,
  runResultLines,
  type StepDoc,
  watchLines,
} from '../../lib/cli/format.js';

const step = (id: string, status: string, extra: Partial<StepDoc> = {}): StepDoc => ({
  id,
  status,
  attempt: 1,
  ...extra,
});
const job = (status: string, steps: StepDoc[], extra: Partial<JobDoc> = {}): JobDoc => ({
  status,
  attempt: 1,
  steps,
  ...extra,
});
const run = (
  status: string,
  jobs: Record<string, JobDoc>,
  extra: Partial<RunDoc> = {},
): RunDoc => ({
  id: 'run_1',
  status,
  jobs,
  ...extra,
});

describe('watchLines', () => {
  const T = '12:00:01';
  const boom = { code: 'STEP_FAILED', message: 'exit code 1' };

  it.each<[string, RunDoc | undefined, RunDoc, string[]]>([
    [
      'reports nothing for a queued run whose jobs are all pending, bar the run itself',
      undefined,
      run('queued', { a: job('pending', [step('s0', 'pending')]) }),
      [`${T} run queued`],
    ],
    [
      'reports whatever already happened on the first look',
      undefined,
      run('running', {
        a: job('succeeded', [step('seed', 'succeeded')]),
        b: job('running', [step('derive', 'running')]),
        c: job('pending', [step('derive', 'pending')]),
      }),
      [
        `${T} run running`,
        `${T} step a/seed succeeded`,
        `${T} job a succeeded`,
        `${T} job b running`,
        `${T} step b/derive running`,
      ],
    ],
    [
      'reports only what changed since the last look',
      run('running', {
        a: job('succeeded', [step('seed', 'succeeded')]),
        b: job('running', [step('derive', 'running')]),
      }),
      run('running', {
        a: job('succeeded', [step('seed', 'succeeded')]),
        b: job('running', [step('derive', 'succeeded')]),
      }),
      [`${T} step b/derive succeeded`],
    ],
    [
      'puts a finished job after its steps, a started one before them',
      run('running', {
        b: job('queued', [step('derive', 'pending')]),
        c: job('pending', [step('derive', 'pending')]),
      }),
      run('running', {
        b: job('succeeded', [step('derive', 'succeeded')]),
        c: job('running', [step('derive', 'running')]),
      }),
      [
        `${T} step b/derive succeeded`,
        `${T} job b succeeded`,
        `${T} job c running`,
        `${T} step c/derive running`,
      ],
    ],
    [
      'shows errors of failed steps and jobs',
      run('running', { b: job('running', [step('derive', 'running')]) }),
      run('running', {
        b: job('failed', [step('derive', 'failed', { error: boom })], { error: boom }),
      }),
      [
        `${T} step b/derive failed: exit code 1 (STEP_FAILED)`,
        `${T} job b failed: exit code 1 (STEP_FAILED)`,
      ],
    ],
    [
      'reports a retry: a new attempt in the same status',
      run('running', { b: job('running', [step('s0', 'running')]) }),
      run('running', {
        b: job('running', [step('s0', 'running', { attempt: 2 })], { attempt: 2 }),
      }),
      [`${T} job b running (attempt 2)`, `${T} step b/s0 running (attempt 2)`],
    ],
    [
      'does not report moves back to pending',
      run('running', { b: job('running', [step('s0', 'failed', { error: boom })]) }),
      run('running', {
        b: job('running', [step('s0', 'pending', { attempt: 2 })], { attempt: 2 }),
      }),
      [`${T} job b running (attempt 2)`],
    ],
    [
      'keeps the steps of a skipped job quiet',
      run('running', { d: job('pending', [step('s0', 'pending'), step('s1', 'pending')]) }),
      run('running', { d: job('skipped', [step('s0', 'skipped'), step('s1', 'skipped')]) }),
      [`${T} job d skipped`],
    ],
    [
      'reports run status changes but leaves the final one to the result lines',
      run('running', { a: job('running', [step('s0', 'running')]) }),
      run('succeeded', { a: job('succeeded', [step('s0', 'succeeded')]) }),
      [`${T} step a/s0 succeeded`, `${T} job a succeeded`],
    ],
    [
      'reports a run going to waiting',
      run('running', {}),
      run('waiting', { a: job('waiting', [step('gate', 'running')]) }),
      [`${T} run waiting`, `${T} job a waiting`, `${T} step a/gate running`],
    ],
    [
      'matches steps by id, so a hook appearing in front shifts nothing',
      run('running', { a: job('running', [step('s0', 'running')]) }),
      run('running', { a: job('running', [step('pre0', 'succeeded'), step('s0', 'running')]) }),
      [`${T} step a/pre0 succeeded`],
    ],
  ])('%s', (_, prev, next, expected) => {
    expect(watchLines(prev, next, T)).toEqual(expected);
  });
});

describe('runResultLines', () => {
  it.each<[string, RunDoc, string[]]>([
    [
      'a succeeded run with its duration and outputs',
      run(
        'succeeded',
        {},
        {
          startedAt: '2024-01-01T12:00:00.000Z',
          finishedAt: '2024-01-01T12:00:02.340Z',
          outputs: { result: 'b(1)+c(1)' },
        },
      ),
      ['run run_1 succeeded in 2.3s', 'outputs: {\n  "result": "b(1)+c(1)"\n}'],
    ],
    [
      'a failed run with its error and no empty outputs',
      run(
        'failed',
        {},
        { outputs: {}, error: { code: 'JOB_FAILED', job: 'b', message: 'job b failed' } },
      ),
      ['run run_1 failed', 'error: job b failed (JOB_FAILED)'],
    ],
    ['a cancelled run', run('cancelled', {}, { startedAt: null }), ['run run_1 cancelled']],
  ])('%s', (_, doc, expected) => {
    expect(runResultLines(doc)).toEqual(expected);
  });
});

describe('formatFieldProblem', () => {
  it.each([
    [
      { path: 'jobs.b.needs', message: "unknown job 'x'", line: 12 },
      "jobs.b.needs (line 12): unknown job 'x'",
    ],
    [{ path: 'name', message: "must equal 'diamond'" }, "name: must equal 'diamond'"],
    [
      { path: '', message: 'invalid YAML: bad indentation', line: 3 },
      '(root) (line 3): invalid YAML: bad indentation',
    ],
  ])('%j → %s', (problem, expected) => {
    expect(formatFieldProblem(problem)).toBe(expected);
  });
});

describe('formatProblem', () => {
  it.each([
    [
      {
        title: 'Validation failed',
        status: 422,
        detail: 'invalid workflow spec',
        errors: [
          { path: 'jobs.a.steps[0].uses', message: 'unknown step kind', line: 6 },
          { path: 'on', message: 'required' },
        ],
      },
      [
        'Validation failed (HTTP 422): invalid workflow spec',
        '  jobs.a.steps[0].uses (line 6): unknown step kind',
        '  on: required',
      ],
    ],
    [{ title: 'Not Found', status: 404, errors: [] }, ['Not Found (HTTP 404)']],
  ])('%#: formats title, detail and every error with its path', (problem, expected) => {
    expect(formatProblem(problem)).toEqual(expected);
  });
});

describe('formatEvent', () => {
  it.each([
    [
      { id: '1-0', at: '2024-01-01T12:00:00.000Z', type: 'run.created', data: {} },
      '2024-01-01T12:00:00.000Z run.created',
    ],
    [
      { id: '2-0', at: 'T', type: 'job.started', job: 'test[shard=1]', data: { attempt: 1 } },
      'T job.started test[shard=1] {"attempt":1}',
    ],
    [
      { id: '3-0', at: 'T', type: 'step.failed', job: 'b', step: 'derive' },
      'T step.failed b/derive',
    ],
  ])('%#: %s', (event, expected) => {
    expect(formatEvent(event)).toBe(expected);
  });
});

describe('formatRunList', () => {
  it('aligns the columns under a header', () => {
    expect(
      formatRunList([
        {
          id: 'run_01',
          workflow: 'diamond',
          revision: 3,
          status: 'succeeded',
          createdAt: '2024-01-01T12:00:00.000Z',
        },
        {
          id: 'run_0002',
          workflow: 'hi',
          revision: 12,
          status: 'failed',
          createdAt: '2024-01-01T11:00:00.000Z',
        },
      ]),
    ).toEqual([
      'ID        WORKFLOW  REV  STATUS     CREATED',
      'run_01    diamond   3    succeeded  2024-01-01T12:00:00.000Z',
      'run_0002  hi        12   failed     2024-01-01T11:00:00.000Z',
    ]);
  });

  it('says so when there are no runs', () => {
    expect(formatRunList([])).toEqual(['no runs']);
  });
});

describe('clock', () => {
  it.each([
    [new Date(2024, 0, 1, 12, 0, 1), '12:00:01'],
    [new Date(2024, 0, 1, 9, 5, 59), '09:05:59'],
  ])('%s → %s', (date, expected) => {
    expect(clock(date)).toBe(expected);
  });
});
