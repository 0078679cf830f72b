import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  createTestQueue,
  newRedis,
  redisUrl,
  sqsClient,
  testConfig,
  uniquePrefix,
} from '../support/stack.js';

describe('test harness', () => {
  it('serves a private Redis that answers PING', async () => {
    const redis = newRedis();
    expect(await redis.ping()).toBe('PONG');
    const key = `${uniquePrefix()}:probe`;
    await redis.set(key, 'v', 'PX', 10_000);
    expect(await redis.get(key)).toBe('v');
  });

  it('runs Redis with the append-only file on', async () => {
    const [, value] = (await newRedis().config('GET', 'appendonly')) as [string, string];
    expect(value).toBe('yes');
  });

  it('sends and receives through the real SQS client', async () => {
    const { queueUrl } = await createTestQueue();
    const sqs = sqsClient();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"n":1}' }));
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect(Messages).toHaveLength(1);
    expect(Messages[0]?.Body).toBe('{"n":1}');
    expect(Messages[0]?.Attributes?.ApproximateReceiveCount).toBe('1');
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: Messages[0]?.ReceiptHandle }),
    );
  });

  it('moves a message to the dead-letter queue after maxReceiveCount', async () => {
    const { queueUrl, dlqUrl } = await createTestQueue({
      visibilityTimeout: 0,
      maxReceiveCount: 2,
    });
    const sqs = sqsClient();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'poison' }));
    for (let i = 0; i < 3; i++) {
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
    }
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: dlqUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    expect(out.Attributes?.ApproximateNumberOfMessages).toBe('1');
  });

  it('builds a config on the test servers with a unique key prefix', () => {
    const a = testConfig();
    const b = testConfig({ leaseMs: 1_000 });
    expect(a.redisUrl).toBe(redisUrl());
    expect(a.keyPrefix).not.toBe(b.keyPrefix);
    expect(b.leaseMs).toBe(1_000);
  });
});
