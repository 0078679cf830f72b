import { describe, expect, it } from 'vitest';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { executeJob } from '../../lib/engine/job/execute.js';
import { runKeys } from '../../lib/store/keys.js';
import type { RunEvent, RunStore } from '../../lib/store/run-store.js';
import { currentTask, startTestApp, submitSpec } from '../support/engine.js';

const TENANT = 'acme';

/** The store, with the names of the methods called on it, in order. */
function counted(runs: RunStore): { runs: RunStore; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(runs, {
    get(target, name: string) {
      const value = target[name as keyof RunStore];
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(name);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { runs: proxy, calls };
}

async function run(app: App, runs: RunStore, runId: string, jobKey: string): Promise<void> {
  const task = await currentTask(app, TENANT, runId, jobKey);
  await executeJob({ ...app, runs }, task, () => 60_000);
}

/** Every event, `limit` at a time, each page after the previous one's last id. */
async function paged(app: App, runId: string, limit: number): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for (;;) {
    const page = await app.runs.readEvents(TENANT, runId, all.at(-1)?.id, limit);
    all.push(...page);
    if (page.length < limit) return all;
  }
}

/** The job's own transitions (the run's end adds its bookkeeping). */
const isTransition = (call: string) => ['claimJob', 'commitStep', 'finishJob'].includes(call);

const brief = (events: RunEvent[]) =>
  events.map((e) => [e.fields.type, e.fields.job ?? '', e.fields.step ?? ''].join(' ').trim());

describe('job transitions (claim-job.lua, finish-job.lua)', () => {
  it('a one-step job is a claim and a finish: the claim starts its step', async () => {
    const app = await startTestApp();
    const runId = await submitSpec(
      app,
      'name: one\non: { manual: true }\njobs:\n  j: { steps: [{ id: s, uses: action:noop }] }\n',
    );
    const { runs, calls } = counted(app.runs);
    await run(app, runs, runId, 'j');

    expect(calls.filter(isTransition)).toEqual(['claimJob', 'finishJob']);
    const events = await app.runs.readEvents(TENANT, runId, undefined, 100);
    expect(brief(events)).toEqual([
      'run.created',
      'job.queued j',
      'job.started j',
      'run.started',
      'step.started j s',
      'step.succeeded j s',
      'job.succeeded j',
      'run.succeeded',
    ]);
    const snap = await app.runs.snapshot(TENANT, runId);
    if (!snap) throw new Error('run vanished');
    const step = (runDocument(snap).jobs.j as { steps: { status: string; startedAt: string }[] })
      .steps[0];
    expect(step?.status).toBe('succeeded');
    // The step's record keeps the start the claim wrote.
    const started = events.find((e) => e.fields.type === 'step.started');
    expect(step?.startedAt).toBe(new Date(Number(started?.fields.at)).toISOString());
  });

  it('a step the plan cannot start at once (an `if`) is started by the executor', async () => {
    const app = await startTestApp();
    const runId = await submitSpec(
      app,
      'name: gated\non: { manual: true }\njobs:\n  j: { steps: [{ id: s, if: "${{ true }}", uses: action:noop }] }\n',
    );
    const { runs, calls } = counted(app.runs);
    await run(app, runs, runId, 'j');
    expect(calls.filter(isTransition)).toEqual(['claimJob', 'commitStep', 'finishJob']);
    const events = await app.runs.readEvents(TENANT, runId, undefined, 100);
    expect(brief(events).filter((e) => e.startsWith('step.'))).toEqual([
      'step.started j s',
      'step.succeeded j s',
    ]);
  });

  it('the events of a transition share a stream entry; read back one by one, in order, each once', async () => {
    const app = await startTestApp();
    const runId = await submitSpec(
      app,
      'name: fan\non: { manual: true }\njobs:\n  a: { steps: [{ id: s, uses: action:noop }] }\n  b: { needs: a, steps: [{ id: s, uses: action:noop }] }\n  c: { needs: a, steps: [{ id: s, uses: action:noop }] }\n',
    );
    await run(app, app.runs, runId, 'a');

    // Live: from the stream. a's finish wrote step.succeeded, job.succeeded and two
    // job.queued as one entry.
    const k = runKeys(app.config.keyPrefix, TENANT, runId);
    const live = await app.runs.readEvents(TENANT, runId, undefined, 1000);
    expect(brief(live)).toEqual([
      'run.created',
      'job.queued a',
      'job.started a',
      'run.started',
      'step.started a s',
      'step.succeeded a s',
      'job.succeeded a',
      'job.queued b',
      'job.queued c',
    ]);
    expect(await app.redis.xlen(k.events)).toBe(3);
    const ids = live.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort(byStreamId));
    expect(await paged(app, runId, 1)).toEqual(live);
    expect(await paged(app, runId, 2)).toEqual(live);
    // A cursor inside an entry goes on from the event after it.
    expect(await app.runs.readEvents(TENANT, runId, live[5]?.id, 2)).toEqual(live.slice(6, 8));

    await run(app, app.runs, runId, 'b');
    await run(app, app.runs, runId, 'c');
    // Ended: from the archive in the run hash, with the same ids.
    expect(await app.redis.exists(k.events)).toBe(0);
    const archived = await paged(app, runId, 3);
    expect(archived.slice(0, live.length)).toEqual(live);
    expect(brief(archived.slice(live.length))).toEqual([
      'job.started b',
      'step.started b s',
      'step.succeeded b s',
      'job.succeeded b',
      'job.started c',
      'step.started c s',
      'step.succeeded c s',
      'job.succeeded c',
      'run.succeeded',
    ]);
    expect(archived.map((e) => e.id)).toEqual(archived.map((e) => e.id).sort(byStreamId));
  });

  it('a need that failed skips its dependent without reading the needs (nfail: counts it)', async () => {
    const app = await startTestApp();
    const runId = await submitSpec(
      app,
      'name: skip\non: { manual: true }\njobs:\n  a: { steps: [{ uses: action:fail }] }\n  b: { steps: [{ uses: action:noop }] }\n  c: { needs: [a, b], steps: [{ uses: action:noop }] }\n',
    );
    const k = runKeys(app.config.keyPrefix, TENANT, runId);
    await run(app, app.runs, runId, 'a');
    expect(await app.redis.hmget(k.jobs, 'waiting:c', 'nfail:c')).toEqual(['1', '1']);
    await run(app, app.runs, runId, 'b');
    const [status] = (await app.runs.runFields(TENANT, [runId], ['status']))[0] ?? [];
    expect(status).toBe('failed');
    expect(await app.redis.hget(k.jobs, 'status:c')).toBe('skipped');
  });
});

function byStreamId(a: string, b: string): number {
  const [ams = 0, aseq = 0] = a.split('-').map(Number);
  const [bms = 0, bseq = 0] = b.split('-').map(Number);
  return ams - bms || aseq - bseq;
}
