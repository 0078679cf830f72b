import { access, rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { type App, closeApp, createApp } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { executeJob } from '../../lib/engine/job/execute.js';
import { admitRun } from '../../lib/engine/run/admit.js';
import { scheduleTick } from '../../lib/engine/tick/schedule.js';
import { loadSpec } from '../../lib/spec/index.js';
import { globalKeys, shardOf } from '../../lib/store/keys.js';
import {
  currentTask,
  pollOnce,
  runUntilFinished,
  startTestApp,
  submitSpec,
} from '../support/engine.js';
import { createTestQueue, testConfig } from '../support/stack.js';

const TENANT = 'acme';

async function doc(app: App, runId: string) {
  const snap = await app.runs.snapshot(TENANT, runId);
  if (!snap) throw new Error('no run');
  return runDocument(snap) as ReturnType<typeof runDocument> & {
    jobs: Record<
      string,
      {
        status: string;
        attempt: number;
        error: { code: string } | null;
        attempts: unknown[];
        steps: { status: string; error: { code: string } | null }[];
      }
    >;
  };
}

const eventTypes = async (app: App, runId: string) =>
  (await app.runs.readEvents(TENANT, runId, undefined, 1000)).map((e) => e.fields.type);

describe('job retries', () => {
  it('retries a failing job per its policy, keeping each attempt error, then fails', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      `
name: flaky
on: { manual: true }
jobs:
  j:
    retries: { max: 2, backoff: fixed, initialIntervalMs: 0 }
    steps: [{ uses: action:fail, with: { message: nope } }]
`,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    const d = await doc(app, id);
    expect(d.jobs.j?.attempt).toBe(3);
    expect(d.jobs.j?.attempts).toEqual([
      { attempt: 1, error: { code: 'STEP_FAILED', message: 'nope' } },
      { attempt: 2, error: { code: 'STEP_FAILED', message: 'nope' } },
      { attempt: 3, error: { code: 'STEP_FAILED', message: 'nope' } },
    ]);
    expect((await eventTypes(app, id)).filter((t) => t === 'job.retrying')).toHaveLength(2);
  });

  it('does not retry errors that would fail the same way (VALIDATION)', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      'name: perm\non: { manual: true }\njobs:\n  j: { retries: { max: 3, initialIntervalMs: 0 }, steps: [{ uses: sleep }] }\n',
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    expect((await doc(app, id)).jobs.j?.attempt).toBe(1);
  });

  it('keeps a long retry delay in the timer set until the schedule tick wakes it', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      'name: later\non: { manual: true }\njobs:\n  j: { retries: { max: 1, backoff: fixed, initialIntervalMs: 3600000 }, steps: [{ uses: action:fail }] }\n',
    );
    await pollOnce(app);
    const timers = await app.redis.zrange(
      globalKeys(app.config.keyPrefix).timers(shardOf(id)),
      0,
      -1,
      'WITHSCORES',
    );
    expect(JSON.parse(timers[0] as string)).toMatchObject({ runId: id, jobKey: 'j', attempt: 2 });
    expect(Number(timers[1])).toBeGreaterThan(Date.now() + 3_500_000);
    await scheduleTick(app, Date.now() + 3_700_000);
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    expect((await doc(app, id)).jobs.j?.attempt).toBe(2);
  });

  it('retries a step in place per its own retries', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      `
name: steppy
on: { manual: true }
jobs:
  j: { steps: [{ uses: shell, retries: { max: 2, backoff: fixed, initialIntervalMs: 10 }, with: { command: "n=$(cat /tmp/flowline-step-retry-$FLOWLINE_T 2>/dev/null || echo 0); echo $((n+1)) > /tmp/flowline-step-retry-$FLOWLINE_T; [ $n -ge 2 ]" }, env: { FLOWLINE_T: "\${{ run.id }}" } }] }
`,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    await rm(`/tmp/flowline-step-retry-${id}`, { force: true });
  });
});

describe('the lease reaper', () => {
  async function claimAndAbandon(app: App, runId: string) {
    const task = await currentTask(app, TENANT, runId, 'j');
    const claim = await app.runs.claimJob(task, Date.now(), 1);
    expect(claim.kind).toBe('claimed');
    await new Promise((r) => setTimeout(r, 5));
    return task;
  }

  it('retries a job whose lease lapsed, once, however many ticks reap at the same time', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      'name: crashy\non: { manual: true }\njobs:\n  j: { retries: { max: 1, initialIntervalMs: 0 }, steps: [{ id: s, uses: action:echo, with: { ok: 1 } }] }\n',
    );
    await claimAndAbandon(app, id);
    const now = Date.now();
    const reports = await Promise.all([
      scheduleTick(app, now),
      scheduleTick(app, now),
      scheduleTick(app, now),
    ]);
    // Every tick may see the lapsed lease, but only one settle holds the fence.
    expect(reports.map((r) => r.reaped.expired).reduce((a, b) => a + b)).toBeGreaterThanOrEqual(1);
    expect((await eventTypes(app, id)).filter((t) => t === 'job.retrying')).toHaveLength(1);
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const d = await doc(app, id);
    expect(d.jobs.j?.attempts).toEqual([
      { attempt: 1, error: { code: 'LEASE_EXPIRED', message: expect.any(String) } },
      { attempt: 2, error: null },
    ]);
  });

  it('fails a job with LEASE_EXPIRED when no retries are left', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      'name: gone\non: { manual: true }\njobs:\n  j: { steps: [{ uses: action:noop }] }\n',
    );
    await claimAndAbandon(app, id);
    await scheduleTick(app, Date.now());
    const d = await doc(app, id);
    expect(d.status).toBe('failed');
    expect(d.jobs.j?.error?.code).toBe('LEASE_EXPIRED');
    expect(await app.runs.allActive()).toEqual([]);
  });

  it('sends a queued job again when its task was lost', async () => {
    const app = await startTestApp({ requeueAfterMs: 1 });
    // The send after admission is lost (SQS outage, crash between commit and send).
    const send = app.queue.send;
    app.queue.send = async () => {};
    const id = await submitSpec(
      app,
      'name: lost\non: { manual: true }\njobs:\n  j: { steps: [{ uses: action:noop }] }\n',
    );
    app.queue.send = send;
    await new Promise((r) => setTimeout(r, 5));
    const report = await scheduleTick(app, Date.now());
    expect(report.reaped.resent).toBe(1);
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
  });

  it('admits a run whose first send fails, and the schedule tick sends it later', async () => {
    const app = await startTestApp({ requeueAfterMs: 1 });
    // An SQS outage: the real client, pointed at a queue that does not exist.
    const broken = createApp({ ...app.config, queueUrl: `${app.config.queueUrl}-missing` });
    const { summary, created } = await admitRun(broken, {
      tenant: TENANT,
      spec: loadSpec({
        text: 'name: outage\non: { manual: true }\njobs:\n  j: { steps: [{ uses: action:noop }] }\n',
        format: 'yaml',
      }),
      revision: 1,
      trigger: { type: 'api' },
    });
    await closeApp(broken);
    expect(created).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    expect((await scheduleTick(app, Date.now())).reaped.resent).toBe(1);
    expect(await runUntilFinished(app, TENANT, summary.id)).toBe('succeeded');
  });

  it('fails a run that outlives its timeoutMs with TIMEOUT', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      'name: slowrun\non: { manual: true }\ntimeoutMs: 1000\njobs:\n  a: { steps: [{ uses: action:noop }] }\n  b: { needs: a, steps: [{ uses: action:noop }] }\n',
    );
    await scheduleTick(app, Date.now() + 2_000);
    const d = await doc(app, id);
    expect(d.status).toBe('failed');
    expect(d.error).toEqual({ code: 'TIMEOUT', message: 'the run exceeded its timeoutMs' });
    expect(d.jobs.a?.status).toBe('cancelled');
    expect(d.jobs.b?.status).toBe('cancelled');
  });
});

describe('cancellation', () => {
  it('cancels queued jobs at once and aborts a running step, ending the run cancelled', async () => {
    const app = await startTestApp({ leaseMs: 150 });
    const id = await submitSpec(
      app,
      `
name: long
on: { manual: true }
jobs:
  a: { steps: [{ uses: action:sleep-ms, with: { ms: 10000 } }, { uses: action:noop }] }
  b: { needs: a, steps: [{ uses: action:noop }] }
`,
    );
    const running = pollOnce(app);
    // Wait for a's step to be running, then cancel.
    for (let i = 0; i < 100 && (await doc(app, id)).jobs.a?.steps[0]?.status !== 'running'; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const out = await app.runs.cancelRun(TENANT, id, Date.now(), {
      finalStatus: 'cancelled',
      reason: 'test',
    });
    expect(out).toEqual({ kind: 'cancelling', runStatus: '', running: 1 });
    const started = Date.now();
    await running;
    expect(Date.now() - started).toBeLessThan(2_000);
    const d = await doc(app, id);
    expect(d.status).toBe('cancelled');
    expect(d.jobs.a?.status).toBe('cancelled');
    expect(d.jobs.a?.steps.map((s) => s.status)).toEqual(['cancelled', 'skipped']);
    expect(d.jobs.b?.status).toBe('cancelled');
    expect(await app.runs.cancelRun(TENANT, id, Date.now(), { finalStatus: 'cancelled' })).toEqual({
      kind: 'finished',
    });
  });

  it('is idempotent while the run winds down', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      'name: c2\non: { manual: true }\njobs:\n  j: { steps: [{ uses: action:noop }] }\n',
    );
    const first = await app.runs.cancelRun(TENANT, id, Date.now(), { finalStatus: 'cancelled' });
    expect(first).toEqual({ kind: 'cancelling', runStatus: 'cancelled', running: 0 });
    expect(await app.runs.cancelRun(TENANT, id, Date.now(), { finalStatus: 'cancelled' })).toEqual({
      kind: 'finished',
    });
    expect(
      await app.runs.cancelRun(TENANT, 'run_nope', Date.now(), { finalStatus: 'cancelled' }),
    ).toEqual({ kind: 'missing' });
  });
});

describe('checkpoints', () => {
  it('hands the job back to the queue when the next step would not fit, and resumes after the done steps', async () => {
    const app = await startTestApp({ minStepBudgetMs: 10_000, safetyMarginMs: 0 });
    const id = await submitSpec(
      app,
      `
name: tight
on: { manual: true }
jobs:
  j:
    steps:
      - { id: one, uses: action:echo, with: { n: 1 } }
      - { id: two, uses: action:echo, with: { n: "\${{ steps.one.outputs.n }}" } }
    outputs: { n: "\${{ steps.two.outputs.n }}" }
`,
    );
    const task = await currentTask(app, TENANT, id, 'j');
    // Only 5 s left in this "invocation": the second step needs 10 s.
    await executeJob(app, task, () => 5_000);
    const mid = await doc(app, id);
    expect(mid.jobs.j?.status).toBe('queued');
    expect(mid.jobs.j?.steps.map((s) => s.status)).toEqual(['succeeded', 'pending']);
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const events = await eventTypes(app, id);
    expect(events.filter((t) => t === 'step.started')).toHaveLength(2);
    expect((await doc(app, id)).jobs.j).toMatchObject({ outputs: { n: 1 } });
  });
});

describe('shell steps where a runner function is configured', () => {
  it('fail INTERNAL in a process not given the runner, instead of running here', async () => {
    const { queueUrl } = await createTestQueue();
    // As an execute function built without lib/step-executors.ts would be.
    const app = createApp(testConfig({ queueUrl, runnerFunction: 'flowline-test-runner' }));
    try {
      const marker = `/tmp/flowline-no-runner-${Date.now()}`;
      const id = await submitSpec(
        app,
        `name: no-runner\non: { manual: true }\njobs:\n  j: { steps: [{ uses: shell, with: { command: "touch ${marker}" } }] }\n`,
      );
      expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
      expect((await doc(app, id)).jobs.j?.error).toMatchObject({ code: 'INTERNAL' });
      await expect(access(marker)).rejects.toThrow();
    } finally {
      await closeApp(app);
    }
  });
});
