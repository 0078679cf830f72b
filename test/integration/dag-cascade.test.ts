import { describe, expect, it } from 'vitest';
import type { JobTask } from '../../lib/queue/message.js';
import { jobKeyOf } from '../../lib/store/job-fields.js';
import { createRunStore, type JobEnd } from '../../lib/store/run-store.js';
import { withScripts } from '../../lib/store/scripts.js';
import { admitRun } from '../support/admitted-run.js';
import { newRedis, uniquePrefix } from '../support/stack.js';

/**
 * The DAG cascade (lua/includes/cascade.lua `finishJob`, readiness in
 * lua/includes/readiness.lua) on the real Redis, as a table: a DAG shape, what each
 * job ends with, where a cancel comes → every job's status and the run's. The run
 * is admitted as admission writes it (test/support/admitted-run.ts) and driven
 * through the store's claim and finish scripts, one job at a time in the order the
 * scripts queue them; a job with a custom `if` ends as the table says its executor
 * decided.
 */
const TENANT = 'acme';
const noop = 'steps: [{ uses: action:noop }]';

interface Row {
  jobs: string;
  /** How each job that runs ends (default succeeded); `skipped` is a custom `if` false. */
  ends?: Record<string, JobEnd>;
  /** The run is cancelled while this job runs (it then ends cancelled). */
  cancelWhile?: string;
  /** Queued at admission (the rest pending or held). */
  first: string[];
  /** The jobs each finish queued, where the table says (the order of the cascade). */
  queuedBy?: Record<string, string[]>;
  statuses: Record<string, string>;
  run: string;
}

async function drive(row: Row) {
  const runs = createRunStore(withScripts(newRedis()), uniquePrefix());
  const { runId, tasks, now } = await admitRun(runs, row.jobs, { tenant: TENANT });
  const queued = tasks.map((t) => t.jobKey);
  let runStatus = '';
  const queuedBy: Record<string, string[]> = {};
  while (tasks.length > 0) {
    const task = tasks.shift() as JobTask;
    const claim = await runs.claimJob(task, now, 60_000);
    // A job the cascade ended while its task waited (cancelled): its task is stale.
    if (claim.kind !== 'claimed') continue;
    let end = row.ends?.[task.jobKey] ?? 'succeeded';
    if (row.cancelWhile === task.jobKey) {
      await runs.cancelRun(TENANT, runId, now, { finalStatus: 'cancelled' });
      end = 'cancelled';
    }
    const error = end === 'failed' ? '{"code":"STEP_FAILED","message":"x"}' : '';
    const out = await runs.finishJob(task, claim.fence, end, '{}', error, now);
    if (!out) throw new Error(`finishJob of ${task.jobKey} was refused`);
    tasks.push(...out.ready);
    queuedBy[task.jobKey] = out.ready.map((t) => t.jobKey);
    if (out.runStatus) runStatus = out.runStatus;
  }
  const snap = await runs.snapshot(TENANT, runId);
  const statuses: Record<string, string> = {};
  for (const [field, value] of Object.entries(snap?.jobs ?? {})) {
    const job = jobKeyOf(field, 'status');
    if (job !== undefined) statuses[job] = value;
  }
  return { first: queued, queuedBy, statuses, run: snap?.run.status, ended: runStatus };
}

const S = 'succeeded';
const F = 'failed';
const K = 'skipped';
const C = 'cancelled';

const ROWS: [string, Row][] = [
  [
    'chain, all succeed',
    {
      jobs: `  a: { ${noop} }\n  b: { needs: a, ${noop} }\n  c: { needs: b, ${noop} }`,
      first: ['a'],
      statuses: { a: S, b: S, c: S },
      run: S,
    },
  ],
  [
    'chain, the first fails: the rest are skipped',
    {
      jobs: `  a: { ${noop} }\n  b: { needs: a, ${noop} }\n  c: { needs: b, ${noop} }`,
      ends: { a: F },
      first: ['a'],
      statuses: { a: F, b: K, c: K },
      run: F,
    },
  ],
  [
    'independent roots: one fails, the other still runs',
    {
      jobs: `  a: { ${noop} }\n  b: { ${noop} }`,
      ends: { a: F },
      first: ['a', 'b'],
      statuses: { a: F, b: S },
      run: F,
    },
  ],
  [
    'diamond, one side fails: the join is skipped',
    {
      jobs: `  a: { ${noop} }\n  b: { needs: a, ${noop} }\n  c: { needs: a, ${noop} }\n  d: { needs: [b, c], ${noop} }`,
      ends: { b: F },
      first: ['a'],
      queuedBy: { a: ['b', 'c'], b: [], c: [] },
      statuses: { a: S, b: F, c: S, d: K },
      run: F,
    },
  ],
  [
    'diamond, one side fails under continueOnError: the join runs, the run succeeds',
    {
      jobs: `  a: { ${noop} }\n  b: { needs: a, continueOnError: true, ${noop} }\n  c: { needs: a, ${noop} }\n  d: { needs: [b, c], ${noop} }`,
      ends: { b: F },
      first: ['a'],
      statuses: { a: S, b: F, c: S, d: S },
      run: S,
    },
  ],
  [
    'custom if always(): queued after a failed need, and runs',
    {
      jobs: `  a: { ${noop} }\n  b: { needs: a, if: '\${{ always() }}', ${noop} }`,
      ends: { a: F },
      first: ['a'],
      statuses: { a: F, b: S },
      run: F,
    },
  ],
  [
    'custom if failure(): queued, and its executor skips it when nothing failed',
    {
      jobs: `  a: { ${noop} }\n  b: { needs: a, if: '\${{ failure() }}', ${noop} }`,
      ends: { b: K },
      first: ['a'],
      statuses: { a: S, b: K },
      run: S,
    },
  ],
  [
    'a skip cascades through default gates, not past a custom if',
    {
      jobs: `  a: { ${noop} }\n  b: { needs: a, ${noop} }\n  c: { needs: b, if: '\${{ always() }}', ${noop} }\n  d: { needs: b, ${noop} }`,
      ends: { a: F },
      first: ['a'],
      queuedBy: { a: ['c'], c: [] },
      statuses: { a: F, b: K, c: S, d: K },
      run: F,
    },
  ],
  [
    'fan-out without failFast, one instance fails: the others run, the join is skipped',
    {
      jobs: `  a: { ${noop} }\n  m: { needs: a, strategy: { matrix: { x: [1, 2, 3] }, failFast: false }, ${noop} }\n  d: { needs: m, ${noop} }`,
      ends: { 'm[x=2]': F },
      first: ['a'],
      statuses: { a: S, 'm[x=1]': S, 'm[x=2]': F, 'm[x=3]': S, d: K },
      run: F,
    },
  ],
  [
    'matrix failFast: one instance fails, those not running are cancelled',
    {
      jobs: `  m: { strategy: { matrix: { x: [1, 2, 3] } }, ${noop} }\n  d: { needs: m, ${noop} }`,
      ends: { 'm[x=1]': F },
      first: ['m[x=1]', 'm[x=2]', 'm[x=3]'],
      statuses: { 'm[x=1]': F, 'm[x=2]': C, 'm[x=3]': C, d: K },
      run: F,
    },
  ],
  [
    'matrix maxParallel 1: instances held at admission, queued one by one as others end',
    {
      jobs: `  m: { strategy: { matrix: { x: [1, 2, 3] }, maxParallel: 1 }, ${noop} }\n  d: { needs: m, ${noop} }`,
      first: ['m[x=1]'],
      queuedBy: { 'm[x=1]': ['m[x=2]'], 'm[x=2]': ['m[x=3]'], 'm[x=3]': ['d'], d: [] },
      statuses: { 'm[x=1]': S, 'm[x=2]': S, 'm[x=3]': S, d: S },
      run: S,
    },
  ],
  [
    'cancel while the first job runs: it and everything after it end cancelled',
    {
      jobs: `  a: { ${noop} }\n  b: { needs: a, ${noop} }\n  c: { needs: b, ${noop} }`,
      cancelWhile: 'a',
      first: ['a'],
      statuses: { a: C, b: C, c: C },
      run: C,
    },
  ],
  [
    'cancel in a diamond after one side ran: the finished job keeps its status',
    {
      jobs: `  a: { ${noop} }\n  b: { needs: a, ${noop} }\n  c: { needs: a, ${noop} }\n  d: { needs: [b, c], ${noop} }`,
      cancelWhile: 'c',
      first: ['a'],
      statuses: { a: S, b: S, c: C, d: C },
      run: C,
    },
  ],
  [
    'cancel with a custom if downstream: cancelled, not queued',
    {
      jobs: `  a: { ${noop} }\n  b: { needs: a, if: '\${{ always() }}', ${noop} }`,
      cancelWhile: 'a',
      first: ['a'],
      statuses: { a: C, b: C },
      run: C,
    },
  ],
];

describe('the DAG cascade on Redis (finishJob)', () => {
  it.each(ROWS)('%s', async (_name, row) => {
    const out = await drive(row);
    expect(out.first).toEqual(row.first);
    if (row.queuedBy) expect(out.queuedBy).toEqual(row.queuedBy);
    expect(out.statuses).toEqual(row.statuses);
    expect(out.run).toBe(row.run);
    // The script that ended the run said so, with the same status.
    expect(out.ended).toBe(row.run);
  });
});
