import { randomBytes } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, inject } from 'vitest';
import type { Config } from '../../lib/config.js';
import { createRedisClient, type RedisClient, scanKeys } from '../../lib/store/redis-client.js';

/**
 * What integration tests need of the test run's Redis and local SQS (started
 * once by global-setup.ts). Clients made here are closed after the test file.
 * Isolation is by name, not by flushing: each test takes a uniquePrefix() and
 * its own queues, so test files can run in parallel against the same servers.
 */

const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const redisClients = new Set<RedisClient>();
let sqs: SQSClient | undefined;

afterAll(async () => {
  const clients = [...redisClients];
  redisClients.clear();
  await Promise.allSettled(clients.map((c) => c.quit()));
  for (const c of clients) c.disconnect();
  sqs?.destroy();
  sqs = undefined;
});

/** The test run's private Redis, e.g. `redis://127.0.0.1:41234`. */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** The test run's local SQS endpoint (fauxqs), e.g. `http://127.0.0.1:41235`. */
export function sqsEndpoint(): string {
  return inject('sqsEndpoint');
}

/** `standalone`, or `cluster` in the cluster project (vitest.config.ts): a 3-master cluster. */
export function redisMode(): 'standalone' | 'cluster' {
  return inject('redisMode');
}

/** A new client on the test Redis (a Cluster client in the cluster project), quit after the file. */
export function newRedis(): RedisClient {
  // A test's own client may block (BLPOP) as long as a test may run.
  const client = createRedisClient({
    url: redisUrl(),
    mode: redisMode(),
    commandTimeoutMs: 20_000,
  });
  redisClients.add(client);
  return client;
}

/** The keys under a test's prefix, on every node: `<prefix>:*`, sorted. */
export async function keysUnder(redis: RedisClient, pattern: string): Promise<string[]> {
  return (await scanKeys(redis, pattern)).sort();
}

/** A key prefix no other test uses: `t<12 hex>` (no `{` `}` `:`, safe inside keys). */
export function uniquePrefix(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

/** The SDK v3 client for the local SQS, shared within the test file. */
export function sqsClient(): SQSClient {
  sqs ??= new SQSClient({
    endpoint: sqsEndpoint(),
    region: inject('region'),
    credentials: LOCAL_CREDENTIALS,
    // fauxqs' queue URLs name `sqs.<region>.localhost`, which need not resolve.
    useQueueUrlAsEndpoint: false,
  });
  return sqs;
}

export interface TestQueue {
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
}

/**
 * A fresh queue with its own dead-letter queue, through the real SDK.
 * Defaults: visibility 30 s (SQS's), maxReceiveCount 5 (as ExecuteQueue).
 */
export async function createTestQueue(
  opts: { visibilityTimeout?: number; maxReceiveCount?: number } = {},
): Promise<TestQueue> {
  const client = sqsClient();
  const name = uniquePrefix();
  const dlq = await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqUrl = dlq.QueueUrl as string;
  const dlqArn = await queueArn(dlqUrl);
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(opts.visibilityTimeout ?? 30),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: opts.maxReceiveCount ?? 5,
        }),
      },
    }),
  );
  const queueUrl = queue.QueueUrl as string;
  return { queueUrl, queueArn: await queueArn(queueUrl), dlqUrl, dlqArn };
}

async function queueArn(url: string): Promise<string> {
  const out = await sqsClient().send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return out.Attributes?.QueueArn as string;
}

/** Identities with a key of tenant acme in testConfig: `acme/<name>:test-key-acme-<name>`. */
export const ACME_IDENTITIES = ['alice', 'bob', 'carol', 'ops', 'dev', 'release-manager'];
const NAMED_KEYS = ACME_IDENTITIES.map((name) => `acme/${name}:test-key-acme-${name}`);

/**
 * A Config (lib/config.ts) for the test Redis and SQS with a unique key prefix.
 * Pass `queueUrl` from createTestQueue() for anything that sends; without it
 * the URL names a queue that does not exist, so a send fails loudly.
 */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    redisUrl: redisUrl(),
    redisMode: redisMode(),
    keyPrefix: uniquePrefix(),
    queueUrl: `${sqsEndpoint()}/000000000000/no-queue-given-to-testConfig`,
    priorityQueueUrls: {},
    dlqUrl: undefined,
    sqsEndpoint: sqsEndpoint(),
    region: inject('region'),
    secretsPrefix: 'flowline/',
    secretsTtlMs: 300_000,
    // Named keys of acme (`tenant/name:key`): each acts as its name, e.g. in approvals.
    apiKeys: ['acme:test-key-acme', 'globex:test-key-globex', ...NAMED_KEYS].join(','),
    apiKeysSecret: undefined,
    capabilities: ['shell', 'http', 'private-network', 'lambda'],
    leaseMs: 60_000,
    idempotencyTtlS: 86_400,
    safetyMarginMs: 5_000,
    minStepBudgetMs: 10_000,
    requeueAfterMs: 120_000,
    ...overrides,
  };
}
