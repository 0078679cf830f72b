import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from './config.js';
import { createJobQueue, createSqsClient, type JobQueue } from './queue/sqs-queue.js';
import { createSecretsProvider, type SecretsProvider } from './secrets/provider.js';
import { createSecretsClient, type SecretsClient } from './secrets/secrets-client.js';
import type { StepExecutor } from './steps/executor.js';
import type { LambdaInvoker } from './steps/lambda-client.js';
import { type ConcurrencyStore, createConcurrencyStore } from './store/concurrency-store.js';
import type { RedisAuth } from './store/redis-client.js';
import { createRunStore, type RunStore } from './store/run-store.js';
import { connectRedis, type ScriptRedis } from './store/scripts.js';
import { createWorkflowStore, type WorkflowStore } from './store/workflow-store.js';

/**
 * Everything the handlers need, built once per warm container from config.
 * Tests build the same thing against their own Redis and queue.
 */
export interface App {
  config: Config;
  redis: ScriptRedis;
  sqs: SQSClient;
  queue: JobQueue;
  runs: RunStore;
  workflows: WorkflowStore;
  concurrency: ConcurrencyStore;
  secretsClient: SecretsClient;
  secrets: SecretsProvider;
  // The step executors are set only where jobs run (step-executors.ts: the execute
  // function, tests, benches): submit and schedule run no step, and their cold start
  // does not load the runners (bench/README.md, cold start).
  /** The client of `lambda:` steps. */
  lambda?: LambdaInvoker;
  /** The executor of `lambda:` steps, over `lambda`; without one they fail INTERNAL. */
  lambdaSteps?: StepExecutor;
  /**
   * The executor of `shell` steps: the runner Lambda; without one, this process's
   * sandbox (none where a runner function is configured: action-step.ts).
   */
  shellSteps?: StepExecutor;
}

/** `redisAuth`: the credentials of `config.redisAuthSecret`, fetched by the caller (start.ts). */
export function createApp(config: Config, redisAuth?: RedisAuth): App {
  const redis = connectRedis({
    url: config.redisUrl,
    mode: config.redisMode,
    auth: redisAuth,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    failFast: config.redisFailFast,
  });
  const sqs = createSqsClient(config);
  const secretsClient = createSecretsClient(config.region);
  return {
    config,
    redis,
    sqs,
    queue: createJobQueue(sqs, config.queueUrl, config.priorityQueueUrls),
    runs: createRunStore(redis, config.keyPrefix),
    workflows: createWorkflowStore(redis, config.keyPrefix),
    concurrency: createConcurrencyStore(redis, config.keyPrefix),
    secretsClient,
    secrets: createSecretsProvider({
      client: secretsClient,
      prefix: config.secretsPrefix,
      ttlMs: config.secretsTtlMs,
    }),
  };
}

export async function closeApp(app: App): Promise<void> {
  app.sqs.destroy();
  app.secretsClient.destroy();
  app.lambda?.destroy();
  await app.redis.quit();
}
