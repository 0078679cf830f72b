import { createHash } from 'node:crypto';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../lib/app.js';
import { executeJob } from '../../lib/engine/job/execute.js';
import { scheduleTick } from '../../lib/engine/tick/schedule.js';
import { parseJobTask } from '../../lib/queue/message.js';
import { reserveIdempotencyKey } from '../../lib/store/idempotency.js';
import { SCRIPT_SOURCES } from '../../lib/store/scripts.js';
import { pollOnce, startTestApp, submitSpec } from '../support/engine.js';
import { ReplyDropper } from '../support/faults.js';
import { redisUrl, sqsClient } from '../support/stack.js';

/**
 * A Redis reply lost after the command ran (the node died, or the path broke,
 * between executing and answering). The engine's client (lib/store/redis-client.ts:
 * offline queue with a bounded reconnect, and ioredis' default
 * autoResendUnfulfilledCommands true) sends every unanswered command again once it
 * has reconnected, so the run script runs twice on the same data. Each run script
 * must answer its replay as it answered the first call: not see its own claim as a
 * rival's, not append its events again, not refuse its own transition as stale.
 *
 * A proxy in front of the test Redis (ReplyDropper) loses exactly one reply, to
 * the script named, and closes the client's connection.
 */

const TENANT = 'acme';
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

let proxy: ReplyDropper;
beforeAll(async () => {
  proxy = await ReplyDropper.start(Number(new URL(redisUrl()).port));
});
afterAll(async () => {
  await proxy.stop();
});

const statusOf = async (app: App, runId: string) =>
  (await app.runs.runFields(TENANT, [runId], ['status']))[0]?.[0] ?? 'missing';
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Executor and schedule tick together, until the run ends or `ms` pass; the status then. */
async function drive(app: App, runId: string, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = await statusOf(app, runId);
    if (FINAL.has(status) || Date.now() > deadline) return status;
    await scheduleTick(app, Date.now());
    await pollOnce(app, 0);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const eventsOf = async (app: App, runId: string) =>
  (await app.runs.readEvents(TENANT, runId, undefined, 1000)).map((e) => e.fields);

const ONE_JOB =
  'name: one\non: { manual: true }\njobs:\n  j: { steps: [{ id: s, uses: action:noop }] }\n';

describe('a run script replayed after its reply was lost', () => {
  it('claimJob: the replay answers the same claim, so the job runs at once (not lease-held, then LEASE_EXPIRED)', async () => {
    const app = await startTestApp({ redisUrl: proxy.url, leaseMs: 1_500 });
    const runId = await submitSpec(app, ONE_JOB);
    // ioredis sends EVAL with the body on a connection's first use of a script, EVALSHA after.
    proxy.arm(sha1(SCRIPT_SOURCES.claimJob), "'job.started'");
    await pollOnce(app, 1);
    expect(proxy.dropped).toBe(1);
    // No executor crashed, so the run must succeed, in its first and only claim.
    expect(await drive(app, runId, 4_000)).toBe('succeeded');
    const evs = await eventsOf(app, runId);
    expect(evs.filter((e) => e.type === 'job.started')).toHaveLength(1);
    expect(evs.filter((e) => e.type === 'job.retrying')).toHaveLength(0);
    expect(evs.filter((e) => e.type === 'step.succeeded')).toHaveLength(1);
  });

  it('commitStep: the replay does not record the step result twice (invariant 3)', async () => {
    const app = await startTestApp({ redisUrl: proxy.url });
    // Two steps: the first one's result rides on the commit that starts the second (a
    // single step's result rides on the finish).
    const runId = await submitSpec(
      app,
      'name: two-steps\non: { manual: true }\njobs:\n  j: { steps: [{ id: s, uses: action:noop }, { id: t, uses: action:noop }] }\n',
    );
    proxy.arm('step.succeeded');
    expect(await drive(app, runId, 4_000)).toBe('succeeded');
    expect(proxy.dropped).toBe(1);
    const evs = await eventsOf(app, runId);
    expect(evs.filter((e) => e.type === 'step.started').map((e) => e.step)).toEqual(['s', 't']);
    expect(evs.filter((e) => e.type === 'step.succeeded').map((e) => e.step)).toEqual(['s', 't']);
  });

  it('commitStep: a write that ran but timed out is no step failure, and its result is not written again (invariant 3)', async () => {
    // The commit carrying s's result and t's start runs, then Redis is away past the
    // 300 ms command timeout. Seen in the soak with Redis restarts: t was recorded
    // failed ("Command timed out"), and the failure's write carried s's result again
    // under a new commit id, so s succeeded twice in one attempt.
    const app = await startTestApp({
      redisUrl: proxy.url,
      redisCommandTimeoutMs: 300,
      leaseMs: 800,
    });
    const runId = await submitSpec(
      app,
      'name: two-steps\non: { manual: true }\njobs:\n  j: { steps: [{ id: s, uses: action:noop }, { id: t, uses: action:noop }] }\n',
    );
    const received = await sqsClient().send(
      new ReceiveMessageCommand({ QueueUrl: app.config.queueUrl, WaitTimeSeconds: 1 }),
    );
    const task = parseJobTask(received.Messages?.[0]?.Body ?? '');
    if (!task) throw new Error('no task for the run');
    proxy.armOutage(1_000, 'step.succeeded');
    // The invocation stops (SQS would deliver the task again), not the step.
    await expect(executeJob(app, task, () => 60_000)).rejects.toThrow();
    expect(proxy.dropped).toBe(1);
    // The redelivery: refused while the lease lives, then a reclaim of the same attempt.
    // Reads fail too while the proxy refuses connections (the 300 ms timeout).
    const settled = () => statusOf(app, runId).catch(() => 'unknown');
    const deadline = Date.now() + 8_000;
    while (!FINAL.has(await settled()) && Date.now() < deadline) {
      await executeJob(app, task, () => 60_000).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await statusOf(app, runId)).toBe('succeeded');
    const evs = await eventsOf(app, runId);
    expect(evs.filter((e) => e.type === 'step.succeeded').map((e) => e.step)).toEqual(['s', 't']);
    expect(evs.filter((e) => e.type === 'step.failed')).toHaveLength(0);
    expect(evs.filter((e) => e.type === 'job.retrying')).toHaveLength(0);
  });

  it('finishJob: the replay still hands back the dependents it queued, so they are sent at once', async () => {
    // requeueAfterMs 120 s: the reaper's resend cannot start b within this test.
    const app = await startTestApp({ redisUrl: proxy.url, requeueAfterMs: 120_000 });
    const runId = await submitSpec(
      app,
      'name: two\non: { manual: true }\njobs:\n  a: { steps: [{ uses: action:noop }] }\n  b: { needs: a, steps: [{ uses: action:noop }] }\n',
    );
    proxy.arm(sha1(SCRIPT_SOURCES.finishJob), 'local writes, n = finishLean(job');
    expect(await drive(app, runId, 4_000)).toBe('succeeded');
    expect(proxy.dropped).toBe(1);
    const evs = await eventsOf(app, runId);
    expect(evs.filter((e) => e.type === 'job.succeeded').map((e) => e.job)).toEqual(['a', 'b']);
    expect(evs.filter((e) => e.type === 'run.succeeded')).toHaveLength(1);
  });

  it('cancelRun: the replay of the cancel that ended the run answers as it did, not 409', async () => {
    const app = await startTestApp({ redisUrl: proxy.url });
    const runId = await submitSpec(app, ONE_JOB);
    proxy.arm(sha1(SCRIPT_SOURCES.cancelRun), "'cancelRequested'");
    const out = await app.runs.cancelRun(TENANT, runId, Date.now(), { finalStatus: 'cancelled' });
    expect(proxy.dropped).toBe(1);
    expect(out).toEqual({ kind: 'cancelling', runStatus: 'cancelled', running: 0 });
    // A later, separate cancel is still told the run has finished.
    expect(
      await app.runs.cancelRun(TENANT, runId, Date.now(), { finalStatus: 'cancelled' }),
    ).toEqual({
      kind: 'finished',
    });
  });

  it('idempotency: the replayed reservation of a first request is not taken for a duplicate', async () => {
    const app = await startTestApp({ redisUrl: proxy.url });
    const args = { tenant: TENANT, scope: 'wf', key: 'k1', fingerprint: 'f', ttlS: 60 };
    proxy.arm(':idem:');
    const first = await reserveIdempotencyKey(app.redis, app.config.keyPrefix, {
      ...args,
      runId: 'run_A',
    });
    expect(proxy.dropped).toBe(1);
    expect(first).toEqual({ kind: 'fresh', runId: 'run_A' });
    const second = await reserveIdempotencyKey(app.redis, app.config.keyPrefix, {
      ...args,
      runId: 'run_B',
    });
    expect(second).toEqual({ kind: 'replay', runId: 'run_A' });
  });
});
