import * as z from 'zod/mini';
import './zod-messages.js';

/**
 * Environment → typed config, parsed once at cold start. `lib/` never reads
 * `process.env` itself: handlers call `loadConfig()` and pass the result in.
 * zod/mini (functional API) rather than classic zod: every function parses this at
 * its first invocation, and classic zod's import costs tens of ms of init.
 */
const csv = z.pipe(
  z.string(),
  z.transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ),
);
const url = z.url();
const text = z.string();
/** An integer from a string, at least `min`, else `fallback` when unset. */
const int = (fallback: number, min: 0 | 1) =>
  z._default(
    z.coerce.number().check(z.int(), min === 0 ? z.nonnegative() : z.positive()),
    fallback,
  );

const Env = z.object({
  REDIS_URL: z._default(
    z
      .url()
      .check(
        z.refine((u) => /^rediss?:\/\//.test(u), 'must start with redis:// or rediss:// (TLS)'),
      ),
    'redis://127.0.0.1:6379',
  ),
  /** `cluster`: REDIS_URL is one node of a Redis Cluster (ElastiCache cluster mode). */
  FLOWLINE_REDIS_MODE: z._default(z.enum(['standalone', 'cluster']), 'standalone'),
  /** Secrets Manager id of `{"username","password"}` for Redis, read at cold start. */
  FLOWLINE_REDIS_AUTH_SECRET: z.optional(text),
  FLOWLINE_KEY_PREFIX: z._default(z.string().check(z.minLength(1)), 'fl'),
  FLOWLINE_QUEUE_URL: url,
  /** Queues of `priority: high` / `low` jobs; without them those jobs share the execute queue. */
  FLOWLINE_QUEUE_URL_HIGH: z.optional(url),
  FLOWLINE_QUEUE_URL_LOW: z.optional(url),
  /** The execute queue's dead-letter queue, reconciled by the schedule tick. */
  FLOWLINE_DLQ_URL: z.optional(url),
  /** Explicit SQS endpoint (local fauxqs); on AWS the SDK default is used. */
  AWS_ENDPOINT_URL_SQS: z.optional(url),
  /** Explicit Lambda endpoint for `lambda:` steps (locally serverless offline's lambdaPort). */
  AWS_ENDPOINT_URL_LAMBDA: z.optional(url),
  /** `<service>-<stage>-` (serverless.yml): `lambda:<short name>` means this service's function. */
  FLOWLINE_LAMBDA_PREFIX: z.optional(text),
  /** Functions `lambda:` steps may invoke: full names or globs; empty (the default) allows none. */
  FLOWLINE_LAMBDA_ALLOW: z._default(csv, []),
  /** The runner Lambda of `shell` steps; unset: commands run in this process's sandbox. */
  FLOWLINE_RUNNER_FUNCTION: z.optional(text),
  /** Local sandbox only: `shared` gives commands the host's network (default: none at all). */
  FLOWLINE_RUNNER_NETWORK: z._default(z.enum(['isolated', 'shared']), 'isolated'),
  AWS_REGION: z._default(text, 'us-east-1'),
  FLOWLINE_SECRETS_PREFIX: z._default(text, 'flowline/'),
  FLOWLINE_SECRETS_TTL_MS: int(300_000, 0),
  FLOWLINE_API_KEYS: z.optional(text),
  FLOWLINE_API_KEYS_SECRET: z.optional(text),
  FLOWLINE_CAPABILITIES: z._default(csv, ['http', 'lambda']),
  FLOWLINE_LEASE_MS: int(60_000, 1),
  FLOWLINE_IDEMPOTENCY_TTL_S: int(86_400, 1),
  /** Keep this much of the invocation's time in reserve for committing results. */
  FLOWLINE_SAFETY_MARGIN_MS: int(5_000, 0),
  /** A step without timeoutMs is started only with this much time left, else the job checkpoints. */
  FLOWLINE_MIN_STEP_BUDGET_MS: int(10_000, 0),
  /** A queued job with no claim for this long is sent again by the schedule tick. */
  FLOWLINE_REQUEUE_AFTER_MS: int(120_000, 1),
  /** A finished run's keys expire this long after its end (fractions allowed: benches, tests). */
  FLOWLINE_RETENTION_DAYS: z._default(z.coerce.number().check(z.positive()), 30),
  /** Per tenant: runs not yet finished; a submit past it is 429. */
  FLOWLINE_MAX_RUNS_IN_FLIGHT: int(10_000, 1),
  /** Per run tree: runs created by one run and all its descendants; past it a child step fails. */
  FLOWLINE_MAX_DESCENDANTS: int(1_000, 1),
  /** Per tenant: run starts per second (token bucket refill) and the bucket's size. */
  FLOWLINE_SUBMIT_RATE: z._default(z.coerce.number().check(z.positive()), 100),
  FLOWLINE_SUBMIT_BURST: int(1_000, 1),
});

export interface Config {
  redisUrl: string;
  /** Optional so Config literals need not name them: standalone, no secret. */
  redisMode?: 'standalone' | 'cluster';
  redisAuthSecret?: string | undefined;
  /** Bound of one Redis command (redis-client.ts); each function picks its own (start.ts). */
  redisCommandTimeoutMs?: number;
  /** No offline queue, no resend (redis-client.ts `failFast`): the submit function's client. */
  redisFailFast?: boolean;
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
  /** Bounds (issue 9); optional so Config literals keep the defaults of `BOUNDS_DEFAULTS`. */
  retentionMs?: number;
  maxRunsInFlight?: number;
  maxDescendants?: number;
  submitRate?: number;
  submitBurst?: number;
}

/** What the bounds default to when a Config literal does not name them (same as the env defaults). */
export const BOUNDS_DEFAULTS = {
  retentionMs: 30 * 86_400_000,
  maxRunsInFlight: 10_000,
  maxDescendants: 1_000,
  submitRate: 100,
  submitBurst: 1_000,
} as const;

/** The bounds of a config, defaults filled in. */
export function boundsOf(config: Config): Required<Pick<Config, keyof typeof BOUNDS_DEFAULTS>> {
  return {
    retentionMs: config.retentionMs ?? BOUNDS_DEFAULTS.retentionMs,
    maxRunsInFlight: config.maxRunsInFlight ?? BOUNDS_DEFAULTS.maxRunsInFlight,
    maxDescendants: config.maxDescendants ?? BOUNDS_DEFAULTS.maxDescendants,
    submitRate: config.submitRate ?? BOUNDS_DEFAULTS.submitRate,
    submitBurst: config.submitBurst ?? BOUNDS_DEFAULTS.submitBurst,
  };
}

/** A setting is missing or malformed: `variables` names each one. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variables: string[],
    message: string,
  ) {
    super(message);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // serverless.yml passes unset optional variables as '' (`${env:X, ''}`): treat them as unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = Env.safeParse(present);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const detail = issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(
      [...new Set(issues.map((i) => i.path.join('.')))],
      `invalid setting ${detail}`,
    );
  }
  const e = parsed.data;
  return {
    redisUrl: e.REDIS_URL,
    redisMode: e.FLOWLINE_REDIS_MODE,
    redisAuthSecret: e.FLOWLINE_REDIS_AUTH_SECRET,
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
    retentionMs: Math.round(e.FLOWLINE_RETENTION_DAYS * 86_400_000),
    maxRunsInFlight: e.FLOWLINE_MAX_RUNS_IN_FLIGHT,
    maxDescendants: e.FLOWLINE_MAX_DESCENDANTS,
    submitRate: e.FLOWLINE_SUBMIT_RATE,
    submitBurst: e.FLOWLINE_SUBMIT_BURST,
  };
}
