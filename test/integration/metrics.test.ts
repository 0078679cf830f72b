import { readFileSync } from 'node:fs';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context, SQSEvent } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { log } from '../../lib/log.js';
import {
  createTestQueue,
  redisUrl,
  sqsClient,
  sqsEndpoint,
  uniquePrefix,
} from '../support/stack.js';

/**
 * The run/job metrics reach stdout as CloudWatch EMF, flushed by the real
 * handlers' logMetrics middleware: submit a run through the submit handler,
 * execute its task through the execute handler, and read the EMF lines.
 */
const KEY = 'metrics-test-key';
const context = { getRemainingTimeInMillis: () => 60_000, functionName: 'test' } as Context;

let submit: (e: APIGatewayProxyEventV2, c: Context) => Promise<unknown>;
let execute: (e: SQSEvent, c: Context) => Promise<unknown>;
let queueUrl: string;

beforeAll(async () => {
  ({ queueUrl } = await createTestQueue());
  // The handlers build their app from the environment at import, as on Lambda.
  Object.assign(process.env, {
    REDIS_URL: redisUrl(),
    FLOWLINE_KEY_PREFIX: uniquePrefix(),
    FLOWLINE_QUEUE_URL: queueUrl,
    AWS_ENDPOINT_URL_SQS: sqsEndpoint(),
    FLOWLINE_API_KEYS: `acme:${KEY}`,
    POWERTOOLS_SERVICE_NAME: 'flowline-test',
    POWERTOOLS_METRICS_DISABLED: 'false',
  });
  ({ handler: submit } = await import('../../functions/submit.js'));
  ({ handler: execute } = await import('../../functions/execute.js'));
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The EMF documents a call wrote to stdout. */
async function emfOf(call: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk, ...rest) => {
    const text = String(chunk);
    if (text.includes('"_aws"')) {
      lines.push(text);
      return true;
    }
    return write(chunk, ...(rest as []));
  });
  await call();
  vi.restoreAllMocks();
  return lines.flatMap((l) => l.trim().split('\n')).map((l) => JSON.parse(l));
}

function apiEvent(method: string, path: string, body: string, type: string) {
  return {
    rawPath: path,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': type },
    requestContext: { http: { method } },
    body,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

describe('run and job metrics (EMF)', () => {
  it('submit emits RunsStarted; execute emits the job task, its queue lag and the run end', async () => {
    const hello = readFileSync('examples/hello.yml', 'utf8');
    const registered = await submit(
      apiEvent('PUT', '/v1/workflows/hello', hello, 'application/yaml'),
      context,
    );
    expect(registered).toMatchObject({ statusCode: 201 });

    const started = await emfOf(() =>
      submit(apiEvent('POST', '/v1/workflows/hello/runs', '{}', 'application/json'), context),
    );
    expect(started).toHaveLength(1);
    const [doc] = started as [Record<string, unknown>];
    expect(doc).toMatchObject({ service: 'flowline-test', RunsStarted: 1 });
    expect(doc._aws).toMatchObject({
      CloudWatchMetrics: [
        {
          Namespace: 'flowline',
          Dimensions: [['service']],
          Metrics: [{ Name: 'RunsStarted', Unit: 'Count' }],
        },
      ],
    });

    const { Messages = [] } = await sqsClient().send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        WaitTimeSeconds: 2,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect(Messages).toHaveLength(1);
    const m = Messages[0] as (typeof Messages)[0] & { Attributes: Record<string, string> };
    const event = {
      Records: [
        {
          messageId: m.MessageId,
          receiptHandle: m.ReceiptHandle,
          body: m.Body,
          attributes: m.Attributes,
          messageAttributes: {},
        },
      ],
    } as unknown as SQSEvent;
    // The batch's finished jobs are one info line, not a line per job (the tests run
    // at LOG_LEVEL silent, so the logger's calls are read rather than stdout).
    const info = vi.spyOn(log, 'info');
    const executed = await emfOf(() => execute(event, context));
    const lines = info.mock.calls.filter(
      ([, msg]) => msg === 'jobs finished' || msg === 'job finished',
    );
    const task = JSON.parse(m.Body ?? '') as { runId: string; jobKey: string };
    expect(lines).toEqual([
      [
        {
          jobs: [
            {
              runId: task.runId,
              job: task.jobKey,
              attempt: 1,
              status: 'succeeded',
              runStatus: 'succeeded',
            },
          ],
        },
        'jobs finished',
      ],
    ]);
    expect(executed).toHaveLength(1);
    const [jobDoc] = executed as [Record<string, unknown>];
    expect(jobDoc).toMatchObject({ RunsSucceeded: 1 });
    expect(jobDoc.JobTaskDuration).toBeGreaterThanOrEqual(0);
    expect(jobDoc.QueueLag).toBeGreaterThanOrEqual(0);
    expect(jobDoc.QueueLag).toBeLessThan(60_000);
    const names = (
      jobDoc._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }
    ).CloudWatchMetrics[0]?.Metrics.map((x) => x.Name);
    expect(names?.sort()).toEqual(['JobTaskDuration', 'QueueLag', 'RunsSucceeded']);
  });
});
