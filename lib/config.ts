import {
  integer,
  list,
  oneOf,
  optional,
  positive,
  readEnv,
  text,
  url,
  urlWithScheme,
  withDefault,
} from './env-values.js';

/**
 * Environment → typed config, parsed once at cold start. `lib/` never reads
 * `process.env` itself: handlers call `loadConfig()` and pass the result in.
 * Read by the small readers of env-values.ts rather than a zod schema: every
 * function parses this at its first invocation, and zod's import is init time.
 */
const Env = {
  REDIS_URL: withDefault(
    urlWithScheme(/^rediss?:\/\//, 'must start with redis:// or rediss:// (TLS)'),
    'redis://127.0.0.1:6379',
  ),
  /** `cluster`: REDIS_URL is one node of a Redis Cluster (ElastiCache cluster mode). */
  FLOWLINE_REDIS_MODE: withDefault(oneOf(['standalone', 'cluster']), 'standalone'),
  /** Secrets Manager id of `{"username","password"}` for Redis, read at cold start. */
  FLOWLINE_REDIS_AUTH_SECRET: optional(text),
  FLOWLINE_KEY_PREFIX: withDefault(text, 'fl'),
  FLOWLINE_QUEUE_URL: url,
  /** Queues of `priority: high` / `low` jobs; without them those jobs share the execute queue. */
  FLOWLINE_QUEUE_URL_HIGH: optional(url),
  FLOWLINE_QUEUE_URL_LOW: optional(url),
  /** The execute queue's dead-letter queue, reconciled by the schedule tick. */
  FLOWLINE_DLQ_URL: optional(url),
  /** Explicit SQS endpoint (local fauxqs); on AWS the SDK default is used. */
  AWS_ENDPOINT_URL_SQS: optional(url),
  /** Explicit Lambda endpoint for `lambda:` steps (locally serverless offline's lambdaPort). */
  AWS_ENDPOINT_URL_LAMBDA: optional(url),
  /** `<service>-<stage>-` (serverless.yml): `lambda:<short name>` means this service's function. */
  FLOWLINE_LAMBDA_PREFIX: optional(text),
  /** Functions `lambda:` steps may invoke: full names or globs; empty (the default) allows none. */
  FLOWLINE_LAMBDA_ALLOW: withDefault(list, []),
  /** The runner Lambda of `shell` steps; unset: commands run in this process's sandbox. */
  FLOWLINE_RUNNER_FUNCTION: optional(text),
  /** Local sandbox only: `shared` gives commands the host's network (default: none at all). */
  FLOWLINE_RUNNER_NETWORK: withDefault(oneOf(['isolated', 'shared']), 'isolated'),
  AWS_REGION: withDefault(text, 'us-east-1'),
  FLOWLINE_SECRETS_PREFIX: withDefault(text, 'flowline/'),
  FLOWLINE_SECRETS_TTL_MS: withDefault(integer(0), 300_000),
  FLOWLINE_API_KEYS: optional(text),
  FLOWLINE_API_KEYS_SECRET: optional(text),
  FLOWLINE_CAPABILITIES: withDefault(list, ['http', 'lambda']),
  FLOWLINE_LEASE_MS: withDefault(integer(1), 60_000),
  FLOWLINE_IDEMPOTENCY_TTL_S: withDefault(integer(1), 86_400),
  /** Keep this much of the invocation's time in reserve for committing results. */
  FLOWLINE_SAFETY_MARGIN_MS: withDefault(integer(0), 5_000),
  /** A step without timeoutMs is started only with this much time left, else the job checkpoints. */
  FLOWLINE_MIN_STEP_BUDGET_MS: withDefault(integer(0), 10_000),
  /** A queued job with no claim for this long is sent again by the schedule tick. */
  FLOWLINE_REQUEUE_AFTER_MS: withDefault(integer(1), 120_000),
  /** A finished run's keys expire this long after its end (fractions allowed: benches, tests). */
  FLOWLINE_RETENTION_DAYS: withDefault(positive, 30),
  /** Per tenant: runs not yet finished; a submit past it is 429. */
  FLOWLINE_MAX_RUNS_IN_FLIGHT: withDefault(integer(1), 10_000),
  /** Per run tree: runs created by one run and all its descendants; past it a child step fails. */
  FLOWLINE_MAX_DESCENDANTS: withDefault(integer(1), 1_000),
  /** Per tenant: run starts per second (token bucket refill) and the bucket's size. */
  FLOWLINE_SUBMIT_RATE: withDefault(positive, 100),
  FLOWLINE_SUBMIT_BURST: withDefault(integer(1), 1_000),
};

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
  const parsed = readEnv(Env, present);
  if (!parsed.ok) {
    const detail = parsed.problems.map((p) => `${p.variable}: ${p.reason}`).join('; ');
    throw new ConfigError(
      [...new Set(parsed.problems.map((p) => p.variable))],
      `invalid setting ${detail}`,
    );
  }
  const e = parsed.values;
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
