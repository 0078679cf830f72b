import { describe, expect, it } from 'vitest';
import { runDocument } from '../../../lib/engine/decide/run-document.js';
import type { ConcurrencyWait } from '../../../lib/engine/model.js';
import { loadSpec } from '../../../lib/spec/index.js';
import type { Workflow } from '../../../lib/spec/schema.js';

const T = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();

const spec: Workflow = loadSpec({
  text: `name: doc
on: { manual: true }
jobs:
  a:
    steps: [{ id: one, uses: action:noop }, { uses: action:noop }]
    hooks: { post: [{ uses: action:noop }] }
    outputs: { v: '\${{ steps.one.outputs.v }}' }
  b: { needs: a, steps: [{ uses: action:noop }] }
outputs: { fromA: '\${{ jobs.a.outputs.v }}' }
`,
  format: 'yaml',
});

const snap = (
  run: Record<string, string>,
  jobs: Record<string, string> = {},
  steps: Record<string, string> = {},
) => ({
  run: { id: 'run_1', workflow: 'doc', spec: JSON.stringify(spec), ...run },
  jobs,
  steps,
});

const record = (fields: Record<string, unknown>) =>
  JSON.stringify({ status: 'succeeded', attempt: 1, outputs: {}, error: null, ...fields });

describe('runDocument: the run', () => {
  it.each([
    ['no status yet reads queued', {}, 'queued', null],
    ['a running run has no error', { status: 'running' }, 'running', null],
    [
      'a failed job makes JOB_FAILED with its cause',
      { status: 'failed', failedJob: 'a', failedError: '{"code":"STEP_FAILED","message":"boom"}' },
      'failed',
      { code: 'JOB_FAILED', job: 'a', message: 'boom' },
    ],
    [
      'a failed job without a cause still names it',
      { status: 'failed', failedJob: 'a' },
      'failed',
      { code: 'JOB_FAILED', job: 'a', message: 'job a failed' },
    ],
    [
      'a run-level error (timeout) is shown as stored',
      { status: 'failed', error: '{"code":"TIMEOUT","message":"late"}' },
      'failed',
      { code: 'TIMEOUT', message: 'late' },
    ],
    [
      'a cancel shows its reason',
      { status: 'cancelled', error: '{"code":"CANCELLED","message":"by hand"}' },
      'cancelled',
      { code: 'CANCELLED', message: 'by hand' },
    ],
    [
      'a stored error of a run still running is not shown',
      { status: 'running', error: '{"code":"CANCELLED","message":"soon"}' },
      'running',
      null,
    ],
  ])('%s', (_name, run, status, error) => {
    const doc = runDocument(snap(run));
    expect([doc.status, doc.error]).toEqual([status, error]);
  });

  it('evaluates workflow outputs from the jobs, only once the run succeeded', () => {
    const jobs = { 'status:a': 'succeeded', 'outputs:a': '{"v":42}' };
    expect(runDocument(snap({ status: 'succeeded' }, jobs)).outputs).toEqual({ fromA: 42 });
    expect(runDocument(snap({ status: 'running' }, jobs)).outputs).toEqual({});
  });

  it('refuses workflow outputs past 256 KiB: no outputs, OUTPUT_TOO_LARGE', () => {
    const big = JSON.stringify({ v: 'x'.repeat(256 * 1024) });
    const doc = runDocument(
      snap({ status: 'succeeded' }, { 'status:a': 'succeeded', 'outputs:a': big }),
    );
    expect([doc.status, doc.outputs, doc.error?.code]).toEqual([
      'succeeded',
      {},
      'OUTPUT_TOO_LARGE',
    ]);
  });

  it.each([
    [
      'a gate with no live wait shows an empty concurrency wait',
      new Map(),
      { heldBy: [], position: null },
    ],
    [
      'a gate shows who holds the slot now',
      new Map([['run_1', { kind: 'concurrency', group: 'g', heldBy: ['run_0'], position: 1 }]]),
      { heldBy: ['run_0'], position: 1 },
    ],
  ] as [string, Map<string, ConcurrencyWait>, object][])('%s', (_name, waits, expected) => {
    const doc = runDocument(snap({ status: 'queued', gate: 'g' }), waits);
    expect(doc.waitingFor).toEqual({ kind: 'concurrency', group: 'g', ...expected });
    expect(runDocument(snap({ status: 'cancelled', gate: 'g' }), waits).waitingFor).toBeNull();
  });
});

describe('runDocument: jobs and steps', () => {
  type Job = {
    status: string;
    attempts: { attempt: number; error: unknown }[];
    waitingFor: unknown;
    steps: { id: string; status: string; tries: number; error: unknown }[];
  };
  const jobOf = (jobs: Record<string, string>, steps: Record<string, string> = {}) =>
    (runDocument(snap({ status: 'running' }, jobs, steps)).jobs as Record<string, Job>).a as Job;
  const stepsOf = (job: Job) => job.steps.map((s) => [s.id, s.status, s.tries]);

  it.each([
    // A hook appears only once it ran; plain steps always show.
    [
      'a pending job shows its steps pending',
      {},
      {},
      [
        ['one', 'pending', 0],
        ['s1', 'pending', 0],
      ],
    ],
    [
      'a skipped job shows its steps skipped',
      { 'status:a': 'skipped' },
      {},
      [
        ['one', 'skipped', 0],
        ['s1', 'skipped', 0],
      ],
    ],
    [
      'recorded steps show their record, tries 1 by default, and a hook that ran',
      { 'status:a': 'succeeded' },
      { 'a#0': record({}), 'a#1': record({ tries: 3 }), 'a#2': record({}) },
      [
        ['one', 'succeeded', 1],
        ['s1', 'succeeded', 3],
        ['post0', 'succeeded', 1],
      ],
    ],
    [
      'a skipped record did not run: tries 0',
      { 'status:a': 'running' },
      { 'a#0': record({ status: 'skipped' }) },
      [
        ['one', 'skipped', 0],
        ['s1', 'pending', 0],
      ],
    ],
    [
      'a cancelled job ends its running and waiting steps cancelled',
      { 'status:a': 'cancelled' },
      { 'a#0': record({ status: 'waiting' }), 'a#1': record({ status: 'running' }) },
      [
        ['one', 'cancelled', 1],
        ['s1', 'cancelled', 1],
      ],
    ],
  ])('%s', (_name, jobs, steps, expected) => {
    expect(stepsOf(jobOf(jobs, steps))).toEqual(expected);
  });

  it('a cancelled step carries its job error, or CANCELLED', () => {
    const err = { code: 'TIMEOUT', message: 'late' };
    const withError = jobOf(
      { 'status:a': 'cancelled', 'error:a': JSON.stringify(err), 'finishedAt:a': String(T) },
      { 'a#0': record({ status: 'running' }) },
    );
    expect(withError.steps[0]?.error).toEqual(err);
    const plain = jobOf({ 'status:a': 'cancelled' }, { 'a#0': record({ status: 'waiting' }) });
    expect(plain.steps[0]?.error).toEqual({ code: 'CANCELLED', message: 'the run was cancelled' });
  });

  it.each([
    ['never ran: no attempts', {}, []],
    [
      'first attempt failed: one attempt with its error',
      { 'attempt:a': '1', 'error:a': '{"code":"X","message":"x"}' },
      [{ attempt: 1, error: { code: 'X', message: 'x' } }],
    ],
    [
      'retried: earlier attempts from attemptError, the last from error',
      {
        'attempt:a': '3',
        'attemptError:a#1': '{"code":"A","message":"1"}',
        'attemptError:a#2': '{"code":"B","message":"2"}',
      },
      [
        { attempt: 1, error: { code: 'A', message: '1' } },
        { attempt: 2, error: { code: 'B', message: '2' } },
        { attempt: 3, error: null },
      ],
    ],
  ])('attempts: %s', (_name, jobs, expected) => {
    expect(jobOf(jobs).attempts).toEqual(expected);
  });

  it('a waiting job shows its live wait, else the stored one; others none', () => {
    const stored = { kind: 'concurrency', group: 'g', heldBy: [], position: 3 };
    const jobs = { 'status:a': 'waiting', 'waitingFor:a': JSON.stringify(stored) };
    expect(jobOf(jobs).waitingFor).toEqual(stored);
    const live: ConcurrencyWait = {
      kind: 'concurrency',
      group: 'g',
      heldBy: ['run_0'],
      position: 1,
    };
    const doc = runDocument(snap({ status: 'running' }, jobs), new Map([['run_1/a', live]]));
    expect((doc.jobs.a as Job).waitingFor).toEqual(live);
    expect(jobOf({ ...jobs, 'status:a': 'running' }).waitingFor).toBeNull();
  });

  it('shows times as ISO strings', () => {
    const doc = runDocument(
      snap({ status: 'running', createdAt: String(T), startedAt: String(T + 1) }),
    );
    expect([doc.createdAt, doc.startedAt, doc.finishedAt]).toEqual([iso(T), iso(T + 1), null]);
  });
});
