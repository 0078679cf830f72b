import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RestartableRedis } from '../../bench/support/restartable-redis.js';
import { createApi } from '../../lib/api/handle.js';
import type { ApiResponse } from '../../lib/api/http.js';
import type { App } from '../../lib/app.js';
import { reapRuns } from '../../lib/engine/tick/reaper.js';
import { log } from '../../lib/log.js';
import { runKeys } from '../../lib/store/keys.js';
import { whenReady } from '../../lib/store/redis-client.js';
import { sleep } from '../../scripts/processes.js';
import { startTestApp, submitSpec } from '../support/engine.js';
import { waitFor } from '../support/faults.js';
import { createTestQueue, keysUnder } from '../support/stack.js';

/**
 * Redis down or hung must make answers fail fast (DESIGN.md invariant 8): health
 * and submit answer 503 within 3 s, a submit leaves nothing half-written, and the
 * execute function answers before its deadline with the records it could not do.
 * Each against its own redis-server that the test stops (SIGKILL) or hangs (SIGSTOP).
 */

const BOUND_MS = 3_000;
const SPEC = 'name: inline\non: { manual: true }\njobs: { a: { steps: [{ uses: action:noop }] } }';
/** Set FLOWLINE_REPORT_BOUNDS=1 to print the measured latencies. */
const report = (what: string, ms: number) => {
  if (process.env.FLOWLINE_REPORT_BOUNDS) console.log(`[bound] ${what}: ${ms} ms`);
};

let redis: RestartableRedis;
let app: App;
let api: ReturnType<typeof createApi>;

beforeAll(async () => {
  redis = await RestartableRedis.start();
  // The submit function's client (functions/submit.ts): fail-fast.
  app = await startTestApp({ redisUrl: redis.url, redisFailFast: true });
  await whenReady(app.redis, 2_000);
  api = createApi(app);
});

afterAll(async () => {
  redis.resume();
  await redis.destroy();
});

async function timed(
  method: string,
  path: string,
  body?: object,
): Promise<{ res: ApiResponse; ms: number }> {
  const t0 = Date.now();
  const res = await api({
    method,
    path,
    headers: { authorization: 'Bearer test-key-acme' },
    query: {},
    body: body ? JSON.stringify(body) : '',
  });
  return { res, ms: Date.now() - t0 };
}

async function expectBounded503s(label: string): Promise<void> {
  const health = await timed('GET', '/v1/health');
  report(`health, ${label}`, health.ms);
  expect(health.res.status).toBe(503);
  expect(health.res.body).toMatchObject({ redis: 'down', queue: 'ok' });
  expect(health.ms).toBeLessThan(BOUND_MS);

  const submit = await timed('POST', '/v1/runs', { spec: SPEC });
  report(`submit, ${label}`, submit.ms);
  expect(submit.res.status).toBe(503);
  expect(submit.res.headers).toMatchObject({
    'content-type': 'application/problem+json',
    'retry-after': expect.stringMatching(/^\d+$/),
  });
  expect(submit.ms).toBeLessThan(BOUND_MS);
}

/**
 * Whatever runs exist are whole: listed and on the reaper's worklist. Admission writes
 * those indexes before the run (run-store.ts createRun), so an index entry without a run
 * may be left by a submit cut short; the reaper forgets it once past the grace period.
 */
async function expectNoHalfRuns(): Promise<string[]> {
  const listed = await app.runs.listRunIds('acme', 100);
  const active = async () => (await app.runs.allActive()).map((m) => m.slice('acme/'.length));
  const stored = (await keysUnder(app.redis, runKeys(app.config.keyPrefix, 'acme', '*').run))
    .map((k) => /\{(.+)\}/.exec(k)?.[1] as string)
    .sort();
  expect(listed).toEqual(expect.arrayContaining(stored));
  expect(await active()).toEqual(expect.arrayContaining(stored));
  await reapRuns(app, Date.now() + app.config.requeueAfterMs + 1);
  expect((await active()).sort()).toEqual(stored);
  return stored;
}

describe('with Redis stopped', () => {
  it('health and submit answer 503 within 3 s, and the submit writes nothing', async () => {
    const before = await keysUnder(app.redis, `${app.config.keyPrefix}:*`);
    await redis.down('SIGKILL');
    try {
      await expectBounded503s('Redis stopped');
    } finally {
      await redis.up();
    }
    await whenReady(app.redis, 5_000);
    await waitFor('the client to reconnect', async () =>
      (await app.redis.ping().catch(() => '')) === 'PONG' ? true : undefined,
    );
    // The refused submit left no trace, not even after the reconnect.
    await sleep(300);
    expect(await keysUnder(app.redis, `${app.config.keyPrefix}:*`)).toEqual(before);
    expect((await timed('POST', '/v1/runs', { spec: SPEC })).res.status).toBe(202);
  });
});

describe('with Redis hung (SIGSTOP)', () => {
  it('health and submit answer 503 within 3 s; resumed, no run is half-written', async () => {
    redis.pause();
    try {
      await expectBounded503s('Redis hung');
    } finally {
      redis.resume();
    }
    await waitFor('Redis to answer again', async () =>
      (await app.redis.ping().catch(() => '')) === 'PONG' ? true : undefined,
    );
    // The timed-out submit's commands were on the wire: they may land, but whole.
    await expectNoHalfRuns();
  });

  it('the execute function answers before its deadline, the record reported failed; the job logs its late end', async () => {
    const { queueUrl } = await createTestQueue();
    const worker = await startTestApp({ redisUrl: redis.url, queueUrl });
    const runId = await submitSpec(worker, SPEC);
    Object.assign(process.env, {
      REDIS_URL: redis.url,
      FLOWLINE_QUEUE_URL: queueUrl,
      FLOWLINE_KEY_PREFIX: worker.config.keyPrefix,
      AWS_ENDPOINT_URL_SQS: worker.config.sqsEndpoint,
    });
    const { handler } = await import('../../functions/execute.js');
    const { Messages = [] } = await worker.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2 }),
    );
    const body = Messages[0]?.Body;
    if (!body) throw new Error('no job task on the queue');
    const record = { messageId: 'm-1', body } as SQSRecord;
    const info = vi.spyOn(log, 'info');
    const remainingMs = 4_000;
    const deadline = Date.now() + remainingMs;
    const context = { getRemainingTimeInMillis: () => deadline - Date.now() } as Context;
    redis.pause();
    const t0 = Date.now();
    let out: unknown;
    try {
      out = await handler({ Records: [record] } as SQSEvent, context);
    } finally {
      redis.resume();
    }
    const ms = Date.now() - t0;
    report('execute with Redis hung, 4 s left', ms);
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(ms).toBeLessThan(remainingMs);
    // The job goes on once Redis answers; the handler has gathered its batch's line
    // already, so the job's end is a line of its own.
    const finishes = () =>
      info.mock.calls.filter(([, msg]) => msg === 'job finished' || msg === 'jobs finished');
    await waitFor('the job to finish', async () => (finishes().length > 0 ? true : undefined));
    expect(finishes()).toEqual([
      [expect.objectContaining({ runId, job: 'a', attempt: 1 }), 'job finished'],
    ]);
    info.mockRestore();
  });
});
