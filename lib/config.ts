import { z } from 'zod';

/**
 * Environment → typed config, parsed once at cold start. `lib/` never reads
 * `process.env` itself: handlers call `loadConfig()` and pass the result in.
 */
const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);

const Env = z.object({
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  FLOWLINE_KEY_PREFIX: z.string().min(1).default('fl'),
  FLOWLINE_QUEUE_URL: z.string().url(),
  /** Queues of `priority: high` / `low` jobs; without them those jobs share the execute queue. */
  FLOWLINE_QUEUE_URL_HIGH: z.string().url().optional(),
  FLOWLINE_QUEUE_URL_LOW: z.string().url().optional(),
  /** The execute queue's dead-letter queue, reconciled by the schedule tick. */
  FLOWLINE_DLQ_URL: z.string().url().optional(),
  /** Explicit SQS endpoint (local fauxqs); on AWS the SDK default is used. */
  AWS_ENDPOINT_URL_SQS: z.string().url().optional(),
  /** Explicit Lambda endpoint for `lambda:` steps (locally serverless offline's lambdaPort). */
  AWS_ENDPOINT_URL_LAMBDA: z.string().url().optional(),
  /** `<service>-<stage>-` (serverless.yml): `lambda:<short name>` means this service's function. */
  FLOWLINE_LAMBDA_PREFIX: z.string().optional(),
  /** Functions `lambda:` steps may invoke: full names or globs; empty (the default) allows none. */
  FLOWLINE_LAMBDA_ALLOW: csv.default([]),
  /** The runner Lambda of `shell` steps; unset: commands run in this process's sandbox. */
  FLOWLINE_RUNNER_FUNCTION: z.string().optional(),
  /** Local sandbox only: `shared` gives commands the host's network (default: none at all). */
  FLOWLINE_RUNNER_NETWORK: z.enum(['isolated', 'shared']).default('isolated'),
  AWS_REGION: z.string().default('us-east-1'),
  FLOWLINE_SECRETS_PREFIX: z.string().default('flowline/'),
  FLOWLINE_SECRETS_TTL_MS: z.coerce.number().int().nonnegative().default(300_000),
  FLOWLINE_API_KEYS: z.string().optional(),
  FLOWLINE_API_KEYS_SECRET: z.string().optional(),
  FLOWLINE_CAPABILITIES: csv.default(['http', 'lambda']),
  FLOWLINE_LEASE_MS: z.coerce.number().int().positive().default(60_000),
  FLOWLINE_IDEMPOTENCY_TTL_S: z.coerce.number().int().positive().default(86_400),
  /** Keep this much of the invocation's time in reserve for committing results. */
  FLOWLINE_SAFETY_MARGIN_MS: z.coerce.number().int().nonnegative().default(5_000),
  /** A step without timeoutMs is started only with this much time left, else the job checkpoints. */
  FLOWLINE_MIN_STEP_BUDGET_MS: z.coerce.number().int().nonnegative().default(10_000),
  /** A queued job with no claim for this long is sent again by the schedule tick. */
  FLOWLINE_REQUEUE_AFTER_MS: z.coerce.number().int().positive().default(120_000),
});

export interface Config {
  redisUrl: string;
  keyPrefix: string;
  queueUrl: string;
  /** Per-priority queues; a missing one falls back to `queueUrl`. */
  priorityQueueUrls: { high?: string; low?: string };
  dlqUrl: string | undefined;
  sqsEndpoint: string | undefined;
  /** Optional so Config literals (tests, benches) need not name them. */
  lambdaEndpoint?: string | undefined;
  lambdaPrefix?: string | undefined;
  /** Undefined (Config literals) allows no function, like an empty list. */
  lambdaAllow?: string[];
  runnerFunction?: string | undefined;
  runnerNetwork?: 'isolated' | 'shared';
  region: string;
  secretsPrefix: string;
  secretsTtlMs: number;
  apiKeys: string | undefined;
  apiKeysSecret: string | undefined;
  capabilities: string[];
  leaseMs: number;
  idempotencyTtlS: number;
  safetyMarginMs: number;
  minStepBudgetMs: number;
  requeueAfterMs: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // serverless.yml passes unset optional variables as '' (`${env:X, ''}`): treat them as unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = Env.safeParse(present);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${names}`);
  }
  const e = parsed.data;
  return {
    redisUrl: e.REDIS_URL,
    keyPrefix: e.FLOWLINE_KEY_PREFIX,
    queueUrl: e.FLOWLINE_QUEUE_URL,
    priorityQueueUrls: {
      ...(e.FLOWLINE_QUEUE_URL_HIGH ? { high: e.FLOWLINE_QUEUE_URL_HIGH } : {}),
      ...(e.FLOWLINE_QUEUE_URL_LOW ? { low: e.FLOWLINE_QUEUE_URL_LOW } : {}),
    },
    dlqUrl: e.FLOWLINE_DLQ_URL,
    sqsEndpoint: e.AWS_ENDPOINT_URL_SQS,
    lambdaEndpoint: e.AWS_ENDPOINT_URL_LAMBDA,
    lambdaPrefix: e.FLOWLINE_LAMBDA_PREFIX,
    lambdaAllow: e.FLOWLINE_LAMBDA_ALLOW,
    runnerFunction: e.FLOWLINE_RUNNER_FUNCTION,
    runnerNetwork: e.FLOWLINE_RUNNER_NETWORK,
    region: e.AWS_REGION,
    secretsPrefix: e.FLOWLINE_SECRETS_PREFIX,
    secretsTtlMs: e.FLOWLINE_SECRETS_TTL_MS,
    apiKeys: e.FLOWLINE_API_KEYS,
    apiKeysSecret: e.FLOWLINE_API_KEYS_SECRET,
    capabilities: e.FLOWLINE_CAPABILITIES,
    leaseMs: e.FLOWLINE_LEASE_MS,
    idempotencyTtlS: e.FLOWLINE_IDEMPOTENCY_TTL_S,
    safetyMarginMs: e.FLOWLINE_SAFETY_MARGIN_MS,
    minStepBudgetMs: e.FLOWLINE_MIN_STEP_BUDGET_MS,
    requeueAfterMs: e.FLOWLINE_REQUEUE_AFTER_MS,
  };
}
