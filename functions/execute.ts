import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createApp } from '../lib/app.js';
import { loadConfig } from '../lib/config.js';
import { executeJob } from '../lib/engine/execute-job.js';
import { log } from '../lib/log.js';
import { metrics, queueLagMs, recordJobTask } from '../lib/metrics.js';
import { parseJobTask } from '../lib/queue/message.js';

const app = createApp(loadConfig());

/**
 * SQS batch of job tasks. Records run concurrently (they are independent jobs);
 * a record whose job hit an infrastructure fault is reported in
 * `batchItemFailures` so SQS redelivers only that one. A malformed body can
 * never succeed, so it is acknowledged and logged instead of looping to the DLQ.
 */
export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>()
  .handler(async (event, context) => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    const receivedAt = Date.now();
    await Promise.all(
      event.Records.map(async (record) => {
        const task = parseJobTask(record.body);
        if (!task) {
          log.error({ messageId: record.messageId }, 'malformed job task dropped');
          return;
        }
        const started = Date.now();
        try {
          await executeJob(app, task, () => context.getRemainingTimeInMillis());
          recordJobTask(Date.now() - started, queueLagMs(record, receivedAt));
        } catch (err) {
          log.error(
            { err, runId: task.runId, job: task.jobKey, messageId: record.messageId },
            'job task failed',
          );
          failures.push({ itemIdentifier: record.messageId });
        }
      }),
    );
    return { batchItemFailures: failures };
  })
  .use(logMetrics(metrics));
