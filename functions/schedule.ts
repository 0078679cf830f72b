import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { scheduleTick } from '../lib/engine/tick/schedule.js';
import { log } from '../lib/log.js';
import { metrics } from '../lib/metrics.js';
import { appStarter } from '../lib/start.js';

// Minutes of deadline: a Redis command may wait out a restart or failover (5 s).
const start = appStarter(process.env, { redisCommandTimeoutMs: 5_000 });
/** Time kept back from the invocation's deadline: the tick stops its loops before it. */
const RESERVE_MS = 5_000;

/** EventBridge `rate(1 minute)`: cron fires, timers the lease reaper, within the invocation's time. */
export const handler = middy<unknown, unknown, Error, Context>()
  .handler(async (_event, context) => {
    const started = await start();
    // A bad setting was logged at cold start (one line, no stack); nothing to do.
    if (!started.ok) return { unavailable: started.problem.variables };
    const budgetMs = Math.max(1_000, context.getRemainingTimeInMillis() - RESERVE_MS);
    const report = await scheduleTick(started.app, Date.now(), budgetMs);
    log.info(report, 'schedule tick');
    return report;
  })
  .use(logMetrics(metrics));
