import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RestartableRedis } from '../../bench/support/restartable-redis.js';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { admitRun } from '../../lib/engine/run/admit.js';
import { loadSpec } from '../../lib/spec/index.js';
import { sleep } from '../../scripts/processes.js';
import { pollOnce, startTestApp } from '../support/engine.js';
import { waitFor } from '../support/faults.js';
import { createTestQueue } from '../support/stack.js';

/**
 * Redis goes away mid-run and comes back from its append-only file, as an
 * ElastiCache node restart or failover would: the run must still finish, with
 * every step recorded once. The engine's ioredis client (lib/store/redis-client.ts:
 * offline queue, bounded by the execute function's 5 s command timeout) holds
 * commands while disconnected and re-sends them after reconnecting; the restarted
 * server has no script cache, so the EVALSHAs fall back to EVAL.
 */

const TENANT = 'acme';
const STEP_MS = 700;

/** A chain a → b → c; each job a quick step then a slow one. */
const CHAIN = loadSpec({
  format: 'yaml',
  text: `
name: chain
on: { manual: true }
jobs:
  a:
    steps:
      - { id: seed, uses: action:echo, with: { v: a } }
      - { id: work, uses: action:sleep-ms, with: { ms: ${STEP_MS} } }
    outputs: { v: "\${{ steps.seed.outputs.v }}" }
  b:
    needs: a
    steps:
      - { id: seed, uses: action:echo, with: { v: "\${{ needs.a.outputs.v }}b" } }
      - { id: work, uses: action:sleep-ms, with: { ms: ${STEP_MS} } }
    outputs: { v: "\${{ steps.seed.outputs.v }}" }
  c:
    needs: b
    steps:
      - { id: seed, uses: action:echo, with: { v: "\${{ needs.b.outputs.v }}c" } }
      - { id: work, uses: action:sleep-ms, with: { ms: ${STEP_MS} } }
    outputs: { v: "\${{ steps.seed.outputs.v }}" }
outputs: { v: "\${{ jobs.c.outputs.v }}" }
`,
});

const servers: RestartableRedis[] = [];
afterAll(async () => {
  await Promise.allSettled(servers.map((s) => s.destroy()));
});

/** Acts as the execute Lambda until `done` says stop; faults are collected, not thrown. */
function executeInBackground(app: App) {
  const faults: unknown[] = [];
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      try {
        await pollOnce(app, 1);
      } catch (err) {
        faults.push(err);
        await sleep(50);
      }
    }
  })();
  return {
    faults,
    async stop() {
      stop = true;
      await loop;
    },
  };
}

async function serverRunId(url: string): Promise<string> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    const info = await client.info('server');
    return /run_id:(\w+)/.exec(info)?.[1] ?? '';
  } finally {
    client.disconnect();
  }
}

describe('a Redis restart (AOF, appendfsync always) in the middle of a run', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'after %s while a step runs, the run finishes succeeded with every step recorded once',
    async (signal) => {
      const redis = await RestartableRedis.start();
      servers.push(redis);
      const { queueUrl } = await createTestQueue({ visibilityTimeout: 3 });
      // Lease well beyond the outage: this test is about Redis, not about expiry.
      // The execute function's command bound (functions/execute.ts): longer than the outage.
      const app = await startTestApp({
        queueUrl,
        redisUrl: redis.url,
        leaseMs: 6_000,
        redisCommandTimeoutMs: 5_000,
      });
      // connectRedis attaches no 'error' listener, so ioredis would print each failed
      // reconnect as an "Unhandled error event"; counted here to prove the client saw the outage.
      const connectionErrors: Error[] = [];
      app.redis.on('error', (err: Error) => connectionErrors.push(err));
      const before = await serverRunId(redis.url);
      const { summary } = await admitRun(app, {
        tenant: TENANT,
        spec: CHAIN,
        revision: 1,
        trigger: { type: 'api' },
      });
      const runId = summary.id;
      const executor = executeInBackground(app);

      // Mid-run: a has finished, b's slow step is running.
      await waitFor('job b to be inside its slow step', async () => {
        const snap = await app.runs.snapshot(TENANT, runId);
        const b = snap?.steps['b#1'];
        return b && JSON.parse(b).status === 'running' ? true : undefined;
      });
      await redis.down(signal);
      // Longer than a heartbeat interval (lease / 3) and than b's step: renewals and
      // b's commit both meet a dead server.
      await sleep(STEP_MS + 800);
      await redis.up();
      expect(await serverRunId(redis.url)).not.toBe(before);

      const status = await waitFor(
        'the run to finish after the restart',
        async () => {
          const [s] = (await app.runs.runFields(TENANT, [runId], ['status']))[0] ?? [];
          return s === 'succeeded' || s === 'failed' || s === 'cancelled' ? s : undefined;
        },
        15_000,
        50,
      );
      await executor.stop();
      expect(status).toBe('succeeded');
      expect(executor.faults).toEqual([]);
      expect(connectionErrors.length).toBeGreaterThan(0);

      const snap = await app.runs.snapshot(TENANT, runId);
      if (!snap) throw new Error('run vanished');
      const doc = runDocument(snap);
      expect(doc.outputs).toEqual({ v: 'abc' });
      const evs = (await app.runs.readEvents(TENANT, runId, undefined, 1000)).map((e) => e.fields);
      const per = (type: string) =>
        evs
          .filter((e) => e.type === type)
          .map((e) => (e.step ? `${e.job}/${e.step}` : e.job))
          .sort();
      const everyStep = ['a/seed', 'a/work', 'b/seed', 'b/work', 'c/seed', 'c/work'];
      expect(per('step.started')).toEqual(everyStep);
      expect(per('step.succeeded')).toEqual(everyStep);
      expect(per('job.started')).toEqual(['a', 'b', 'c']);
      expect(per('job.succeeded')).toEqual(['a', 'b', 'c']);
      expect(evs.filter((e) => e.type?.startsWith('run.')).map((e) => e.type)).toEqual([
        'run.created',
        'run.started',
        'run.succeeded',
      ]);
    },
  );
});
