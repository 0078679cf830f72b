import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { createApp } from '../lib/app.js';
import { loadConfig } from '../lib/config.js';
import { scheduleTick } from '../lib/engine/schedule-tick.js';
import { log } from '../lib/log.js';
import { metrics } from '../lib/metrics.js';

const app = createApp(loadConfig());

/** EventBridge `rate(1 minute)`: cron fires, timers (and, later, the lease reaper). */
export const handler = middy()
  .handler(async () => {
    const report = await scheduleTick(app);
    log.info(report, 'schedule tick');
    return report;
  })
  .use(logMetrics(metrics));
