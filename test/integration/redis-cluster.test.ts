import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { allShards, globalKeys, SHARDS, shardOf } from '../../lib/store/keys.js';
import { startTestApp, submitSpec } from '../support/engine.js';
import { keysUnder, redisMode } from '../support/stack.js';

/**
 * Only in the `cluster` project (vitest.config.ts): the suite really runs on a
 * 3-master cluster, and the sharded global indexes spread over its masters.
 */
describe('on a 3-master Redis Cluster', () => {
  it('the app talks to it through a Cluster client', async () => {
    const app = await startTestApp();
    expect(redisMode()).toBe('cluster');
    expect(app.redis).toBeInstanceOf(Cluster);
    await app.redis.ping(); // the slot map is loaded by the first command
    expect((app.redis as Cluster).nodes('master')).toHaveLength(3);
  });

  it('spreads the shards of every global index over all masters', async () => {
    const app = await startTestApp();
    const cluster = app.redis as Cluster;
    const k = globalKeys(app.config.keyPrefix);
    const masterOf = async (key: string) => {
      const slot = (await cluster.cluster('KEYSLOT', key)) as number;
      const slots = await cluster.cluster('SLOTS');
      return slots.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1];
    };
    for (const index of [k.activeRuns, k.timers, k.cronWorkflows]) {
      const owners = await Promise.all(allShards().map((s) => masterOf(index(s))));
      expect(new Set(owners).size).toBe(3);
    }
    expect(SHARDS).toBe(16);
  });

  it('lists a test prefix’s keys from every master', async () => {
    const app = await startTestApp();
    const ids = await Promise.all(
      Array.from({ length: 12 }, () =>
        submitSpec(
          app,
          'name: one\non: { manual: true }\njobs:\n  a: { steps: [{ uses: action:echo }] }\n',
        ),
      ),
    );
    const keys = await keysUnder(app.redis, `${app.config.keyPrefix}:*`);
    for (const id of ids) expect(keys).toContain(`${app.config.keyPrefix}:acme:{${id}}:run`);
    const shards = new Set(ids.map(shardOf));
    expect(shards.size).toBeGreaterThan(1);
    expect(await app.runs.allActive()).toHaveLength(12);
  });
});
