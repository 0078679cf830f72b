import './support/env.js';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { closeApp, createApp } from '../lib/app.js';
import { newRunId } from '../lib/engine/run/admit.js';
import { reapRuns } from '../lib/engine/tick/reaper.js';
import { wakeDueTimers } from '../lib/engine/tick/schedule.js';
import { withStepExecutors } from '../lib/step-executors.js';
import { allShards, globalKeys, runKeys, SHARDS, shardOf } from '../lib/store/keys.js';
import { startFlowline } from './support/engines.js';
import { installClientCounter, startWindow, total } from './support/redis-meter.js';
import { diamond } from './support/shapes.js';
import { benchConfig, runMain, startLocalSqs, startRedis } from './support/stack.js';
import { fixed, table } from './support/table.js';

/**
 * The schedule tick past one key (issue 7 item 6), and the capacity of one shard.
 *
 *   node --import tsx bench/scale.ts [--timers 10000] [--active 50000] [--runs 300]
 *
 * 1. `timers` due timers, spread over the 16 timer shards: one wakeDueTimers call
 *    (the tick's timer loop) must wake them all; its time and the SQS sends.
 * 2. `active` running runs on the reaper's worklist (each a run hash and one job
 *    running on a live lease, so nothing to do but look): one reapRuns walk must
 *    cover them all; its time and the Redis requests it made.
 * 3. `runs` diamond runs (4 jobs) end to end on one redis-server, the way one
 *    shard (one cluster master) serves them: Redis CPU per run gives the runs/s a
 *    shard sustains at 100 % of its core (README capacity model).
 */

function options() {
  const { values } = parseArgs({
    options: {
      timers: { type: 'string', default: '10000' },
      active: { type: 'string', default: '50000' },
      runs: { type: 'string', default: '300' },
    },
  });
  return {
    timers: Number(values.timers),
    active: Number(values.active),
    runs: Number(values.runs),
  };
}

await runMain(async (cleanup) => {
  const opts = options();
  installClientCounter();
  const redis = await startRedis(cleanup, { appendonly: false });
  const sqs = await startLocalSqs(cleanup);
  const queueUrl = await sqs.createQueue(`scale-${randomBytes(4).toString('hex')}`);
  const app = withStepExecutors(createApp(benchConfig(redis.url, sqs, queueUrl)));
  cleanup.add('app', () => closeApp(app));
  const keys = globalKeys(app.config.keyPrefix);
  const rows: (string | number)[][] = [];

  // ── 1. Due timers ──────────────────────────────────────────────────────────
  console.error(`seeding ${opts.timers} due timers…`);
  const seed = app.redis.pipeline();
  for (let i = 0; i < opts.timers; i++) {
    const runId = newRunId();
    const task = { tenant: 'bench', runId, jobKey: 'j', attempt: 1, token: '1' };
    seed.zadd(keys.timers(shardOf(runId)), 1_000, JSON.stringify(task));
  }
  await seed.exec();
  let window = await startWindow(redis.port);
  let t0 = performance.now();
  const woken = await wakeDueTimers(app, Date.now(), Date.now() + 45_000);
  let ms = performance.now() - t0;
  let m = await window.end();
  const left = (await Promise.all(allShards().map((s) => app.redis.zcard(keys.timers(s))))).reduce(
    (a, b) => a + b,
    0,
  );
  rows.push([
    `${opts.timers} due timers, one tick`,
    `${woken} woken, ${left} left`,
    fixed(ms / 1000, 2),
    total(m.client),
  ]);

  // ── 2. The reaper over active runs ─────────────────────────────────────────
  console.error(`seeding ${opts.active} active runs…`);
  const lease = String(Date.now() + 3_600_000);
  for (let done = 0; done < opts.active; done += 5_000) {
    const batch = app.redis.pipeline();
    for (let i = done; i < Math.min(opts.active, done + 5_000); i++) {
      const runId = newRunId();
      const k = runKeys(app.config.keyPrefix, 'bench', runId);
      batch.hset(k.run, 'status', 'running');
      batch.hset(k.jobs, 'status:j', 'running', 'lease:j', lease, 'fence:j', '1', 'attempt:j', '1');
      batch.zadd(keys.activeRuns(shardOf(runId)), Date.now(), `bench/${runId}`);
    }
    await batch.exec();
  }
  window = await startWindow(redis.port);
  t0 = performance.now();
  const reaped = await reapRuns(app, Date.now());
  ms = performance.now() - t0;
  m = await window.end();
  rows.push([
    `${opts.active} active runs, one reaper walk`,
    `${reaped.runsChecked} checked, walked all: ${reaped.walkedAll}`,
    fixed(ms / 1000, 2),
    total(m.client),
  ]);

  console.log(`## Scale (${SHARDS} shards per index, one redis-server)\n`);
  console.log(table(['what', 'covered', 'seconds', 'Redis requests'], rows));

  // ── 3. Runs per second per shard ───────────────────────────────────────────
  await app.redis.flushall();
  const shape = diamond();
  const engine = await startFlowline(redis.url, sqs);
  cleanup.add('flowline engine', () => engine.close());
  await engine.run(shape, 20); // warm-up: connections open, scripts cached
  window = await startWindow(redis.port);
  t0 = performance.now();
  await engine.run(shape, opts.runs);
  ms = performance.now() - t0;
  m = await window.end();
  const cpuPerRunUs = m.cpuUs / opts.runs;
  console.log('\n## Capacity of one shard (diamond: 4 jobs per run)\n');
  console.log(
    table(
      ['runs', 'wall s', 'Redis CPU µs/run', 'Redis requests/run', 'runs/s per shard at 100 % CPU'],
      [
        [
          opts.runs,
          fixed(ms / 1000, 2),
          fixed(cpuPerRunUs, 0),
          fixed(total(m.client) / opts.runs, 1),
          fixed(1e6 / cpuPerRunUs, 0),
        ],
      ],
    ),
  );
});
