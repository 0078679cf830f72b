import { ulid } from 'ulidx';
import { describe, expect, it } from 'vitest';
import { decideReap, type ReapAction } from '../../../lib/engine/decide/reap.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const REQUEUE = 60_000;
const ago = (ms: number) => String(NOW - ms);

/** A run created `age` ms before NOW (the reaper reads its age from the id). */
const ref = (age = 10 * 60_000) => ({ tenant: 't', runId: `run_${ulid(NOW - age)}` });
const task = (jobKey: string, extra: Record<string, unknown> = {}) => ({
  tenant: 't',
  jobKey,
  attempt: 1,
  token: `tok-${jobKey}`,
  ...extra,
});

type Row = [
  name: string,
  run: Record<string, string>,
  jobs: Record<string, string>,
  expected: ReapAction[],
  age?: number,
];

const running = { status: 'running' };
const job = (key: string, fields: Record<string, string>) =>
  Object.fromEntries(
    Object.entries({ attempt: '1', token: `tok-${key}`, ...fields }).map(([f, v]) => [
      `${f}:${key}`,
      v,
    ]),
  );

const rows: Row[] = [
  // A run not (fully) written may still be being written: nothing until the grace period.
  ['no run hash, young: wait', {}, {}, [], 1_000],
  ['no run hash, past the grace period: forget', {}, {}, [{ kind: 'forget' }]],
  [
    'succeeded: forget',
    { status: 'succeeded' },
    job('a', { status: 'succeeded' }),
    [{ kind: 'forget' }],
  ],
  ['failed: forget', { status: 'failed' }, {}, [{ kind: 'forget' }]],
  ['cancelled: forget', { status: 'cancelled' }, {}, [{ kind: 'forget' }]],
  ['run without jobs, young: wait', running, {}, [], 1_000],
  [
    'run without jobs, past the grace period: half-written',
    running,
    {},
    [{ kind: 'half-written' }],
  ],
  [
    'past timeoutAt: timeout',
    { ...running, timeoutAt: ago(1) },
    job('a', { status: 'running', lease: String(NOW + 1) }),
    [{ kind: 'timeout' }],
  ],
  [
    'past timeoutAt while a cancel is under way: nothing',
    { ...running, timeoutAt: ago(1), cancelRequested: '1' },
    job('a', { status: 'running', lease: String(NOW + 1) }),
    [],
  ],
  [
    'gated on its slot: recheck the run',
    { ...running, gate: 'g' },
    job('a', { status: 'queued', queuedAt: ago(10 * REQUEUE) }),
    // Its queued jobs are not resent: claims refuse them until the gate lifts.
    [{ kind: 'recheck', group: 'g' }],
  ],
  [
    'queued, no claim for requeueAfterMs: resend',
    running,
    job('a', { status: 'queued', queuedAt: ago(REQUEUE + 1) }),
    [{ kind: 'resend', task: task('a') } as ReapAction],
  ],
  [
    'queued recently: nothing',
    running,
    job('a', { status: 'queued', queuedAt: ago(REQUEUE - 1) }),
    [],
  ],
  [
    'resend keeps the job priority',
    running,
    job('a', { status: 'queued', queuedAt: ago(REQUEUE + 1), prio: 'high' }),
    [{ kind: 'resend', task: task('a', { priority: 'high' }) } as ReapAction],
  ],
  [
    'running on a lapsed lease: expire with its fence',
    running,
    job('a', { status: 'running', lease: ago(1), fence: '7', attempt: '2' }),
    [{ kind: 'expire', jobKey: 'a', fence: '7', attempt: 2 }],
  ],
  [
    'running on a live lease: nothing',
    running,
    job('a', { status: 'running', lease: String(NOW + 1), fence: '7' }),
    [],
  ],
  [
    'waiting past wakeAt by requeueAfterMs: resend (its wake-up was lost)',
    running,
    job('a', { status: 'waiting', wakeAt: ago(REQUEUE + 1), waitingFor: '{"kind":"sleep"}' }),
    [{ kind: 'resend', task: task('a') } as ReapAction],
  ],
  [
    'waiting, wakeAt just passed: nothing yet',
    running,
    job('a', { status: 'waiting', wakeAt: ago(REQUEUE - 1), waitingFor: '{"kind":"sleep"}' }),
    [],
  ],
  [
    'waiting for a concurrency slot: recheck the job',
    running,
    job('a', { status: 'waiting', waitingFor: '{"kind":"concurrency","group":"g"}' }),
    [{ kind: 'recheck', group: 'g', jobKey: 'a' }],
  ],
  [
    'waiting for an approval without deadline: nothing',
    running,
    job('a', { status: 'waiting', waitingFor: '{"kind":"approval"}' }),
    [],
  ],
  [
    'pending and finished jobs: nothing',
    running,
    { ...job('a', { status: 'succeeded' }), ...job('b', { status: 'pending' }) },
    [],
  ],
];

describe('decideReap', () => {
  it.each(rows)('%s', (_name, run, jobs, expected, age) => {
    const r = ref(age);
    const withRun = expected.map((a) =>
      a.kind === 'resend' ? { ...a, task: { ...a.task, runId: r.runId } } : a,
    );
    expect(decideReap(r, run, jobs, NOW, REQUEUE)).toEqual(withRun);
  });

  it('does all that applies, in order: timeout, the run gate, then each job', () => {
    const r = ref();
    const actions = decideReap(
      r,
      { ...running, timeoutAt: ago(1), gate: 'g' },
      {
        ...job('a', { status: 'running', lease: ago(1), fence: '3' }),
        ...job('b', { status: 'waiting', waitingFor: '{"kind":"concurrency","group":"h"}' }),
      },
      NOW,
      REQUEUE,
    );
    expect(actions.map((a) => a.kind)).toEqual(['timeout', 'recheck', 'expire', 'recheck']);
  });

  it('treats a run id that is not a ULID as old', () => {
    expect(decideReap({ tenant: 't', runId: 'run_x' }, {}, {}, NOW, REQUEUE)).toEqual([
      { kind: 'forget' },
    ]);
  });
});
