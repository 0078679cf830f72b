import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type SecretsEndpoint, startSecretsEndpoint } from '../support/secrets-endpoint.js';
import {
  createTestQueue,
  newRedis,
  redisUrl,
  sqsEndpoint,
  uniquePrefix,
} from '../support/stack.js';

/**
 * A missing or malformed setting at cold start (SPEC "Bad input" of the deploy
 * issue): one log line naming the variable, and every answer, health included, a
 * 503 naming it. Never a stack trace, a throw at import, or a hang. Through the
 * submit function's handler, in-process, with a fresh module per environment.
 */

let secrets: SecretsEndpoint;
let queueUrl: string;
const saved = { ...process.env };

beforeAll(async () => {
  secrets = await startSecretsEndpoint();
  ({ queueUrl } = await createTestQueue());
});
afterAll(async () => {
  await secrets.close();
});
afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
});

const GOOD = () => ({
  REDIS_URL: redisUrl(),
  FLOWLINE_QUEUE_URL: queueUrl,
  AWS_ENDPOINT_URL_SQS: sqsEndpoint(),
  AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  FLOWLINE_KEY_PREFIX: uniquePrefix(),
  FLOWLINE_API_KEYS: 'acme:test-key-acme',
});

/** The submit handler of a container started with `env`; its answer to GET /v1/health. */
async function healthWith(env: Record<string, string | undefined>) {
  process.env = { ...saved, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  vi.resetModules();
  const { handler } = await import('../../functions/submit.js');
  // The logger instance of this fresh module graph.
  const { log } = await import('../../lib/log.js');
  const errors: unknown[][] = [];
  vi.spyOn(log, 'error').mockImplementation(((...args: unknown[]) => {
    errors.push(args);
  }) as typeof log.error);
  const event = {
    rawPath: '/v1/health',
    requestContext: { http: { method: 'GET' } },
    headers: {},
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
  const t0 = Date.now();
  const res = (await handler(event, {} as never)) as APIGatewayProxyStructuredResultV2;
  const again = (await handler(event, {} as never)) as APIGatewayProxyStructuredResultV2;
  return {
    status: res.statusCode,
    body: JSON.parse(String(res.body)) as Record<string, unknown>,
    againStatus: again.statusCode,
    ms: Date.now() - t0,
    errors,
  };
}

describe('a bad setting at cold start', () => {
  it.each([
    ['FLOWLINE_QUEUE_URL', { FLOWLINE_QUEUE_URL: undefined }],
    ['REDIS_URL', { REDIS_URL: 'localhost:6379' }],
    ['REDIS_URL', { REDIS_URL: 'http://127.0.0.1:6379' }],
    ['FLOWLINE_REDIS_MODE', { FLOWLINE_REDIS_MODE: 'clustered' }],
    ['FLOWLINE_LEASE_MS', { FLOWLINE_LEASE_MS: 'soon' }],
  ])('%s (%o): health is a 503 naming it, logged once', async (variable, bad) => {
    const out = await healthWith({ ...GOOD(), ...bad });
    expect(out.status).toBe(503);
    expect(out.againStatus).toBe(503);
    expect(out.body).toMatchObject({ status: 503, settings: [variable] });
    expect(String(out.body.detail)).toContain(variable);
    expect(JSON.stringify(out.body)).not.toMatch(/\bat .+\.ts:\d+/);
    // One line at cold start, none per request.
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]?.[1]).toContain(variable);
  });

  it('FLOWLINE_REDIS_AUTH_SECRET that is not {"username","password"}: 503 naming it, value never shown', async () => {
    secrets.secrets.set('redis-auth-bad', 'password=hunter2');
    const out = await healthWith({ ...GOOD(), FLOWLINE_REDIS_AUTH_SECRET: 'redis-auth-bad' });
    expect(out.status).toBe(503);
    expect(out.body).toMatchObject({ settings: ['FLOWLINE_REDIS_AUTH_SECRET'] });
    expect(JSON.stringify(out.body)).not.toContain('hunter2');
    expect(JSON.stringify(out.errors)).not.toContain('hunter2');
  });

  it('FLOWLINE_REDIS_AUTH_SECRET naming no secret: 503 naming it', async () => {
    const out = await healthWith({ ...GOOD(), FLOWLINE_REDIS_AUTH_SECRET: 'no-such-secret' });
    expect(out.status).toBe(503);
    expect(out.body).toMatchObject({ settings: ['FLOWLINE_REDIS_AUTH_SECRET'] });
  });
});

describe('Redis credentials from Secrets Manager', () => {
  it('are used for the connection: health is 200 as an ACL user with only those credentials', async () => {
    const user = `u${uniquePrefix()}`;
    const admin = newRedis();
    await admin.call('ACL', 'SETUSER', user, 'on', '>s3cret-pw', '~*', '&*', '+@all');
    try {
      secrets.secrets.set('redis-auth', JSON.stringify({ username: user, password: 's3cret-pw' }));
      const out = await healthWith({ ...GOOD(), FLOWLINE_REDIS_AUTH_SECRET: 'redis-auth' });
      expect(out.body).toEqual({ redis: 'ok', queue: 'ok', apiKeys: 'ok' });
      expect(out.status).toBe(200);
      secrets.secrets.set('redis-auth', JSON.stringify({ username: user, password: 'wrong' }));
      const wrong = await healthWith({ ...GOOD(), FLOWLINE_REDIS_AUTH_SECRET: 'redis-auth' });
      expect(wrong.body).toMatchObject({ redis: 'down' });
      expect(wrong.ms).toBeLessThan(6_000);
    } finally {
      await admin.call('ACL', 'DELUSER', user);
    }
  });
});
