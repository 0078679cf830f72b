import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { FinishedJob } from '../lib/engine/job/deps.js';
import { executeJob } from '../lib/engine/job/execute.js';
import { log } from '../lib/log.js';
import { metrics, queueLagMs, recordJobTask } from '../lib/metrics.js';
import { coalescingQueue } from '../lib/queue/coalescing-queue.js';
import { parseJobTask } from '../lib/queue/message.js';
import { appStarter } from '../lib/start.js';
import { createStepExecutors, type StepExecutors } from '../lib/step-executors.js';

// Minutes of deadline: a Redis command may wait out a restart or failover (5 s).
const start = appStarter(process.env, { redisCommandTimeoutMs: 5_000 });
/** Answer this long before the invocation's deadline, whatever is still running. */
const GIVE_UP_BEFORE_MS = 2_000;
/** The app's Lambda and shell step executors, once per container. */
let steps: StepExecutors | undefined;

/**
 * SQS batch of job tasks. Records run concurrently (they are independent jobs);
 * a record whose job hit an infrastructure fault, or had not finished when the
 * invocation's time ran out (Redis hung), is reported in `batchItemFailures` so
 * SQS redelivers only that one; its fenced claim makes a redelivery safe. A
 * malformed body can never succeed, so it is acknowledged and logged instead of
 * looping to the DLQ. The records share their sends: the jobs they make ready go to
 * SQS together (coalescing-queue.ts), as their Redis requests share writes (ioredis
 * auto-pipelining, redis-client.ts), and their ends share one `jobs finished` line.
 */
export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>()
  .handler(async (event, context) => {
    const started = await start();
    if (!started.ok) {
      // The bad setting was logged at cold start; SQS keeps the tasks.
      return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
    }
    steps ??= createStepExecutors(started.app.config);
    // One info line for the batch's finished jobs: each line is a synchronous write.
    // A job still running when the handler answers (the deadline) logs its own.
    const finished: FinishedJob[] = [];
    let gathering = true;
    const app = {
      ...started.app,
      ...steps,
      queue: coalescingQueue(started.app.queue),
      finished: (job: FinishedJob) => {
        if (gathering) finished.push(job);
        else log.info(job, 'job finished');
      },
    };
    const receivedAt = Date.now();
    const done = new Set<string>();
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    const work = Promise.all(
      event.Records.map(async (record) => {
        const task = parseJobTask(record.body);
        if (!task) {
          log.error({ messageId: record.messageId }, 'malformed job task dropped');
        } else {
          const jobStarted = Date.now();
          try {
            await executeJob(app, task, () => context.getRemainingTimeInMillis());
            recordJobTask(Date.now() - jobStarted, queueLagMs(record, receivedAt));
          } catch (err) {
            log.error(
              { err, runId: task.runId, job: task.jobKey, messageId: record.messageId },
              'job task failed',
            );
            failures.push({ itemIdentifier: record.messageId });
          }
        }
        done.add(record.messageId);
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(
        () => resolve('deadline'),
        Math.max(0, context.getRemainingTimeInMillis() - GIVE_UP_BEFORE_MS),
      );
    });
    if ((await Promise.race([work, deadline])) === 'deadline') {
      const late = event.Records.filter((r) => !done.has(r.messageId));
      log.error({ messageIds: late.map((r) => r.messageId) }, 'job tasks unfinished at deadline');
      for (const r of late) failures.push({ itemIdentifier: r.messageId });
    }
    clearTimeout(timer);
    gathering = false;
    if (finished.length > 0) log.info({ jobs: finished }, 'jobs finished');
    return { batchItemFailures: [...failures] };
  })
  .use(logMetrics(metrics));
