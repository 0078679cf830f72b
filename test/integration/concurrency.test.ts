import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { executeJob } from '../../lib/engine/job/execute.js';
import { memberOf } from '../../lib/engine/model.js';
import { acquire } from '../../lib/engine/run/acquire.js';
import { admitRun } from '../../lib/engine/run/admit.js';
import { currentWaits } from '../../lib/engine/run/concurrency.js';
import { cancelAndFinish } from '../../lib/engine/run/finish.js';
import { scheduleTick } from '../../lib/engine/tick/schedule.js';
import { loadSpec } from '../../lib/spec/index.js';
import { tenantKeys } from '../../lib/store/keys.js';
import {
  currentTask,
  pollOnce,
  registerSpec,
  startTestApp,
  submitSpec,
} from '../support/engine.js';
import { createTestQueue, sqsClient } from '../support/stack.js';

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

/**
 * One test per rule of lib/engine/decide/slots.ts, on real Redis: who holds a
 * group's slots (and who waits in its line) after each event.
 */
describe('slot rules (decide/slots.ts)', () => {
  const slotsOf = async (app: App, group: string) => {
    const k = tenantKeys(app.config.keyPrefix, TENANT).group(group);
    return {
      holders: await app.redis.zrange(k.holders, 0, -1),
      line: await app.redis.zrange(k.queue, 0, -1),
    };
  };
  const jobStatus = async (app: App, runId: string, job: string) =>
    (await doc(app, runId)).jobs[job]?.status;

  /** A job-level member of group `g` that is never run here (`other`), so its run goes on. */
  const jobLevel = (g: string, job: string) => `
name: slot-rule
on: { manual: true }
jobs:
  j: { concurrency: { group: ${g} }, ${job} }
  other: { steps: [{ uses: action:noop }] }
`;

  /** Claim `j` and take its slot, as the executor does, then "crash" (by default the lease lapses). */
  async function claimTakeAndCrash(app: App, runId: string, group: string, leaseMs = 1) {
    const task = await currentTask(app, TENANT, runId, 'j');
    expect((await app.runs.claimJob(task, Date.now(), leaseMs)).kind).toBe('claimed');
    const slot = await acquire(
      app,
      TENANT,
      runId,
      'j',
      group,
      { limit: 1, cancelInProgress: false },
      Date.now(),
    );
    expect(slot.granted).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    return task;
  }

  it('job-finished: a job frees its slot when it finishes, while its run goes on', async () => {
    const app = await startTestApp();
    const spec = `
name: finish-frees
on: { manual: true }
jobs:
  j: { concurrency: { group: g-finish }, steps: [{ uses: action:noop }] }
  after: { needs: j, steps: [{ uses: action:noop }] }
`;
    const a = await submitSpec(app, spec);
    await pollOnce(app); // j only: `after` is sent when j finishes
    expect(await jobStatus(app, a, 'j')).toBe('succeeded');
    expect(await statusOf(app, a)).toBe('running');
    expect(await slotsOf(app, 'g-finish')).toEqual({ holders: [], line: [] });
  });

  it('job-retrying: a job keeps its slot through the retry backoff; the next job waits', async () => {
    const app = await startTestApp();
    const spec = `
name: retry-keeps
on: { manual: true }
jobs:
  j:
    concurrency: { group: g-retry }
    retries: { max: 1, backoff: fixed, initialIntervalMs: 2000 }
    steps: [{ uses: action:fail }]
`;
    const a = await submitSpec(app, spec);
    await pollOnce(app); // attempt 1 fails; attempt 2 is due in 2 s
    expect((await doc(app, a)).jobs.j).toMatchObject({ status: 'queued' });
    expect(await slotsOf(app, 'g-retry')).toEqual({ holders: [memberOf(a, 'j')], line: [] });

    const b = await submitSpec(app, spec.replace('action:fail', 'action:noop'));
    await pollOnce(app, 0); // b's j: in line behind a's, which is only backing off
    expect(await jobStatus(app, b, 'j')).toBe('waiting');
    expect(await slotsOf(app, 'g-retry')).toEqual({
      holders: [memberOf(a, 'j')],
      line: [memberOf(b, 'j')],
    });

    await drain(app, [a, b]);
    expect([await statusOf(app, a), await statusOf(app, b)]).toEqual(['failed', 'succeeded']);
    const [aj] = (await jobSpans(app, a)).filter((s) => s.job === 'j');
    const [bj] = (await jobSpans(app, b)).filter((s) => s.job === 'j');
    expect(bj?.start).toBeGreaterThanOrEqual(aj?.end as number);
    expect(await slotsOf(app, 'g-retry')).toEqual({ holders: [], line: [] });
  });

  it('job-suspended: a job keeps its slot while it sleeps; one waiting in line keeps its place', async () => {
    const app = await startTestApp();
    const spec = jobLevel('g-wait', 'steps: [{ uses: sleep, with: { seconds: 60 } }]');
    const a = await submitSpec(app, spec);
    const b = await submitSpec(app, spec);
    await pollOnce(app);
    await pollOnce(app, 0);
    const statuses = [await jobStatus(app, a, 'j'), await jobStatus(app, b, 'j')];
    expect(statuses).toEqual(['waiting', 'waiting']);
    const { holders, line } = await slotsOf(app, 'g-wait');
    expect(holders).toHaveLength(1);
    expect(line).toHaveLength(1);
    const inLine = line[0] === memberOf(a, 'j') ? a : b;
    expect((await doc(app, inLine)).jobs.j?.waitingFor).toMatchObject({ kind: 'concurrency' });
    // A reaper pass (a re-check of the one in line) changes neither.
    await scheduleTick(app, Date.now());
    expect(await slotsOf(app, 'g-wait')).toEqual({ holders, line });
  });

  it('job-suspended at workflow level: a run keeps its slot while its job sleeps', async () => {
    const app = await startTestApp();
    const spec = `
name: run-waits
on: { manual: true }
concurrency: { group: g-run-wait }
jobs:
  j: { steps: [{ uses: sleep, with: { seconds: 60 } }] }
`;
    const a = await submitSpec(app, spec);
    const b = await submitSpec(app, spec);
    await pollOnce(app);
    expect(await statusOf(app, a)).toBe('waiting');
    expect((await doc(app, b)).waitingFor).toMatchObject({ heldBy: [a], position: 1 });
    expect(await slotsOf(app, 'g-run-wait')).toEqual({ holders: [a], line: [b] });
  });

  it('run-cancelling: the jobs a cancel ends at once free their slots while its running jobs stop', async () => {
    const app = await startTestApp();
    const spec = `
name: cancel-frees
on: { manual: true }
jobs:
  long: { steps: [{ uses: action:noop }] }
  j: { concurrency: { group: g-cancel }, steps: [{ uses: sleep, with: { seconds: 60 } }] }
`;
    const runJ = async (runId: string) =>
      executeJob(app, await currentTask(app, TENANT, runId, 'j'), () => 60_000);
    const a = await submitSpec(app, spec);
    const b = await submitSpec(app, spec);
    await runJ(a); // sleeps, holding the slot
    await runJ(b); // waits in line
    // a's `long` is running (claimed by an executor that has not yet seen the cancel).
    const long = await currentTask(app, TENANT, a, 'long');
    expect((await app.runs.claimJob(long, Date.now(), 60_000)).kind).toBe('claimed');
    expect(await slotsOf(app, 'g-cancel')).toEqual({
      holders: [memberOf(a, 'j')],
      line: [memberOf(b, 'j')],
    });

    const out = await cancelAndFinish(app, TENANT, a, Date.now(), {
      finalStatus: 'cancelled',
      error: { code: 'CANCELLED', message: 'test' },
      reason: 'test',
    });
    expect(out).toMatchObject({ kind: 'cancelling', runStatus: '', running: 1 });
    expect(await jobStatus(app, a, 'j')).toBe('cancelled');
    // a goes on until `long` stops, but its cancelled job's slot went to b's at once.
    expect(await slotsOf(app, 'g-cancel')).toEqual({ holders: [memberOf(b, 'j')], line: [] });
    expect(await jobStatus(app, b, 'j')).toBe('queued');
  });

  const child = (group: string) => `
name: kid
on: { manual: true }
concurrency: { group: ${group} }
jobs:
  work: { steps: [{ uses: action:noop }] }
`;
  const parentOf = (group: string) => `
name: parent
on: { manual: true }
concurrency: { group: ${group} }
jobs:
  call: { steps: [{ uses: "workflow:kid" }] }
`;

  it('child runs: the parent keeps its slot while it waits for its child, which holds its own', async () => {
    const app = await startTestApp();
    await registerSpec(app, child('g-kid'));
    const parent = await submitSpec(app, parentOf('g-parent'));
    await pollOnce(app); // the parent's job starts the child and waits for it
    const [kid] = await app.runs.children(TENANT, parent);
    expect(await jobStatus(app, parent, 'call')).toBe('waiting');
    expect(await slotsOf(app, 'g-parent')).toEqual({ holders: [parent], line: [] });
    expect(await slotsOf(app, 'g-kid')).toEqual({ holders: [kid], line: [] });
    await drain(app, [parent, kid as string]);
    expect(await statusOf(app, parent)).toBe('succeeded');
    expect(await slotsOf(app, 'g-parent')).toEqual({ holders: [], line: [] });
    expect(await slotsOf(app, 'g-kid')).toEqual({ holders: [], line: [] });
  });

  it('child runs: a child in its parent’s group waits behind it; cancelling the parent frees both', async () => {
    const app = await startTestApp();
    await registerSpec(app, child('g-same'));
    const parent = await submitSpec(app, parentOf('g-same'));
    await pollOnce(app);
    const [kid] = await app.runs.children(TENANT, parent);
    expect((await doc(app, kid as string)).waitingFor).toMatchObject({
      heldBy: [parent],
      position: 1,
    });
    await cancelAndFinish(app, TENANT, parent, Date.now(), {
      finalStatus: 'cancelled',
      error: { code: 'CANCELLED', message: 'test' },
      reason: 'test',
    });
    expect([await statusOf(app, parent), await statusOf(app, kid as string)]).toEqual([
      'cancelled',
      'cancelled',
    ]);
    expect(await slotsOf(app, 'g-same')).toEqual({ holders: [], line: [] });
  });

  it('granted-to-ended: a grant that reaches an ended run is handed to the next in line', async () => {
    const app = await startTestApp();
    const first = await submitSpec(app, workflowLevel(1));
    const second = await submitSpec(app, workflowLevel(1));
    const third = await submitSpec(app, workflowLevel(1));
    // `second` ends with the store alone: its place in line is not given up.
    await app.runs.cancelRun(TENANT, second, Date.now(), { finalStatus: 'cancelled' });
    expect(await slotsOf(app, 'deploy-prod')).toEqual({ holders: [first], line: [second, third] });
    await drain(app, [first]);
    // first's end granted second, which gave the slot straight back to third.
    expect(await slotsOf(app, 'deploy-prod')).toEqual({ holders: [third], line: [] });
    await drain(app, [third]);
    expect(await statusOf(app, third)).toBe('succeeded');
  });

  it('a reaped lease with no retries left fails the job and frees its slot; the run goes on', async () => {
    const app = await startTestApp();
    const a = await submitSpec(app, jobLevel('g-reaped', 'steps: [{ uses: action:noop }]'));
    await claimTakeAndCrash(app, a, 'g-reaped');
    const tick = await scheduleTick(app, Date.now());
    expect(tick.reaped.expired).toBe(1);
    expect((await doc(app, a)).jobs.j).toMatchObject({
      status: 'failed',
      error: { code: 'LEASE_EXPIRED' },
    });
    expect(await statusOf(app, a)).not.toMatch(/succeeded|failed|cancelled/);
    expect(await slotsOf(app, 'g-reaped')).toEqual({ holders: [], line: [] });
  });

  it('a reaped lease with retries left keeps the slot for the next attempt', async () => {
    const app = await startTestApp();
    const a = await submitSpec(
      app,
      jobLevel(
        'g-reaped-retry',
        'retries: { max: 1, initialIntervalMs: 60000 }, steps: [{ uses: action:noop }]',
      ),
    );
    await claimTakeAndCrash(app, a, 'g-reaped-retry');
    const tick = await scheduleTick(app, Date.now());
    expect(tick.reaped.expired).toBe(1);
    expect((await doc(app, a)).jobs.j).toMatchObject({ status: 'queued' });
    expect(await slotsOf(app, 'g-reaped-retry')).toEqual({
      holders: [memberOf(a, 'j')],
      line: [],
    });
  });

  it('a dead-lettered job frees its slot (its spec is not looked up)', async () => {
    const { dlqUrl } = await createTestQueue();
    const app = await startTestApp({ dlqUrl });
    const a = await submitSpec(app, jobLevel('g-dead', 'steps: [{ uses: action:noop }]'));
    // Its lease is still live: the dead letter, not the lease reaper, ends it.
    const task = await claimTakeAndCrash(app, a, 'g-dead', 60_000);
    await sqsClient().send(
      new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(task) }),
    );
    const tick = await scheduleTick(app, Date.now());
    expect(tick.reaped.deadLetters).toBe(1);
    expect((await doc(app, a)).jobs.j).toMatchObject({
      status: 'failed',
      error: { code: 'DEAD_LETTER' },
    });
    expect(await slotsOf(app, 'g-dead')).toEqual({ holders: [], line: [] });
  });
});
