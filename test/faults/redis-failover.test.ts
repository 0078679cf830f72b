import { type Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RestartableRedis } from '../../bench/support/restartable-redis.js';
import { admitRun, newRunId } from '../../lib/engine/run/admit.js';
import { loadSpec } from '../../lib/spec/index.js';
import { runKeys } from '../../lib/store/keys.js';
import { type RedisCluster, sleep, startRedisCluster } from '../../scripts/processes.js';
import { runUntilFinished, startTestApp } from '../support/engine.js';
import { ReplyDropper, waitFor } from '../support/faults.js';

/**
 * A primary that stops being one: the engine must find the new primary within
 * seconds, not fail every write until SQS dead-letters the work. Standalone: the
 * primary is demoted with REPLICAOF and its replica promoted, and the endpoint
 * (a proxy standing in for ElastiCache's primary DNS name) moves to it; the
 * client sees READONLY and reconnects. Cluster: a master is killed and its replica
 * takes over; commands for its slots fail within bounds, then succeed.
 */

const SPEC = loadSpec({
  format: 'yaml',
  text: 'name: one\non: { manual: true }\njobs: { a: { steps: [{ uses: action:echo, with: { v: 1 } }] } }',
});
const RUN = { tenant: 'acme', spec: SPEC, revision: 1, trigger: { type: 'api' as const } };
const report = (what: string, ms: number) => {
  if (process.env.FLOWLINE_REPORT_BOUNDS) console.log(`[bound] ${what}: ${ms} ms`);
};

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  await Promise.allSettled(cleanup.map((c) => c()));
});

function admin(port: number): Redis {
  const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  cleanup.push(async () => client.disconnect());
  return client;
}

describe('a demoted primary (REPLICAOF, replica promoted)', () => {
  it('is left within seconds: the READONLY write is sent again to the new primary', async () => {
    const [a, b] = await Promise.all([RestartableRedis.start(), RestartableRedis.start()]);
    cleanup.push(
      () => a.destroy(),
      () => b.destroy(),
    );
    const endpoint = await ReplyDropper.start(a.port);
    cleanup.push(() => endpoint.stop());
    const [adminA, adminB] = [admin(a.port), admin(b.port)];
    await adminB.replicaof('127.0.0.1', String(a.port));
    const app = await startTestApp({ redisUrl: endpoint.url, redisCommandTimeoutMs: 5_000 });
    const first = await admitRun(app, RUN);
    await waitFor('the replica to have the run', async () =>
      (await adminB.exists(runKeys(app.config.keyPrefix, 'acme', first.summary.id).run)) === 1
        ? true
        : undefined,
    );

    // Failover: B becomes the primary, A its replica, the endpoint names B.
    const t0 = Date.now();
    await adminB.replicaof('NO', 'ONE');
    await adminA.replicaof('127.0.0.1', String(b.port));
    endpoint.retarget(b.port);
    // The next write reaches A (read-only now) on the open connection.
    const second = await admitRun(app, RUN);
    const recoveredMs = Date.now() - t0;
    report('READONLY to a write on the new primary', recoveredMs);
    expect(recoveredMs).toBeLessThan(3_000);
    expect(second.created).toBe(true);
    expect(await adminB.exists(runKeys(app.config.keyPrefix, 'acme', second.summary.id).run)).toBe(
      1,
    );
    expect(await runUntilFinished(app, 'acme', second.summary.id)).toBe('succeeded');
  });
});

describe('a killed cluster master (3 masters, 1 replica each)', () => {
  let cluster: RedisCluster;

  it('fails its slots’ commands within bounds, then its replica takes over', async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1 });
    cleanup.push(() => cluster.stop());
    const app = await startTestApp({
      redisUrl: cluster.url,
      redisMode: 'cluster',
      redisCommandTimeoutMs: 1_500,
    });
    const redis = app.redis as Cluster;
    await redis.ping();

    // A run whose slot lives on the master about to die.
    const victim = cluster.ports[0] as number;
    let runId = newRunId();
    const portOf = async (id: string) => {
      const slot = (await redis.cluster(
        'KEYSLOT',
        runKeys(app.config.keyPrefix, 'acme', id).run,
      )) as number;
      const slots = await redis.cluster('SLOTS');
      return slots.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1];
    };
    while ((await portOf(runId)) !== victim) runId = newRunId();
    await admitRun(app, { ...RUN, runId });
    // Acknowledged by the replica before the crash (replication is asynchronous;
    // a new cluster's replica may still be in its first sync).
    const primary = admin(victim);
    await waitFor('the replica to catch up', async () =>
      (await primary.wait(1, 500)) === 1 ? true : undefined,
    );

    const t0 = Date.now();
    await cluster.kill(victim);
    // Until the failover, each read of that run fails within the bound: never a hang.
    let lastError = 0;
    let failures = 0;
    for (;;) {
      const t = Date.now();
      const ok = await app.runs.snapshot('acme', runId).then(
        (s) => s !== undefined,
        () => false,
      );
      if (ok) break;
      failures++;
      lastError = Math.max(lastError, Date.now() - t);
      expect(Date.now() - t).toBeLessThan(3_000);
      expect(Date.now() - t0).toBeLessThan(20_000);
      await sleep(100);
    }
    const recoveredMs = Date.now() - t0;
    report(
      `cluster master killed: run readable again (${failures} bounded failures, slowest ${lastError} ms)`,
      recoveredMs,
    );
    // The run written before the kill survived on the promoted replica, and runs on.
    expect(await runUntilFinished(app, 'acme', runId)).toBe('succeeded');
  });
});
