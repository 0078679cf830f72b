import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { reapRuns } from '../../lib/engine/tick/reaper.js';
import { scheduleTick, wakeDueTimers } from '../../lib/engine/tick/schedule.js';
import { allShards, globalKeys, runKeys, shardOf } from '../../lib/store/keys.js';
import { registerSpec, startTestApp } from '../support/engine.js';
import { sqsClient } from '../support/stack.js';

const CRON_SPEC = `
name: nightly
on: { schedule: [{ cron: "*/2 * * * *", timezone: Europe/Berlin }] }
jobs: { a: { steps: [{ uses: action:noop }] } }
`;

describe('scheduleTick', () => {
  it('starts each cron fire once, however many ticks overlap', async () => {
    const app = await startTestApp();
    const now = Date.parse('2026-11-25T10:05:30Z');
    await registerSpec(app, CRON_SPEC, new Date(now - 60 * 60_000));
    // Fires in the 5-minute lookback (10:00:30, 10:05:30]: 10:02 and 10:04.
    const reports = await Promise.all([
      scheduleTick(app, now),
      scheduleTick(app, now),
      scheduleTick(app, now),
    ]);
    expect(reports.reduce((n, r) => n + r.cronRuns, 0)).toBe(2);
    const again = await scheduleTick(app, now + 20_000);
    expect(again.cronRuns).toBe(0);
    const ids = await app.runs.listRunIds('acme', 10);
    expect(ids).toHaveLength(2);
    const triggers = await app.runs.runFields('acme', ids, ['trigger']);
    expect(triggers.map(([t]) => JSON.parse(t as string).payload.fireTime).sort()).toEqual([
      '2026-11-25T10:02:00.000Z',
      '2026-11-25T10:04:00.000Z',
    ]);
  });

  it('never fires a time from before the workflow was registered', async () => {
    const app = await startTestApp();
    const now = Date.parse('2026-11-25T10:05:30Z');
    await registerSpec(app, CRON_SPEC, new Date(now - 30_000));
    expect((await scheduleTick(app, now)).cronRuns).toBe(0);
    expect((await scheduleTick(app, now + 60_000)).cronRuns).toBe(1);
  });

  it('sends due timers to the queue and removes them, leaving future ones', async () => {
    const app = await startTestApp();
    const key = globalKeys(app.config.keyPrefix).timers(shardOf('run_x'));
    const task = (jobKey: string) =>
      JSON.stringify({ tenant: 'acme', runId: 'run_x', jobKey, attempt: 1, token: '1' });
    await app.redis.zadd(key, 1000, task('due'), 10_000_000, task('later'));
    expect(await scheduleTick(app, 5000)).toMatchObject({ cronRuns: 0, timersWoken: 1 });
    expect(await app.redis.zrange(key, 0, -1)).toEqual([task('later')]);
    const out = await sqsClient().send(
      new ReceiveMessageCommand({
        QueueUrl: app.config.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    expect(out.Messages?.map((m) => JSON.parse(m.Body ?? '').jobKey)).toEqual(['due']);
  });
});

/** `count` run ids that all fall in `shard`. */
function idsInShard(shard: number, count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) if (shardOf(`run_${i}`) === shard) ids.push(`run_${i}`);
  return ids;
}

describe('timers past one batch', () => {
  const task = (runId: string) =>
    JSON.stringify({ tenant: 'acme', runId, jobKey: 'j', attempt: 1, token: '1' });

  it('are drained batch after batch in one tick, every shard', async () => {
    const app = await startTestApp();
    const ids = Array.from({ length: 90 }, (_, i) => `run_${i}`);
    for (const id of ids)
      await app.redis.zadd(globalKeys(app.config.keyPrefix).timers(shardOf(id)), 1000, task(id));
    // Batches of 2: every shard needs several rounds.
    expect(await wakeDueTimers(app, 5000, Date.now() + 10_000, 2)).toBe(90);
    for (const shard of allShards())
      expect(await app.redis.zcard(globalKeys(app.config.keyPrefix).timers(shard))).toBe(0);
  });

  it('stop at the end of the time budget, one batch per shard, the rest left for the next tick', async () => {
    const app = await startTestApp();
    const ids = idsInShard(3, 10);
    const key = globalKeys(app.config.keyPrefix).timers(3);
    for (const id of ids) await app.redis.zadd(key, 1000, task(id));
    expect(await wakeDueTimers(app, 5000, 0, 4)).toBe(4);
    expect(await app.redis.zcard(key)).toBe(6);
    expect(await wakeDueTimers(app, 5000, Date.now() + 10_000, 4)).toBe(6);
  });
});

describe('the reaper walk', () => {
  it('covers every active run across ticks with a cursor per shard, each once per walk', async () => {
    const app = await startTestApp();
    // Past 128 members a sorted set is scanned page by page (ZSCAN COUNT holds).
    const ids = [...idsInShard(5, 300), ...idsInShard(6, 20)];
    for (const id of ids) {
      const k = runKeys(app.config.keyPrefix, 'acme', id);
      await app.redis.hset(k.run, 'status', 'running');
      // A job, so the reaper sees a fully written run (a run without jobs is ended as half-written).
      await app.redis.hset(k.jobs, 'status:a', 'waiting');
      await app.redis.zadd(
        globalKeys(app.config.keyPrefix).activeRuns(shardOf(id)),
        1,
        `acme/${id}`,
      );
    }
    // No time budget: each shard does one page per tick.
    const first = await reapRuns(app, Date.now(), { until: 0, pageSize: 50 });
    expect(first.walkedAll).toBe(false);
    expect(first.runsChecked).toBeLessThan(ids.length);
    let checked = first.runsChecked;
    for (let tick = 0; tick < 40; tick++) {
      const next = await reapRuns(app, Date.now(), { until: 0, pageSize: 50 });
      checked += next.runsChecked;
      // Shard 6 (small) restarts its walk each tick; count shard 5's pages only.
      checked -= 20;
      if (next.walkedAll) break;
    }
    expect(checked).toBe(ids.length);
    // With time to spare one tick walks everything.
    expect(await reapRuns(app, Date.now())).toMatchObject({ runsChecked: 320, walkedAll: true });
  });
});
