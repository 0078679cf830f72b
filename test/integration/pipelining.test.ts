import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Redis } from 'ioredis';
import { ulid } from 'ulidx';
import { describe, expect, it } from 'vitest';
import { createApi } from '../../lib/api/handle.js';
import { executeJob } from '../../lib/engine/job/execute.js';
import { coalescingQueue } from '../../lib/queue/coalescing-queue.js';
import type { JobTask } from '../../lib/queue/message.js';
import { createJobQueue } from '../../lib/queue/sqs-queue.js';
import { globalKeys, shardOf, tenantKeys } from '../../lib/store/keys.js';
import { createRunStore, type NewRun } from '../../lib/store/run-store.js';
import { connectRedis, type ScriptRedis } from '../../lib/store/scripts.js';
import { createWorkflowStore } from '../../lib/store/workflow-store.js';
import { currentTask, runUntilFinished, startTestApp, submitSpec } from '../support/engine.js';
import {
  createTestQueue,
  keysUnder,
  newRedis,
  redisUrl,
  sqsClient,
  uniquePrefix,
} from '../support/stack.js';

/**
 * Round trips of the requests the engine sends at the connection level (issue 10,
 * item 3): what goes out together, what waits for an answer. Counted at the real
 * socket: every TCP write the client makes (a pipeline is one write).
 */
function countedRedis(): { redis: ScriptRedis; writes: () => number } {
  const redis = connectRedis(redisUrl());
  newRedis(); // registers cleanup of the file's clients
  let writes = 0;
  const patch = () => {
    const stream = (redis as Redis).stream;
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((...args: unknown[]) => {
      writes++;
      return write(...args);
    }) as typeof stream.write;
  };
  redis.once('ready', patch);
  return { redis, writes: () => writes };
}

const ready = (redis: ScriptRedis) =>
  redis.status === 'ready' ? Promise.resolve() : new Promise((r) => redis.once('ready', r));

function newRun(tenant: string, createdAt: number): NewRun {
  const runId = `run_${ulid(createdAt)}`;
  return {
    tenant,
    runId,
    createdAt,
    runFields: { id: runId, tenant, status: 'queued', pending: '1', retainMs: '60000' },
    jobFields: { 'status:a': 'queued' },
    queued: ['a'],
  };
}

const ADMISSION = {
  retentionMs: 60_000,
  maxRunsInFlight: 100,
  rate: { perSecond: 100, burst: 100 },
};

describe('admission and run end on one node', () => {
  it('admits a run in one round trip: worklist, tenant and run in one script', async () => {
    const { redis, writes } = countedRedis();
    const prefix = uniquePrefix();
    const runs = createRunStore(redis, prefix);
    await ready(redis);
    // The first use of each script loads it (EVAL): not the steady state.
    await runs.createRun(newRun('t', Date.now()), ADMISSION);
    const run = newRun('t', Date.now());
    const before = writes();
    expect(await runs.createRun(run, ADMISSION)).toEqual({ kind: 'created' });
    expect(writes() - before).toBe(1);
    const member = `t/${run.runId}`;
    expect(
      await redis.zscore(globalKeys(prefix).activeRuns(shardOf(run.runId)), member),
    ).not.toBeNull();
    expect(await redis.zscore(tenantKeys(prefix, 't').live, run.runId)).not.toBeNull();
    expect(await redis.hget(`${prefix}:t:{${run.runId}}:run`, 'status')).toBe('queued');
  });

  it('a refused admission writes no run and leaves no worklist entry', async () => {
    const { redis } = countedRedis();
    const prefix = uniquePrefix();
    const runs = createRunStore(redis, prefix);
    const full = { ...ADMISSION, maxRunsInFlight: 1 };
    const first = newRun('t', Date.now());
    expect(await runs.createRun(first, full)).toEqual({ kind: 'created' });
    const second = newRun('t', Date.now() + 1);
    expect(await runs.createRun(second, full)).toEqual({ kind: 'over-quota', live: 1 });
    expect(await redis.exists(`${prefix}:t:{${second.runId}}:run`)).toBe(0);
    expect(await runs.allActive()).toEqual([`t/${first.runId}`]);
    // The same run again: admitted as it is, not counted twice.
    expect(await runs.createRun(first, full)).toEqual({ kind: 'existed' });
    expect(await redis.zcard(tenantKeys(prefix, 't').live)).toBe(1);
  });

  it('forgets an ended run in one round trip, live set and worklist both', async () => {
    const { redis, writes } = countedRedis();
    const prefix = uniquePrefix();
    const runs = createRunStore(redis, prefix);
    const run = newRun('t', Date.now());
    await runs.createRun(run, ADMISSION);
    const before = writes();
    await runs.forgetActive('t', run.runId);
    expect(writes() - before).toBe(1);
    expect(await redis.zcard(tenantKeys(prefix, 't').live)).toBe(0);
    expect(await runs.allActive()).toEqual([]);
  });
});

describe('the latest revision of a workflow', () => {
  const spec = (n: number) => JSON.stringify({ name: 'wf', on: { manual: true }, n });
  const rev = (n: number) => ({ version: '', digest: `d${n}`, createdAt: '', spec: spec(n) });

  it('is one request while nothing new is registered, and never stale', async () => {
    const { redis, writes } = countedRedis();
    const prefix = uniquePrefix();
    const mine = createWorkflowStore(redis, prefix);
    // Another process (another container of the API) registers the next revision.
    const theirs = createWorkflowStore(connectRedis(redisUrl()), prefix);
    await mine.register('t', 'wf', rev(1), false);
    await mine.latest('t', 'wf');
    let before = writes();
    expect(await mine.latest('t', 'wf')).toMatchObject({ revision: 1, spec: spec(1) });
    expect(writes() - before).toBe(1);

    await theirs.register('t', 'wf', rev(2), false);
    expect(await mine.latest('t', 'wf')).toMatchObject({ revision: 2, spec: spec(2) });
    before = writes();
    expect(await mine.latest('t', 'wf')).toMatchObject({ revision: 2, spec: spec(2) });
    expect(writes() - before).toBe(1);
    expect(await mine.latest('t', 'nope')).toBeUndefined();
  });
});

describe('coalescingQueue', () => {
  const task = (i: number): JobTask => ({
    tenant: 't',
    runId: 'run_1',
    jobKey: `j${i}`,
    attempt: 1,
    token: `k${i}`,
  });

  it("sends one turn's tasks together, ten to a SendMessageBatch, and answers every caller", async () => {
    const { queueUrl } = await createTestQueue();
    const client = sqsClient();
    let batches = 0;
    client.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'SendMessageBatchCommand') batches++;
        return next(args);
      },
      { step: 'initialize', name: 'countBatches' },
    );
    try {
      const queue = coalescingQueue(createJobQueue(client, queueUrl));
      await Promise.all(Array.from({ length: 12 }, (_, i) => queue.send([task(i)])));
      expect(batches).toBe(2);
      const got = new Set<string>();
      for (let tries = 0; tries < 10 && got.size < 12; tries++) {
        const out = await client.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
        );
        for (const m of out.Messages ?? []) got.add((JSON.parse(m.Body ?? '{}') as JobTask).jobKey);
      }
      expect(got.size).toBe(12);
    } finally {
      client.middlewareStack.remove('countBatches');
    }
  });

  it('a failed send rejects every caller of that turn', async () => {
    const queue = coalescingQueue(
      createJobQueue(sqsClient(), `${(await createTestQueue()).queueUrl}-missing`),
    );
    const sends = [queue.send([task(1)]), queue.send([task(2)])];
    for (const s of sends) await expect(s).rejects.toThrow();
  });
});

describe('the jobs of one SQS batch', () => {
  const oneStep =
    'name: one\non: { manual: true }\njobs:\n  only:\n    steps:\n      - uses: action:noop\n';

  it('claim in one write, and finish in one', async () => {
    const app = await startTestApp();
    const shaOf = (name: string) =>
      ((app.redis as unknown as { scriptsSet: Record<string, { sha: string }> }).scriptsSet[name]
        ?.sha ?? '') as string;
    // Warm: the first use of a script on a connection loads it.
    const warm = await submitSpec(app, oneStep);
    await executeJob(app, await currentTask(app, 'acme', warm, 'only'), () => 60_000);

    const runIds = await Promise.all(Array.from({ length: 10 }, () => submitSpec(app, oneStep)));
    const tasks = await Promise.all(runIds.map((id) => currentTask(app, 'acme', id, 'only')));
    const writes: string[] = [];
    const stream = (app.redis as Redis).stream;
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((data: unknown, ...rest: unknown[]) => {
      writes.push(String(data));
      return write(data, ...rest);
    }) as typeof stream.write;
    try {
      await Promise.all(tasks.map((t) => executeJob(app, t, () => 60_000)));
    } finally {
      stream.write = write as typeof stream.write;
    }
    const carrying = (name: string) =>
      writes.map((w) => w.split(shaOf(name)).length - 1).filter((n) => n > 0);
    expect(carrying('claimJob')).toEqual([10]);
    expect(carrying('finishJob')).toEqual([10]);
    for (const id of runIds) {
      expect((await app.runs.runFields('acme', [id], ['status']))[0]?.[0]).toBe('succeeded');
    }
  });
});

describe('a submit through the API', () => {
  const spec =
    'name: one\non: { manual: true }\njobs:\n  only:\n    steps:\n      - uses: action:noop\n';

  it('with an Idempotency-Key: lookup, key, admission in three round trips; a replay answers the same run', async () => {
    const app = await startTestApp();
    const api = createApi(app);
    const call = (
      method: string,
      path: string,
      body: string,
      headers: Record<string, string> = {},
    ) =>
      api({
        method,
        path,
        headers: { authorization: 'Bearer test-key-acme-alice', ...headers },
        query: {},
        body,
      });
    const yaml = { 'content-type': 'application/yaml' };
    expect((await call('PUT', '/v1/workflows/one', spec, yaml)).status).toBe(201);
    // Warm: the first lookup learns the latest revision, the first scripts load.
    expect((await call('POST', '/v1/workflows/one/runs', '{}')).status).toBe(202);
    let writes = 0;
    const stream = (app.redis as Redis).stream;
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((...args: unknown[]) => {
      writes++;
      return write(...args);
    }) as typeof stream.write;
    try {
      const first = await call('POST', '/v1/workflows/one/runs', '{}', { 'idempotency-key': 'k1' });
      expect(first.status).toBe(202);
      // HMGET workflow; SET NX the key; admitRun (worklist, tenant and run).
      expect(writes).toBe(3);
      const again = await call('POST', '/v1/workflows/one/runs', '{}', { 'idempotency-key': 'k1' });
      expect(again.status).toBe(200);
      expect((again.body as { id: string }).id).toBe((first.body as { id: string }).id);
    } finally {
      stream.write = write as typeof stream.write;
    }
  });
});

describe('the end of a run', () => {
  const oneStep =
    'name: one\non: { manual: true }\njobs:\n  only:\n    steps:\n      - uses: action:noop\n';

  it('sets a retention on every key the run has, the optional ones included', async () => {
    const app = await startTestApp({ retentionMs: 60_000 });
    const plain = await submitSpec(app, oneStep);
    // A signal nobody waits for is kept: this run ends with a signals hash too.
    const withSignal = await submitSpec(app, oneStep);
    expect(
      await app.runs.resolveWait(
        'acme',
        withSignal,
        { kind: 'signal', key: 'go' },
        { ok: true },
        { type: 'signal.received', data: {} },
        Date.now(),
      ),
    ).toBe('kept');
    const redis = newRedis();
    for (const runId of [plain, withSignal]) {
      expect(await runUntilFinished(app, 'acme', runId)).toBe('succeeded');
      const keys = await keysUnder(redis, `${app.config.keyPrefix}:acme:{${runId}}:*`);
      expect(keys.map((k) => k.slice(k.lastIndexOf(':') + 1))).toEqual(
        runId === plain ? ['jobs', 'run', 'steps'] : ['jobs', 'run', 'signals', 'steps'],
      );
      for (const key of keys) expect(await redis.pttl(key), key).toBeGreaterThan(0);
    }
  });
});
