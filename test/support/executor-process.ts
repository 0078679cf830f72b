import { startExecutors } from '../../bench/support/executor.js';
import { closeApp, createApp } from '../../lib/app.js';
import type { Config } from '../../lib/config.js';
import { withStepExecutors } from '../../lib/step-executors.js';

/**
 * An executor in a process of its own, for tests that kill it (SIGKILL) mid-step:
 * what dies is a whole Node process with its sockets and timers, as when Lambda
 * kills an invocation, not a promise abandoned inside the test's process.
 *
 *   FLOWLINE_EXECUTOR_CONFIG='<Config JSON>' node --import tsx test/support/executor-process.ts
 *
 * It long-polls the config's queue and runs each task as the execute Lambda (and
 * test/support/engine.ts pollOnce) does: a message is deleted only when its task
 * returned, so a task that threw, or whose executor died, is delivered again.
 * Prints `ready` once its App is built; SIGTERM stops it after the current poll.
 */
const raw = process.env.FLOWLINE_EXECUTOR_CONFIG;
if (!raw) throw new Error('FLOWLINE_EXECUTOR_CONFIG (a Config as JSON) is not set');
const config = JSON.parse(raw) as Config;
const app = withStepExecutors(createApp(config));

await app.redis.ping();
const executors = startExecutors(app, app, {
  pollers: 1,
  onError: (err) => console.error('task failed; SQS will deliver it again:', err),
});
process.stdout.write('ready\n');
process.once('SIGTERM', async () => {
  await executors.stop();
  await closeApp(app);
});
