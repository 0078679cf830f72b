import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { parseJobTask, toJobTask } from '../../lib/queue/message.js';
import { toRedisAuth } from '../../lib/start.js';

/**
 * The settings, queue message and Redis secret are read by hand (no schema
 * library at init). The messages naming a bad setting are the ones the zod schema
 * gave before (checked against it case by case when it was replaced).
 */
const Q = { FLOWLINE_QUEUE_URL: 'http://127.0.0.1:1/000000000000/execute' };

function problem(env: Record<string, string>): { variables: string[]; message: string } {
  try {
    loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { variables: err.variables, message: err.message };
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig: a bad setting is named, with the reason', () => {
  const SAFE = Number.MAX_SAFE_INTEGER;
  it.each<[string, Record<string, string>, string]>([
    [
      'queue url unset',
      {},
      'FLOWLINE_QUEUE_URL: Invalid input: expected string, received undefined',
    ],
    ['queue url not a url', { FLOWLINE_QUEUE_URL: 'not a url' }, 'FLOWLINE_QUEUE_URL: Invalid URL'],
    [
      'endpoint not a url',
      { ...Q, AWS_ENDPOINT_URL_SQS: 'x y' },
      'AWS_ENDPOINT_URL_SQS: Invalid URL',
    ],
    [
      'redis without scheme',
      { ...Q, REDIS_URL: 'localhost:6379' },
      'REDIS_URL: must start with redis:// or rediss:// (TLS)',
    ],
    [
      'redis over http',
      { ...Q, REDIS_URL: 'http://127.0.0.1:6379' },
      'REDIS_URL: must start with redis:// or rediss:// (TLS)',
    ],
    [
      'redis not a url',
      { ...Q, REDIS_URL: 'not a url' },
      'REDIS_URL: Invalid URL; REDIS_URL: must start with redis:// or rediss:// (TLS)',
    ],
    [
      'redis mode',
      { ...Q, FLOWLINE_REDIS_MODE: 'clustered' },
      'FLOWLINE_REDIS_MODE: Invalid option: expected one of "standalone"|"cluster"',
    ],
    [
      'runner network',
      { ...Q, FLOWLINE_RUNNER_NETWORK: 'open' },
      'FLOWLINE_RUNNER_NETWORK: Invalid option: expected one of "isolated"|"shared"',
    ],
    [
      'lease a word',
      { ...Q, FLOWLINE_LEASE_MS: 'soon' },
      'FLOWLINE_LEASE_MS: Invalid input: expected number, received NaN',
    ],
    [
      'lease infinite',
      { ...Q, FLOWLINE_LEASE_MS: '-Infinity' },
      'FLOWLINE_LEASE_MS: Invalid input: expected number, received -Infinity',
    ],
    [
      'lease a fraction',
      { ...Q, FLOWLINE_LEASE_MS: '1.5' },
      'FLOWLINE_LEASE_MS: Invalid input: expected int, received number',
    ],
    [
      'negative fraction: only int',
      { ...Q, FLOWLINE_LEASE_MS: '-1.5' },
      'FLOWLINE_LEASE_MS: Invalid input: expected int, received number',
    ],
    [
      'lease 0',
      { ...Q, FLOWLINE_LEASE_MS: '0' },
      'FLOWLINE_LEASE_MS: Too small: expected number to be >0',
    ],
    [
      'lease blanks are 0',
      { ...Q, FLOWLINE_LEASE_MS: '  ' },
      'FLOWLINE_LEASE_MS: Too small: expected number to be >0',
    ],
    [
      'lease past safe',
      { ...Q, FLOWLINE_LEASE_MS: '1e20' },
      `FLOWLINE_LEASE_MS: Too big: expected int to be <=${SAFE}`,
    ],
    [
      'ttl below safe',
      { ...Q, FLOWLINE_SECRETS_TTL_MS: '-1e20' },
      `FLOWLINE_SECRETS_TTL_MS: Too small: expected int to be >=-${SAFE}; FLOWLINE_SECRETS_TTL_MS: Too small: expected number to be >=0`,
    ],
    [
      'ttl negative',
      { ...Q, FLOWLINE_SECRETS_TTL_MS: '-1' },
      'FLOWLINE_SECRETS_TTL_MS: Too small: expected number to be >=0',
    ],
    [
      'retention 0',
      { ...Q, FLOWLINE_RETENTION_DAYS: '0' },
      'FLOWLINE_RETENTION_DAYS: Too small: expected number to be >0',
    ],
    [
      'retention a word',
      { ...Q, FLOWLINE_RETENTION_DAYS: 'x' },
      'FLOWLINE_RETENTION_DAYS: Invalid input: expected number, received NaN',
    ],
    [
      'rate negative',
      { ...Q, FLOWLINE_SUBMIT_RATE: '-2' },
      'FLOWLINE_SUBMIT_RATE: Too small: expected number to be >0',
    ],
  ])('%s', (_, env, detail) => {
    const variable = detail.slice(0, detail.indexOf(':'));
    expect(problem(env)).toEqual({ variables: [variable], message: `invalid setting ${detail}` });
  });

  it('names every bad setting once, in the order of the settings, each reason in turn', () => {
    expect(
      problem({
        FLOWLINE_LEASE_MS: 'soon',
        FLOWLINE_REDIS_MODE: 'x',
        REDIS_URL: 'nope',
        FLOWLINE_DLQ_URL: 'nope',
      }),
    ).toEqual({
      variables: [
        'REDIS_URL',
        'FLOWLINE_REDIS_MODE',
        'FLOWLINE_QUEUE_URL',
        'FLOWLINE_DLQ_URL',
        'FLOWLINE_LEASE_MS',
      ],
      message:
        'invalid setting REDIS_URL: Invalid URL; REDIS_URL: must start with redis:// or rediss:// (TLS); ' +
        'FLOWLINE_REDIS_MODE: Invalid option: expected one of "standalone"|"cluster"; ' +
        'FLOWLINE_QUEUE_URL: Invalid input: expected string, received undefined; ' +
        'FLOWLINE_DLQ_URL: Invalid URL; FLOWLINE_LEASE_MS: Invalid input: expected number, received NaN',
    });
  });
});

describe('loadConfig: values', () => {
  it('fills the defaults; an empty variable is unset', () => {
    expect(
      loadConfig({ ...Q, FLOWLINE_KEY_PREFIX: '', FLOWLINE_LEASE_MS: '', FLOWLINE_API_KEYS: '' }),
    ).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      redisMode: 'standalone',
      redisAuthSecret: undefined,
      keyPrefix: 'fl',
      queueUrl: Q.FLOWLINE_QUEUE_URL,
      priorityQueueUrls: {},
      dlqUrl: undefined,
      sqsEndpoint: undefined,
      lambdaEndpoint: undefined,
      lambdaPrefix: undefined,
      lambdaAllow: [],
      runnerFunction: undefined,
      runnerNetwork: 'isolated',
      region: 'us-east-1',
      secretsPrefix: 'flowline/',
      secretsTtlMs: 300_000,
      apiKeys: undefined,
      apiKeysSecret: undefined,
      capabilities: ['http', 'lambda'],
      leaseMs: 60_000,
      idempotencyTtlS: 86_400,
      safetyMarginMs: 5_000,
      minStepBudgetMs: 10_000,
      requeueAfterMs: 120_000,
      retentionMs: 30 * 86_400_000,
      maxRunsInFlight: 10_000,
      maxDescendants: 1_000,
      submitRate: 100,
      submitBurst: 1_000,
    });
  });

  it('reads every setting', () => {
    const c = loadConfig({
      FLOWLINE_QUEUE_URL: '  http://x/q\t ',
      REDIS_URL: ' rediss://h:1 ',
      FLOWLINE_REDIS_MODE: 'cluster',
      FLOWLINE_REDIS_AUTH_SECRET: 's',
      FLOWLINE_KEY_PREFIX: 'p',
      FLOWLINE_QUEUE_URL_HIGH: 'http://h/high',
      FLOWLINE_QUEUE_URL_LOW: 'http://h/low',
      FLOWLINE_DLQ_URL: 'http://h/dlq',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:4566',
      AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:3002',
      FLOWLINE_LAMBDA_PREFIX: 'svc-dev-',
      FLOWLINE_LAMBDA_ALLOW: 'a, b* ,',
      FLOWLINE_RUNNER_FUNCTION: 'r',
      FLOWLINE_RUNNER_NETWORK: 'shared',
      AWS_REGION: 'eu-west-1',
      FLOWLINE_SECRETS_PREFIX: 'x/',
      FLOWLINE_SECRETS_TTL_MS: '0',
      FLOWLINE_API_KEYS: 'a:b',
      FLOWLINE_API_KEYS_SECRET: 'k',
      FLOWLINE_CAPABILITIES: ' http , ,shell ',
      FLOWLINE_LEASE_MS: '1e3',
      FLOWLINE_IDEMPOTENCY_TTL_S: '0x10',
      FLOWLINE_SAFETY_MARGIN_MS: ' 7 ',
      FLOWLINE_MIN_STEP_BUDGET_MS: '5.0',
      FLOWLINE_REQUEUE_AFTER_MS: '+9',
      FLOWLINE_RETENTION_DAYS: '0.5',
      FLOWLINE_MAX_RUNS_IN_FLIGHT: '3',
      FLOWLINE_MAX_DESCENDANTS: '4',
      FLOWLINE_SUBMIT_RATE: '0.5',
      FLOWLINE_SUBMIT_BURST: '6',
    });
    expect(c).toEqual({
      redisUrl: 'rediss://h:1',
      redisMode: 'cluster',
      redisAuthSecret: 's',
      keyPrefix: 'p',
      queueUrl: 'http://x/q',
      priorityQueueUrls: { high: 'http://h/high', low: 'http://h/low' },
      dlqUrl: 'http://h/dlq',
      sqsEndpoint: 'http://127.0.0.1:4566',
      lambdaEndpoint: 'http://127.0.0.1:3002',
      lambdaPrefix: 'svc-dev-',
      lambdaAllow: ['a', 'b*'],
      runnerFunction: 'r',
      runnerNetwork: 'shared',
      region: 'eu-west-1',
      secretsPrefix: 'x/',
      secretsTtlMs: 0,
      apiKeys: 'a:b',
      apiKeysSecret: 'k',
      capabilities: ['http', 'shell'],
      leaseMs: 1_000,
      idempotencyTtlS: 16,
      safetyMarginMs: 7,
      minStepBudgetMs: 5,
      requeueAfterMs: 9,
      retentionMs: 43_200_000,
      maxRunsInFlight: 3,
      maxDescendants: 4,
      submitRate: 0.5,
      submitBurst: 6,
    });
  });
});

describe('toJobTask', () => {
  const task = { tenant: 't', runId: 'r', jobKey: 'j', attempt: 1, token: 'k' };
  it.each<[string, unknown, unknown]>([
    ['a task', task, task],
    ['with a priority', { ...task, priority: 'high' }, { ...task, priority: 'high' }],
    ['unknown fields dropped', { ...task, extra: 1 }, task],
    ['an empty id', { ...task, runId: '' }, undefined],
    ['a missing token', { ...task, token: undefined }, undefined],
    ['a numeric id', { ...task, tenant: 7 }, undefined],
    ['attempt 0', { ...task, attempt: 0 }, undefined],
    ['attempt a fraction', { ...task, attempt: 1.5 }, undefined],
    ['attempt a string', { ...task, attempt: '1' }, undefined],
    ['an unknown priority', { ...task, priority: 'normal' }, undefined],
    ['a null priority', { ...task, priority: null }, undefined],
    ['not an object', 'task', undefined],
    ['null', null, undefined],
  ])('%s', (_, value, expected) => {
    expect(toJobTask(value)).toEqual(expected);
  });

  it('parseJobTask: a body that is not JSON is no task', () => {
    expect(parseJobTask('{')).toBeUndefined();
    expect(parseJobTask(JSON.stringify(task))).toEqual(task);
  });
});

describe('toRedisAuth', () => {
  it.each<[string, unknown, unknown]>([
    ['user and password', { username: 'u', password: 'p', x: 1 }, { username: 'u', password: 'p' }],
    ['password alone', { password: 'p' }, { password: 'p' }],
    ['empty password', { username: 'u', password: '' }, undefined],
    ['no password', { username: 'u' }, undefined],
    ['a numeric username', { username: 1, password: 'p' }, undefined],
    ['not an object', 'hunter2', undefined],
    ['null', null, undefined],
  ])('%s', (_, value, expected) => {
    expect(toRedisAuth(value)).toEqual(expected);
  });
});
