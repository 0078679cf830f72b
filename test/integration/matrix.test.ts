import { describe, expect, it } from 'vitest';
import type { RunDoc } from '../../lib/api/documents.js';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { pollOnce, startTestApp, submitSpec } from '../support/engine.js';

const TENANT = 'acme';
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

async function doc(app: App, runId: string): Promise<RunDoc> {
  const snap = await app.runs.snapshot(TENANT, runId);
  if (!snap) throw new Error('no run');
  return runDocument(snap);
}

/** Three executors at once, as parallel Lambdas, until the run ends. */
async function drain(app: App, runId: string) {
  const deadline = Date.now() + 15_000;
  await Promise.all(
    [1, 2, 3].map(async () => {
      while (!FINAL.has((await doc(app, runId)).status)) {
        if (Date.now() > deadline) throw new Error('run did not finish');
        await pollOnce(app, 1);
      }
    }),
  );
}

/** Most instances of `job` running at one time, from the run's events. */
async function maxConcurrent(app: App, runId: string, job: string): Promise<number> {
  let now = 0;
  let max = 0;
  for (const e of await app.runs.readEvents(TENANT, runId, undefined, 1000)) {
    if (!e.fields.job?.startsWith(`${job}[`)) continue;
    if (e.fields.type === 'job.started') max = Math.max(max, ++now);
    if (e.fields.type === 'job.succeeded' || e.fields.type === 'job.failed') now--;
  }
  return max;
}

const spec = (strategy: string, step = '{ uses: action:sleep-ms, with: { ms: 150 } }') => `
name: shards
on: { manual: true }
jobs:
  test:
    strategy: { matrix: { shard: [1, 2, 3, 4] }, ${strategy} }
    steps:
      - ${step}
  report: { needs: test, if: "\${{ always() }}", steps: [{ uses: action:noop }] }
`;

describe('matrix strategy', () => {
  it('runs at most maxParallel instances at once, and all of them', async () => {
    const app = await startTestApp();
    const id = await submitSpec(app, spec('maxParallel: 2'));
    await drain(app, id);
    const d = await doc(app, id);
    expect(d.status).toBe('succeeded');
    expect(Object.values(d.jobs).map((j) => j.status)).toEqual(Array(5).fill('succeeded'));
    expect(await maxConcurrent(app, id, 'test')).toBe(2);
  });

  it('failFast (the default) cancels the instances that have not started when one fails', async () => {
    const app = await startTestApp();
    const fail = '{ uses: action:fail, if: "${{ matrix.shard == 1 }}" }';
    const id = await submitSpec(app, spec('maxParallel: 1', fail));
    await drain(app, id);
    const d = await doc(app, id);
    expect(d.status).toBe('failed');
    expect(d.jobs['test[shard=1]']?.status).toBe('failed');
    for (const n of [2, 3, 4]) {
      expect(d.jobs[`test[shard=${n}]`]).toMatchObject({
        status: 'cancelled',
        error: { code: 'CANCELLED' },
      });
    }
    expect(d.jobs.report?.status).toBe('succeeded');
  });

  it('failFast stops the instances already running, at their next heartbeat', async () => {
    const app = await startTestApp({ leaseMs: 300 });
    const step =
      '{ uses: action:sleep-ms, with: { ms: "${{ matrix.shard == 1 && 50 || 10000 }}" } }\n      - { uses: action:fail, if: "${{ matrix.shard == 1 }}" }';
    const id = await submitSpec(app, spec('maxParallel: 4', step));
    const started = Date.now();
    await drain(app, id);
    expect(Date.now() - started).toBeLessThan(5_000);
    const d = await doc(app, id);
    expect(d.status).toBe('failed');
    expect(d.jobs['test[shard=1]']?.status).toBe('failed');
    for (const n of [2, 3, 4]) expect(d.jobs[`test[shard=${n}]`]?.status).toBe('cancelled');
  });

  it('failFast: false lets the other instances run', async () => {
    const app = await startTestApp();
    const fail = '{ uses: action:fail, if: "${{ matrix.shard == 1 }}" }';
    const id = await submitSpec(app, spec('maxParallel: 1, failFast: false', fail));
    await drain(app, id);
    const d = await doc(app, id);
    expect(d.status).toBe('failed');
    expect([2, 3, 4].map((n) => d.jobs[`test[shard=${n}]`]?.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
  });
});
