import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.js';
import { FlowlineError } from '../errors.js';
import type { JobTask } from './message.js';

/** SQS caps a batch at ten entries and a delay at 900 s. */
const BATCH_SIZE = 10;
export const MAX_DELAY_SECONDS = 900;

export interface JobQueue {
  send(tasks: JobTask[], delaySeconds?: number): Promise<void>;
}

export function createSqsClient(config: Pick<Config, 'region' | 'sqsEndpoint'>): SQSClient {
  // fauxqs answers with queue URLs on a host that does not resolve locally:
  // talk to the configured endpoint, not to the URL's host.
  return config.sqsEndpoint
    ? new SQSClient({
        region: config.region,
        endpoint: config.sqsEndpoint,
        useQueueUrlAsEndpoint: false,
      })
    : new SQSClient({ region: config.region });
}

export function createJobQueue(client: SQSClient, queueUrl: string): JobQueue {
  async function sendBatch(
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
        })),
      }),
    );
    const failed = (out.Failed ?? [])
      .map((f) => batch[Number(f.Id)])
      .filter((t) => t !== undefined);
    if (failed.length === 0) return;
    if (retriesLeft > 0) return sendBatch(failed, delaySeconds, retriesLeft - 1);
    throw new FlowlineError('INTERNAL', `SQS refused ${failed.length} job task(s)`);
  }

  return {
    async send(tasks, delaySeconds = 0) {
      const delay = Math.min(Math.max(0, Math.ceil(delaySeconds)), MAX_DELAY_SECONDS);
      const batches: JobTask[][] = [];
      for (let i = 0; i < tasks.length; i += BATCH_SIZE)
        batches.push(tasks.slice(i, i + BATCH_SIZE));
      await Promise.all(batches.map((b) => sendBatch(b, delay, 2)));
    },
  };
}
