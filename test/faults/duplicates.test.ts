import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAction } from '../../lib/actions/registry.js';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { executeJob } from '../../lib/engine/job/execute.js';
import { reapRuns } from '../../lib/engine/tick/reaper.js';
import type { JobTask } from '../../lib/queue/message.js';
import { loadSpec } from '../../lib/spec/index.js';
import type { ClaimResult } from '../../lib/store/run-store.js';
import { currentTask, pollOnce, startTestApp, submitSpec } from '../support/engine.js';

/**
 * Invariant 3 under real concurrency: copies of a task racing each other on
 * several executors, and reapers racing each other and an SQS redelivery. Each
 * step here is `action:fault-probe`, which counts how often its body runs and
 * how many copies of it run at once (by its stable idempotency key).
 */

const TENANT = 'acme';

const inFlight = new Map<string, number>();
const executions = new Map<string, number>();
let maxConcurrent = 0;
let unregister: () => void;

beforeAll(() => {
  unregister = registerAction('fault-probe', async (w, ctx) => {
    const id = ctx.idempotencyKey;
    const now = (inFlight.get(id) ?? 0) + 1;
    inFlight.set(id, now);
    maxConcurrent = Math.max(maxConcurrent, now);
    executions.set(id, (executions.get(id) ?? 0) + 1);
    try {
      await new Promise((r) => setTimeout(r, Number(w.ms ?? 0)));
      return { ok: true };
    } finally {
      inFlight.set(id, (inFlight.get(id) ?? 1) - 1);
    }
  });
});
afterAll(() => unregister());
beforeAll(() => {
  DIAMOND = loadSpec(DIAMOND_TEXT);
});

// Parsed once the probe is registered (an unknown action: name does not validate).
const DIAMOND_TEXT = {
  format: 'yaml' as const,
  text: `
name: probed-diamond
on: { manual: true }
jobs:
  a: { steps: [{ id: s, uses: action:fault-probe, with: { ms: 40 } }] }
  b: { needs: a, steps: [{ id: s, uses: action:fault-probe, with: { ms: 40 } }, { id: t, uses: action:fault-probe, with: { ms: 10 } }] }
  c: { needs: a, steps: [{ id: s, uses: action:fault-probe, with: { ms: 40 } }] }
  d: { needs: [b, c], steps: [{ id: s, uses: action:fault-probe, with: { ms: 20 } }] }
`,
};
let DIAMOND: ReturnType<typeof loadSpec>;
const STEPS = ['a/s', 'b/s', 'b/t', 'c/s', 'd/s'];

const submit = (app: App, spec = DIAMOND) => submitSpec(app, spec);

/** Tallies claim outcomes, so a test can prove its copies really met at the claim. */
function countClaims(app: App): Record<string, number> {
  const kinds: Record<string, number> = {};
  const claim = app.runs.claimJob.bind(app.runs);
  app.runs.claimJob = async (...args): Promise<ClaimResult> => {
    const out = await claim(...args);
    kinds[out.kind] = (kinds[out.kind] ?? 0) + 1;
    return out;
  };
  return kinds;
}

async function eventsOf(app: App, runId: string) {
  return (await app.runs.readEvents(TENANT, runId, undefined, 1000)).map((e) => e.fields);
}

/** `type` events per `job/step` (or per job), sorted. */
const keysOf = (evs: Record<string, string>[], type: string) =>
  evs
    .filter((e) => e.type === type)
    .map((e) => (e.step ? `${e.job}/${e.step}` : (e.job as string)))
    .sort();

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

async function allFinished(app: App, runIds: string[]): Promise<boolean> {
  const statuses = await app.runs.runFields(TENANT, runIds, ['status']);
  return statuses.every(([s]) => FINAL.has(s ?? ''));
}

describe('every task delivered three times, to four executors polling at once', () => {
  it('starts each job and step once, runs no step twice at once, and records each result once', async () => {
    const app = await startTestApp();
    const claims = countClaims(app);
    const send = app.queue.send.bind(app.queue);
    app.queue.send = (tasks, delay) => send([...tasks, ...tasks, ...tasks], delay);
    const runIds = await Promise.all(Array.from({ length: 8 }, () => submit(app)));

    let done = false;
    const executors = Array.from({ length: 4 }, async () => {
      while (!done) await pollOnce(app, 1);
    });
    const deadline = Date.now() + 15_000;
    while (!(await allFinished(app, runIds))) {
      if (Date.now() > deadline) throw new Error('runs did not finish in 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    done = true;
    await Promise.all(executors);
    // The last copies, still queued, must change nothing.
    while ((await pollOnce(app, 0)) > 0) {}

    // Copies met a live claim (lease-held) and a finished job (stale): the race happened.
    expect(claims['lease-held'] ?? 0).toBeGreaterThan(0);
    expect(claims.claimed).toBe(runIds.length * 4);
    for (const runId of runIds) {
      const evs = await eventsOf(app, runId);
      expect(keysOf(evs, 'job.started')).toEqual(['a', 'b', 'c', 'd']);
      expect(keysOf(evs, 'step.started')).toEqual(STEPS);
      expect(keysOf(evs, 'step.succeeded')).toEqual(STEPS);
      expect(keysOf(evs, 'job.succeeded')).toEqual(['a', 'b', 'c', 'd']);
      expect(evs.filter((e) => e.type === 'run.succeeded')).toHaveLength(1);
      for (const step of STEPS) {
        const [job, id] = step.split('/');
        expect(executions.get(`${runId}:${job}:${id}`)).toBe(1);
      }
    }
    expect(maxConcurrent).toBe(1);
  });

  it('lets one of eight simultaneous deliveries of one task claim it; the others are dropped', async () => {
    const app = await startTestApp();
    const claims = countClaims(app);
    const runId = await submit(
      app,
      loadSpec({
        format: 'yaml',
        text: 'name: one\non: { manual: true }\njobs:\n  j: { steps: [{ id: s, uses: action:fault-probe, with: { ms: 100 } }] }\n',
      }),
    );
    const task: JobTask = await currentTask(app, TENANT, runId, 'j');
    await Promise.all(Array.from({ length: 8 }, () => executeJob(app, task, () => 60_000)));
    expect(claims).toEqual({ claimed: 1, 'lease-held': 7 });
    expect(executions.get(`${runId}:j:s`)).toBe(1);
    const evs = await eventsOf(app, runId);
    expect(keysOf(evs, 'step.succeeded')).toEqual(['j/s']);
    expect(evs.filter((e) => e.type === 'run.succeeded')).toHaveLength(1);
  });
});

describe('four reapers and an SQS redelivery racing for each lapsed lease', () => {
  it('recover every job exactly once: either the redelivery reclaims it or one reaper retries it', async () => {
    const app = await startTestApp();
    const spec = loadSpec({
      format: 'yaml',
      text: `
name: lapsed
on: { manual: true }
jobs:
  j:
    retries: { max: 1, backoff: fixed, initialIntervalMs: 0 }
    steps: [{ id: s, uses: action:fault-probe, with: { ms: 20 } }]
`,
    });
    const runIds = await Promise.all(Array.from({ length: 12 }, () => submit(app, spec)));
    const tasks = await Promise.all(runIds.map((runId) => currentTask(app, TENANT, runId, 'j')));
    // Each first attempt is claimed by an executor that then dies: a 1 ms lease, never renewed.
    for (const task of tasks)
      expect((await app.runs.claimJob(task, Date.now(), 1)).kind).toBe('claimed');
    await new Promise((r) => setTimeout(r, 5));

    const now = Date.now();
    const [reports] = await Promise.all([
      Promise.all(Array.from({ length: 4 }, () => reapRuns(app, now))),
      // SQS hands the dead executor's message out again about then: spread over the
      // reapers' pass so that some runs are won by the reclaim, some by a reaper.
      Promise.all(
        tasks.map(async (t, i) => {
          await new Promise((r) => setTimeout(r, (i % 6) * 4));
          await executeJob(app, t, () => 60_000);
        }),
      ),
    ]);
    const deadline = Date.now() + 10_000;
    while (!(await allFinished(app, runIds))) {
      if (Date.now() > deadline) throw new Error('runs did not finish in 10 s');
      await pollOnce(app, 0);
    }

    let retried = 0;
    let reclaimed = 0;
    for (const runId of runIds) {
      const evs = await eventsOf(app, runId);
      const snap = await app.runs.snapshot(TENANT, runId);
      if (!snap) throw new Error('run vanished');
      const job = (runDocument(snap).jobs as Record<string, { attempts: unknown[] }>).j;
      expect(runDocument(snap).status).toBe('succeeded');
      // The dead executor's claim started the step (claim-job.lua starts a job's plain
      // first step); the claim that ran it found that record and started it again.
      expect(keysOf(evs, 'step.started')).toEqual(['j/s', 'j/s']);
      expect(keysOf(evs, 'step.succeeded')).toEqual(['j/s']);
      expect(executions.get(`${runId}:j:s`)).toBe(1);
      const retrying = evs.filter((e) => e.type === 'job.retrying').length;
      expect(retrying).toBeLessThanOrEqual(1);
      if (retrying === 1) {
        retried++;
        expect(job?.attempts).toEqual([
          { attempt: 1, error: { code: 'LEASE_EXPIRED', message: expect.any(String) } },
          { attempt: 2, error: null },
        ]);
      } else {
        reclaimed++;
        expect(job?.attempts).toEqual([{ attempt: 1, error: null }]);
        expect(evs.filter((e) => e.type === 'job.started').map((e) => e.data)).toEqual([
          '{"attempt":1}',
          '{"attempt":1}',
        ]);
      }
    }
    expect(retried + reclaimed).toBe(runIds.length);
    // However many reapers saw a lapsed lease, no job was expired more often than it retried.
    expect(reports.reduce((n, r) => n + r.expired, 0)).toBeGreaterThanOrEqual(retried);
    expect(maxConcurrent).toBe(1);
  });
});
