import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.js';
import { FlowlineError } from '../errors.js';
import { DELAY_ATTRIBUTE } from '../metrics.js';
import type { JobTask } from './message.js';

/** SQS caps a batch at ten entries and a delay at 900 s. */
const BATCH_SIZE = 10;
export const MAX_DELAY_SECONDS = 900;

export interface JobQueue {
  send(tasks: JobTask[], delaySeconds?: number): Promise<void>;
}

/**
 * The SDK's MD5 check of message bodies is off: it hashes every body of every
 * SendMessageBatch / ReceiveMessage and compares with SQS's digest, ~60–80 µs of
 * this process's event loop per batch (bench/README.md, latency.ts), on the path of
 * every job transition. It guards against corruption in transit, which TLS (every
 * call to SQS is HTTPS) already detects: a tampered or damaged record fails TLS's
 * integrity check before the SDK sees it. A body is also only a task that the claim
 * validates (message.ts, then a fenced claim of a token the run holds).
 */
export function createSqsClient(config: Pick<Config, 'region' | 'sqsEndpoint'>): SQSClient {
  // fauxqs answers with queue URLs on a host that does not resolve locally:
  // talk to the configured endpoint, not to the URL's host.
  return config.sqsEndpoint
    ? new SQSClient({
        ...ONCE_PER_CLIENT,
        region: config.region,
        endpoint: config.sqsEndpoint,
        useQueueUrlAsEndpoint: false,
      })
    : new SQSClient({ ...ONCE_PER_CLIENT, region: config.region });
}

/**
 * No MD5 check (above), and each command's middleware stack resolved once per client
 * rather than on every call: the SDK otherwise clones, sorts and composes the whole
 * stack for each SendMessageBatch, ~0.2 ms of this event loop per call (bench/README.md,
 * latency). Nothing here adds middleware after the client is built, which is when a
 * cached stack would go stale.
 */
const ONCE_PER_CLIENT = { md5: false, cacheMiddleware: true } as const;

/**
 * Priority is a queue per level, each with its own event source: a backlog of low
 * jobs never sits in front of a high one, and low keeps its own pollers, so it is
 * never starved (on AWS, `maximumConcurrency` per source sets the weights).
 */
export function createJobQueue(
  client: SQSClient,
  queueUrl: string,
  priorityUrls: { high?: string; low?: string } = {},
): JobQueue {
  const urlOf = (task: JobTask) => (task.priority && priorityUrls[task.priority]) || queueUrl;

  async function sendBatch(
    queueUrl: string,
    batch: JobTask[],
    delaySeconds: number,
    retriesLeft: number,
  ): Promise<void> {
    const out = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((task, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify(task),
          DelaySeconds: delaySeconds || undefined,
          // Queue lag (lib/metrics.ts) counts from when a delayed task was due.
          ...(delaySeconds ? { MessageAttributes: delayAttribute(delaySeconds) } : {}),
        })),
      }),
    );
    const failed = (out.Failed ?? [])
      .map((f) => batch[Number(f.Id)])
      .filter((t) => t !== undefined);
    if (failed.length === 0) return;
    if (retriesLeft > 0) return sendBatch(queueUrl, failed, delaySeconds, retriesLeft - 1);
    throw new FlowlineError('INTERNAL', `SQS refused ${failed.length} job task(s)`);
  }

  return {
    async send(tasks, delaySeconds = 0) {
      const delay = Math.min(Math.max(0, Math.ceil(delaySeconds)), MAX_DELAY_SECONDS);
      const byQueue = new Map<string, JobTask[]>();
      for (const task of tasks) {
        const url = urlOf(task);
        const list = byQueue.get(url);
        if (list) list.push(task);
        else byQueue.set(url, [task]);
      }
      const batches: [string, JobTask[]][] = [];
      for (const [url, queued] of byQueue) {
        for (let i = 0; i < queued.length; i += BATCH_SIZE)
          batches.push([url, queued.slice(i, i + BATCH_SIZE)]);
      }
      await Promise.all(batches.map(([url, b]) => sendBatch(url, b, delay, 2)));
    },
  };
}

function delayAttribute(seconds: number) {
  return { [DELAY_ATTRIBUTE]: { DataType: 'Number', StringValue: String(seconds) } };
}
