import './env.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { registerAction } from '../../lib/actions/registry.js';
import { closeApp, createApp } from '../../lib/app.js';
import type { Config } from '../../lib/config.js';
import { withStepExecutors } from '../../lib/step-executors.js';
import { startExecutors } from './executor.js';
import { enterStep, SOAK_KEYS, withProbe } from './soak-probe.js';

/**
 * One soak executor process (bench/soak.ts starts several and SIGKILLs them at
 * random). It acts as the execute Lambda: `SOAK_POLLERS` loops, each long-polling
 * for up to ten tasks and running them at once; a message is deleted only when its
 * task returned. A fraction `SOAK_DUP_RATE` of the tasks it sends goes out twice.
 *
 * Env: SOAK_CONFIG (Config JSON), SOAK_WORKER_ID, SOAK_POLLERS, SOAK_DUP_RATE.
 */
const config = JSON.parse(process.env.SOAK_CONFIG ?? '') as Config;
const workerId = process.env.SOAK_WORKER_ID ?? 'w?';
const pollers = Number(process.env.SOAK_POLLERS ?? 2);
const dupRate = Number(process.env.SOAK_DUP_RATE ?? 0);

const app = withStepExecutors(createApp(config));
const probe = withProbe(new Redis(config.redisUrl, { maxRetriesPerRequest: null }));
const send = app.queue.send.bind(app.queue);
app.queue.send = async (tasks, delay) => {
  const out = tasks.flatMap((t) => (Math.random() < dupRate ? [t, t] : [t]));
  if (out.length > tasks.length)
    await probe.hincrby(SOAK_KEYS.stats, 'duplicated', out.length - tasks.length);
  await send(out, delay);
};
let entries = 0;
registerAction('soak-probe', async (w, ctx) => {
  const leave = await enterStep(probe, ctx.idempotencyKey, `${workerId}/${entries++}`);
  try {
    await sleep(Number(w.ms ?? 0), undefined, { signal: ctx.signal });
  } finally {
    await leave();
  }
  return { by: workerId };
});

// A worker started while Redis restarts waits for it (the command timeout would fail
// the ping, and the process would exit unasked).
for (;;) {
  const up = await Promise.all([app.redis.ping(), probe.ping()]).catch(() => undefined);
  if (up) break;
  await sleep(100);
}
const executors = startExecutors(app, app, {
  pollers,
  onError: (err) => console.error(`${workerId}: task failed, SQS will deliver it again:`, err),
});
process.stdout.write('ready\n');
process.once('SIGTERM', async () => {
  await executors.stop();
  await closeApp(app);
  probe.disconnect();
});
