import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunDoc } from '../../lib/api/documents.js';
import { createApi } from '../../lib/api/handle.js';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { executeJob, settleJob } from '../../lib/engine/job/execute.js';
import { scheduleTick } from '../../lib/engine/tick/schedule.js';
import { globalKeys, shardOf } from '../../lib/store/keys.js';
import {
  currentTask,
  pollOnce,
  runUntilFinished,
  startTestApp,
  submitSpec,
} from '../support/engine.js';

const TENANT = 'acme';

async function doc(app: App, runId: string): Promise<RunDoc> {
  const snap = await app.runs.snapshot(TENANT, runId);
  if (!snap) throw new Error(`no run ${runId}`);
  return runDocument(snap);
}

/** Poll until the run reaches `status` (or throw). */
async function until(app: App, runId: string, status: string, ms = 8_000): Promise<RunDoc> {
  const deadline = Date.now() + ms;
  for (;;) {
    const d = await doc(app, runId);
    if (d.status === status) return d;
    if (Date.now() > deadline) throw new Error(`run ${runId} is ${d.status}, not ${status}`);
    await pollOnce(app, 0);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The API as tenant acme, with its unnamed key or as one of its named identities (testConfig). */
function api(app: App, as?: string) {
  const handle = createApi(app);
  const key = as === undefined ? 'test-key-acme' : `test-key-acme-${as}`;
  return (method: string, path: string, body: unknown = {}) =>
    handle({
      method,
      path,
      headers: { authorization: `Bearer ${key}` },
      query: {},
      body: JSON.stringify(body),
    });
}

describe('sleep', () => {
  it('suspends the job (run waiting), and a delayed message wakes it when the time comes', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      `
name: nap
on: { manual: true }
jobs:
  j:
    steps:
      - { id: before, uses: action:echo, with: { n: 1 } }
      - { id: nap, uses: sleep, with: { seconds: 1 } }
      - { id: after, uses: action:echo, with: { woke: "\${{ steps.nap.outputs.wokeAt }}" } }
`,
    );
    const started = Date.now();
    await pollOnce(app, 1);
    const waiting = await doc(app, id);
    expect(waiting.status).toBe('waiting');
    expect(waiting.jobs.j?.status).toBe('waiting');
    expect(waiting.jobs.j?.waitingFor).toMatchObject({ kind: 'sleep' });
    expect(waiting.jobs.j?.steps.map((s) => s.status)).toEqual(['succeeded', 'waiting', 'pending']);

    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const woke = Date.now() - started;
    expect(woke).toBeGreaterThanOrEqual(1_000);
    expect(woke).toBeLessThan(4_000);
    const done = await doc(app, id);
    expect(done.jobs.j?.steps.map((s) => s.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    expect(done.jobs.j?.steps[2]?.outputs.woke).toBe(done.jobs.j?.steps[1]?.outputs.wokeAt);
    const events = (await app.runs.readEvents(TENANT, id, undefined, 100)).map(
      (e) => e.fields.type,
    );
    expect(events.filter((t) => t === 'step.started')).toHaveLength(3);
    expect(events).toContain('run.waiting');
  });

  it('parks a sleep beyond SQS’s 15 minutes in the timer set, which the schedule tick wakes', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      'name: long-nap\non: { manual: true }\njobs:\n  j: { steps: [{ uses: sleep, with: { seconds: 1200 } }] }\n',
    );
    await pollOnce(app, 1);
    const timers = globalKeys(app.config.keyPrefix).timers(shardOf(id));
    expect(await app.redis.zcard(timers)).toBe(1);
    expect(await pollOnce(app, 0)).toBe(0);

    const later = Date.now() + 1_201_000;
    expect((await scheduleTick(app, later)).timersWoken).toBe(1);
    const late = { ...app, now: () => later };
    for (let i = 0; i < 5 && (await doc(app, id)).status !== 'succeeded'; i++) {
      await pollWith(app, late);
    }
    expect((await doc(app, id)).status).toBe('succeeded');
  });
});

/** pollOnce, but executing with other deps (a clock in the future). */
async function pollWith(app: App, deps: Parameters<typeof executeJob>[0]) {
  const { ReceiveMessageCommand, DeleteMessageCommand } = await import('@aws-sdk/client-sqs');
  const { parseJobTask } = await import('../../lib/queue/message.js');
  const out = await app.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: app.config.queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
    }),
  );
  for (const m of out.Messages ?? []) {
    const task = parseJobTask(m.Body ?? '');
    if (task) await executeJob(deps, task, () => 60_000);
    await app.sqs.send(
      new DeleteMessageCommand({ QueueUrl: app.config.queueUrl, ReceiptHandle: m.ReceiptHandle }),
    );
  }
}

describe('suspending during a cancel', () => {
  it('refuses to suspend a job of a run being cancelled, so the run still ends cancelled', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      'name: late\non: { manual: true }\njobs:\n  j: { steps: [{ uses: sleep, with: { seconds: 60 } }] }\n',
    );
    const task = await currentTask(app, TENANT, id, 'j');
    const claim = await app.runs.claimJob(task, Date.now(), 60_000);
    if (claim.kind !== 'claimed') throw new Error(claim.kind);
    // The cancel passes while the job still runs; then the job reaches its wait.
    await app.runs.cancelRun(TENANT, id, Date.now(), { finalStatus: 'cancelled' });
    const out = await app.runs.suspendJob(
      task,
      claim.fence,
      { waitingFor: '{"kind":"sleep"}' },
      Date.now(),
    );
    expect(out).toBe('cancelling');
    const cancelled = {
      status: 'cancelled' as const,
      outputs: {},
      error: { code: 'CANCELLED', message: 'x' },
    };
    expect(await settleJob(app, task, claim.fence, cancelled, undefined, '')).toBe(true);
    expect((await doc(app, id)).status).toBe('cancelled');
  });
});

const APPROVAL = (extra = '') => `
name: gated
on: { manual: true }
jobs:
  build: { steps: [{ uses: action:noop }] }
  ship:
    needs: build
    steps:
      - { id: gate, uses: approval, with: { ${extra} } }
      - { id: after, uses: action:echo, with: { by: "\${{ steps.gate.outputs.actor }}" } }
`;

describe('approval', () => {
  it('waits for a decision through the API, records actor and comment, then goes on', async () => {
    const app = await startTestApp();
    const call = api(app);
    const id = await submitSpec(app, APPROVAL());
    expect((await call('POST', `/v1/runs/${id}/approvals/gate`, { approve: true })).status).toBe(
      409,
    );
    const waiting = await until(app, id, 'waiting');
    expect(waiting.jobs.ship?.waitingFor).toMatchObject({ kind: 'approval', step: 'gate' });

    expect((await call('POST', `/v1/runs/${id}/approvals/nope`, { approve: true })).status).toBe(
      404,
    );
    expect((await call('POST', `/v1/runs/${id}/approvals/gate`, { approve: 'yes' })).status).toBe(
      422,
    );
    const res = await api(app, 'alice')('POST', `/v1/runs/${id}/approvals/gate`, {
      approve: true,
      comment: 'ship it',
    });
    expect(res.status).toBe(200);
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const done = await doc(app, id);
    expect(done.jobs.ship?.steps[0]?.outputs).toEqual({
      approved: true,
      actor: 'alice',
      comment: 'ship it',
      approvedBy: 'alice',
      approvedAt: expect.any(String),
    });
    expect(done.jobs.ship?.steps[1]?.outputs.by).toBe('alice');
    // Decided once: a second decision finds nothing waiting.
    expect((await call('POST', `/v1/runs/${id}/approvals/gate`, { approve: true })).status).toBe(
      409,
    );
    const events = (await app.runs.readEvents(TENANT, id, undefined, 100)).map(
      (e) => e.fields.type,
    );
    expect(events).toEqual(expect.arrayContaining(['approval.requested', 'approval.decided']));
  });

  it('decides approvals of the same step id in two jobs one by one; the run waits while only they are left', async () => {
    const app = await startTestApp();
    const call = api(app);
    const id = await submitSpec(
      app,
      `
name: two-gates
on: { manual: true }
jobs:
  x: { steps: [{ id: prep, uses: action:noop }, { id: gate, uses: approval }] }
  y: { steps: [{ id: gate, uses: approval }] }
  z: { steps: [{ uses: action:noop }] }
`,
    );
    const waiting = await until(app, id, 'waiting');
    expect([waiting.jobs.x?.status, waiting.jobs.y?.status, waiting.jobs.z?.status]).toEqual([
      'waiting',
      'waiting',
      'succeeded',
    ]);
    expect((await call('POST', `/v1/runs/${id}/approvals/gate`, { approve: true })).status).toBe(
      200,
    );
    // One job goes on and ends; the run is back to waiting on the other.
    await until(app, id, 'waiting');
    const one = await doc(app, id);
    expect([one.jobs.x?.status, one.jobs.y?.status].sort()).toEqual(['succeeded', 'waiting']);
    expect((await call('POST', `/v1/runs/${id}/approvals/gate`, { approve: true })).status).toBe(
      200,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
  });

  it('runs examples/gated.yml: approval, then a sleep, then the deploy with the approver', async () => {
    const app = await startTestApp();
    const id = await submitSpec(app, readFileSync('examples/gated.yml', 'utf8'), {
      version: '2.0.0',
    });
    await until(app, id, 'waiting');
    const res = await api(app, 'ops')('POST', `/v1/runs/${id}/approvals/gate`, {
      approve: true,
    });
    expect(res.status).toBe(200);
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const done = await doc(app, id);
    expect(done.outputs).toEqual({ deployed: 'app-2.0.0.tgz' });
    expect(done.jobs.release?.steps[2]?.outputs.approvedBy).toBe('ops');
  });

  it('keeps a decision when the executor dies after the wake-up: the retry does not ask again', async () => {
    const app = await startTestApp({ leaseMs: 200 });
    const id = await submitSpec(
      app,
      APPROVAL().replace(
        '  ship:\n    needs: build',
        '  ship:\n    needs: build\n    retries: { max: 1, initialIntervalMs: 0 }',
      ),
    );
    await until(app, id, 'waiting');
    await api(app, 'carol')('POST', `/v1/runs/${id}/approvals/gate`, { approve: true });
    // The woken job is claimed by an executor that dies before it does anything.
    const jobs = (await app.runs.snapshot(TENANT, id))?.jobs ?? {};
    const task = {
      tenant: TENANT,
      runId: id,
      jobKey: 'ship',
      attempt: 1,
      token: jobs['token:ship'] ?? '',
    };
    expect((await app.runs.claimJob(task, Date.now(), 200)).kind).toBe('claimed');
    await new Promise((r) => setTimeout(r, 250));
    expect((await scheduleTick(app, Date.now())).reaped.expired).toBe(1);
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const done = await doc(app, id);
    expect(done.jobs.ship?.steps[1]?.outputs.by).toBe('carol');
    const events = (await app.runs.readEvents(TENANT, id, undefined, 200)).map(
      (e) => e.fields.type,
    );
    expect(events.filter((t) => t === 'approval.requested')).toHaveLength(1);
  });

  it('fails the step with APPROVAL_REJECTED on a rejection', async () => {
    const app = await startTestApp();
    const id = await submitSpec(app, APPROVAL());
    await until(app, id, 'waiting');
    await api(app, 'bob')('POST', `/v1/runs/${id}/approvals/gate`, { approve: false });
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    expect((await doc(app, id)).jobs.ship?.error?.code).toBe('APPROVAL_REJECTED');
  });

  it('refuses a key whose identity is not in `approvers` with 403, whatever the body claims', async () => {
    const app = await startTestApp();
    const id = await submitSpec(app, APPROVAL('approvers: [release-manager]'));
    await until(app, id, 'waiting');
    // acme's unnamed key (identity "acme") and acme/dev, each claiming to be the approver.
    const claim = { approve: true, actor: 'release-manager' };
    for (const as of [undefined, 'dev']) {
      const res = await api(app, as)('POST', `/v1/runs/${id}/approvals/gate`, claim);
      expect(res.status).toBe(403);
    }
    expect((await doc(app, id)).jobs.ship?.status).toBe('waiting');
    const events = await app.runs.readEvents(TENANT, id, undefined, 100);
    expect(events.map((e) => e.fields.type)).not.toContain('approval.decided');
    const res = await api(app, 'release-manager')('POST', `/v1/runs/${id}/approvals/gate`, {
      approve: true,
    });
    expect(res.status).toBe(200);
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const gate = (await doc(app, id)).jobs.ship?.steps[0]?.outputs;
    expect(gate).toMatchObject({ approved: true, actor: 'release-manager' });
  });

  it('fails with APPROVAL_TIMEOUT when nobody decides in time', async () => {
    const app = await startTestApp();
    const id = await submitSpec(app, APPROVAL('timeoutSeconds: 1'));
    await until(app, id, 'waiting');
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    expect((await doc(app, id)).jobs.ship?.error?.code).toBe('APPROVAL_TIMEOUT');
  });

  it('a cancel ends a waiting run at once', async () => {
    const app = await startTestApp();
    const id = await submitSpec(app, APPROVAL());
    await until(app, id, 'waiting');
    const res = await api(app)('POST', `/v1/runs/${id}/cancel`, {});
    expect(res.body).toMatchObject({ status: 'cancelled' });
    expect((await doc(app, id)).jobs.ship?.status).toBe('cancelled');
  });
});

const SIGNAL = `
name: listener
on: { manual: true }
jobs:
  j:
    steps:
      - { id: first, uses: signal, with: { name: go } }
      - { id: second, uses: signal, with: { name: go } }
`;

describe('signal', () => {
  it('delivers signals sent before the step waits (kept, in order) and after (wakes it)', async () => {
    const app = await startTestApp();
    const call = api(app);
    const id = await submitSpec(app, SIGNAL);
    const early = await call('POST', `/v1/runs/${id}/signals/go`, { payload: { n: 1 } });
    expect(early).toMatchObject({ status: 202, body: { delivered: false } });
    // The first step takes the kept signal; the second waits.
    const waiting = await until(app, id, 'waiting');
    expect(waiting.jobs.j?.steps[0]?.outputs).toEqual({ payload: { n: 1 } });
    expect(waiting.jobs.j?.waitingFor).toMatchObject({ kind: 'signal', name: 'go' });
    const late = await call('POST', `/v1/runs/${id}/signals/go`, { payload: 'two' });
    expect(late).toMatchObject({ status: 202, body: { delivered: true } });
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    expect((await doc(app, id)).jobs.j?.steps[1]?.outputs).toEqual({ payload: 'two' });
    expect((await call('POST', `/v1/runs/${id}/signals/go`, {})).status).toBe(409);
    expect((await call('POST', '/v1/runs/run_nope/signals/go', {})).status).toBe(404);
    expect((await call('POST', `/v1/runs/${id}/signals/bad name`, {})).status).toBe(400);
  });

  it('answers 404 for a signal no step of the run waits for, and keeps nothing', async () => {
    const app = await startTestApp();
    const id = await submitSpec(app, SIGNAL);
    const res = await api(app)('POST', `/v1/runs/${id}/signals/nobody`, { payload: 1 });
    expect(res.status).toBe(404);
    expect(await app.runs.runFields(TENANT, [id], ['signals:nobody'])).toEqual([[null]]);
  });

  it('fails with TIMEOUT when no signal comes in time', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      'name: quiet\non: { manual: true }\njobs:\n  j: { steps: [{ uses: signal, with: { name: never, timeoutSeconds: 1 } }] }\n',
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    expect((await doc(app, id)).jobs.j?.error?.code).toBe('TIMEOUT');
  });
});
