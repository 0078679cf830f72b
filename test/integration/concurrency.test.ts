import { describe, expect, it } from 'vitest';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { admitRun } from '../../lib/engine/run/admit.js';
import { currentWaits } from '../../lib/engine/run/concurrency.js';
import { scheduleTick } from '../../lib/engine/tick/schedule.js';
import { loadSpec } from '../../lib/spec/index.js';
import { tenantKeys } from '../../lib/store/keys.js';
import { pollOnce, startTestApp, submitSpec } from '../support/engine.js';

const TENANT = 'acme';
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

async function doc(app: App, runId: string) {
  const snap = await app.runs.snapshot(TENANT, runId);
  if (!snap) throw new Error(`no run ${runId}`);
  return runDocument(snap, await currentWaits(app.concurrency, TENANT, snap)) as ReturnType<
    typeof runDocument
  > & { jobs: Record<string, { status: string; waitingFor: unknown }> };
}

const statusOf = async (app: App, runId: string) =>
  (await app.runs.runFields(TENANT, [runId], ['status']))[0]?.[0] ?? '';

/** Executors polling the app's queue (as parallel Lambdas would) until every run ends. */
async function drain(app: App, runIds: string[], workers = 3, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  const allDone = async () =>
    (await Promise.all(runIds.map((id) => statusOf(app, id)))).every((s) => FINAL.has(s));
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!(await allDone())) {
        if (Date.now() > deadline) throw new Error('runs did not finish in time');
        await pollOnce(app, 1);
      }
    }),
  );
}

/** [start, end] of each job in a run, from its events. */
async function jobSpans(app: App, runId: string) {
  const events = await app.runs.readEvents(TENANT, runId, undefined, 1000);
  const spans: { job: string; start: number; end: number }[] = [];
  for (const e of events) {
    const { type, job, at } = e.fields;
    if (type === 'step.started' && job && !spans.some((s) => s.job === job)) {
      spans.push({ job, start: Number(at), end: Number.POSITIVE_INFINITY });
    }
    const span = spans.find((s) => s.job === job);
    if (span && type?.startsWith('job.') && FINAL.has(type.slice(4))) span.end = Number(at);
  }
  return spans;
}

const maxOverlap = (spans: { start: number; end: number }[]) => {
  let max = 0;
  for (const s of spans) {
    max = Math.max(max, spans.filter((o) => o.start <= s.start && s.start < o.end).length);
  }
  return max;
};

const workflowLevel = (limit: number, extra = '') => `
name: deploy
on: { manual: true }
inputs: { env: { type: string, default: prod } }
concurrency: { group: "deploy-\${{ inputs.env }}", limit: ${limit}${extra} }
jobs:
  a: { steps: [{ uses: action:sleep-ms, with: { ms: 150 } }] }
  b: { needs: a, steps: [{ uses: action:noop }] }
`;

describe('workflow-level concurrency groups', () => {
  it('runs one run of a group at a time, in arrival order, and says what a waiting run waits for', async () => {
    const app = await startTestApp();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await submitSpec(app, workflowLevel(1)));

    const second = await doc(app, ids[1] as string);
    expect(second.status).toBe('queued');
    expect(second.waitingFor).toEqual({
      kind: 'concurrency',
      group: 'deploy-prod',
      heldBy: [ids[0]],
      position: 1,
    });
    expect((await doc(app, ids[2] as string)).waitingFor).toMatchObject({ position: 2 });
    expect((await doc(app, ids[0] as string)).waitingFor).toBeNull();

    await drain(app, ids);
    const runs = await Promise.all(
      ids.map(async (id) => {
        const spans = await jobSpans(app, id);
        return {
          status: await statusOf(app, id),
          start: Math.min(...spans.map((s) => s.start)),
          end: Math.max(...spans.map((s) => s.end)),
        };
      }),
    );
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(maxOverlap(runs)).toBe(1);
    // FIFO: each run started after the one before it ended.
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i]?.start).toBeGreaterThanOrEqual(runs[i - 1]?.end as number);
    }
    const group = tenantKeys(app.config.keyPrefix, TENANT).group('deploy-prod');
    expect(await app.redis.zcard(group.holders)).toBe(0);
    expect(await app.redis.zcard(group.queue)).toBe(0);
  });

  it('lets `limit` runs hold the group at once', async () => {
    const app = await startTestApp();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await submitSpec(app, workflowLevel(2)));
    expect((await doc(app, ids[2] as string)).waitingFor).toMatchObject({
      heldBy: [ids[0], ids[1]].sort(),
      position: 1,
    });
    await drain(app, ids, 4);
    const spans = await Promise.all(
      ids.map(async (id) => {
        const s = await jobSpans(app, id);
        return { start: Math.min(...s.map((x) => x.start)), end: Math.max(...s.map((x) => x.end)) };
      }),
    );
    expect(maxOverlap(spans)).toBe(2);
  });

  it('keeps groups apart by their evaluated name', async () => {
    const app = await startTestApp();
    const prod = await submitSpec(app, workflowLevel(1), { env: 'prod' });
    const staging = await submitSpec(app, workflowLevel(1), { env: 'staging' });
    expect((await doc(app, staging)).waitingFor).toBeNull();
    await drain(app, [prod, staging]);
    expect([await statusOf(app, prod), await statusOf(app, staging)]).toEqual([
      'succeeded',
      'succeeded',
    ]);
  });

  it('with cancelInProgress, cancels the holder and those waiting ahead in favour of the newcomer', async () => {
    const app = await startTestApp({ leaseMs: 300 });
    const slow = workflowLevel(1, ', cancelInProgress: true').replace('ms: 150', 'ms: 10000');
    const first = await submitSpec(app, slow);
    const executing = pollOnce(app);
    for (let i = 0; i < 100 && (await doc(app, first)).jobs.a?.status !== 'running'; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const second = await submitSpec(app, slow);
    const third = await submitSpec(app, workflowLevel(1, ', cancelInProgress: true'));
    await executing;
    await drain(app, [first, second, third]);
    expect(await statusOf(app, first)).toBe('cancelled');
    expect(await statusOf(app, second)).toBe('cancelled');
    expect(await statusOf(app, third)).toBe('succeeded');
    expect((await doc(app, first)).error).toMatchObject({ code: 'CANCELLED' });
  });

  it('frees the place in line of a run cancelled while it waits', async () => {
    const app = await startTestApp();
    const first = await submitSpec(app, workflowLevel(1));
    const second = await submitSpec(app, workflowLevel(1));
    const third = await submitSpec(app, workflowLevel(1));
    await app.runs.cancelRun(TENANT, second, Date.now(), { finalStatus: 'cancelled' });
    // The cancel path of the API and the reaper release; here the reaper does it.
    await scheduleTick(app, Date.now());
    expect((await doc(app, third)).waitingFor).toMatchObject({ position: 1, heldBy: [first] });
    await drain(app, [first, third]);
    expect(await statusOf(app, third)).toBe('succeeded');
  });
});

describe('job-level concurrency groups', () => {
  const spec = `
name: rollout
on: { manual: true }
jobs:
  build: { steps: [{ uses: action:noop }] }
  deploy:
    needs: build
    concurrency: { group: prod }
    steps: [{ uses: action:sleep-ms, with: { ms: 150 } }]
`;

  it('holds jobs of other runs in the same group as waiting until the slot frees', async () => {
    const app = await startTestApp();
    const ids = [
      await submitSpec(app, spec),
      await submitSpec(app, spec),
      await submitSpec(app, spec),
    ];
    let sawWaiting = false;
    const watcher = (async () => {
      for (let i = 0; i < 200 && !sawWaiting; i++) {
        for (const id of ids) {
          const job = (await doc(app, id)).jobs.deploy;
          if (job?.status === 'waiting') {
            expect(job.waitingFor).toMatchObject({ kind: 'concurrency', group: 'prod' });
            sawWaiting = true;
          }
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await drain(app, ids);
    await watcher;
    expect(sawWaiting).toBe(true);
    const deploys = (await Promise.all(ids.map((id) => jobSpans(app, id))))
      .flat()
      .filter((s) => s.job === 'deploy');
    expect(deploys).toHaveLength(3);
    expect(maxOverlap(deploys)).toBe(1);
    for (const id of ids) expect(await statusOf(app, id)).toBe('succeeded');
  });
});

describe('concurrency after a crash', () => {
  it('the reaper wakes a run whose grant was never delivered', async () => {
    const app = await startTestApp();
    const first = await submitSpec(app, workflowLevel(1));
    const second = await submitSpec(app, workflowLevel(1));
    // The holder's finisher "died" after its run ended but before releasing: free
    // the slot the way release does, without the wake-up that would follow.
    const granted = await app.concurrency.release(TENANT, 'deploy-prod', first, Date.now());
    expect(granted).toEqual([second]);
    await app.runs.cancelRun(TENANT, first, Date.now(), { finalStatus: 'cancelled' });
    expect((await doc(app, second)).status).toBe('queued');

    const tick = await scheduleTick(app, Date.now());
    expect(tick.reaped.woken).toBe(1);
    await drain(app, [second]);
    expect(await statusOf(app, second)).toBe('succeeded');
  });

  it('the reaper releases the slots of a run that finished without releasing them', async () => {
    const app = await startTestApp();
    const first = await submitSpec(app, workflowLevel(1));
    const second = await submitSpec(app, workflowLevel(1));
    // Finish the holder with the store alone, as if the executor died after finishJob.
    await app.runs.cancelRun(TENANT, first, Date.now(), { finalStatus: 'cancelled' });
    expect((await doc(app, second)).waitingFor).toMatchObject({ heldBy: [first] });
    await scheduleTick(app, Date.now());
    await drain(app, [second]);
    expect(await statusOf(app, second)).toBe('succeeded');
  });

  it('a duplicate admission of a waiting run neither takes a second place nor sends its jobs', async () => {
    const app = await startTestApp();
    const first = await submitSpec(app, workflowLevel(1));
    const spec = loadSpec({ text: workflowLevel(1), format: 'yaml' });
    const req = { tenant: TENANT, spec, revision: 1, trigger: { type: 'api' as const } };
    const { summary } = await admitRun(app, req);
    const again = await admitRun(app, { ...req, runId: summary.id });
    expect(again.created).toBe(false);
    expect((await doc(app, summary.id)).waitingFor).toMatchObject({ position: 1, heldBy: [first] });
    const queue = tenantKeys(app.config.keyPrefix, TENANT).group('deploy-prod').queue;
    expect(await app.redis.zcard(queue)).toBe(1);
  });
});
