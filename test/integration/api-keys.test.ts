import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../lib/api/handle.js';
import type { ApiResponse } from '../../lib/api/http.js';
import type { App } from '../../lib/app.js';
import type { Config } from '../../lib/config.js';
import { startTestApp } from '../support/engine.js';
import { type SecretsEndpoint, startSecretsEndpoint } from '../support/secrets-endpoint.js';

const SECRET_ID = 'flowline/api-keys';
let endpoint: SecretsEndpoint;

beforeAll(async () => {
  endpoint = await startSecretsEndpoint();
});
afterAll(async () => {
  await endpoint.close();
});

/** An API whose key list comes from `keys` (config) and the test's Secrets Manager endpoint. */
async function apiWith(keys: Pick<Config, 'apiKeys' | 'apiKeysSecret'>) {
  const app: App = await startTestApp(keys);
  app.secretsClient = new SecretsManagerClient({
    endpoint: endpoint.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const handle = createApi(app);
  return (method: string, path: string, key?: string): Promise<ApiResponse> =>
    handle({
      method,
      path,
      headers: key ? { authorization: `Bearer ${key}` } : {},
      query: {},
      body: '',
    });
}

describe('a missing or malformed API key list', () => {
  it.each<[string, Pick<Config, 'apiKeys' | 'apiKeysSecret'>, string]>([
    ['no setting at all', { apiKeys: undefined, apiKeysSecret: undefined }, 'missing'],
    ['a secret that does not exist', { apiKeys: undefined, apiKeysSecret: 'nope' }, 'missing'],
    ['an empty list', { apiKeys: ' , ', apiKeysSecret: undefined }, 'missing'],
    [
      'a malformed FLOWLINE_API_KEYS',
      { apiKeys: 'acme:long-enough-key,acme-short', apiKeysSecret: undefined },
      'malformed: FLOWLINE_API_KEYS: entry 2 is not `tenant[/name]:key`',
    ],
  ])(
    'with %s: health is 503 and says so, requests answer 503 (never 500)',
    async (_l, keys, said) => {
      const call = await apiWith(keys);
      const health = await call('GET', '/v1/health');
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ redis: 'ok', queue: 'ok', apiKeys: said });
      for (const key of [undefined, 'long-enough-key', 'acme-short']) {
        const res = await call('GET', '/v1/workflows', key);
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({ title: 'API keys unavailable' });
        expect(JSON.stringify(res.body)).not.toContain('long-enough-key');
      }
    },
  );

  it('reads a malformed secret as malformed, and a fixed secret as ok (health 200)', async () => {
    endpoint.secrets.set(SECRET_ID, 'acme/dev:key-acme-dev-1\nacme/Bad Name:key-acme-x');
    const broken = await apiWith({ apiKeys: undefined, apiKeysSecret: SECRET_ID });
    const health = await broken('GET', '/v1/health');
    expect(health).toMatchObject({
      status: 503,
      body: {
        apiKeys: `malformed: secret ${SECRET_ID}: entry 2: the key name must match [a-z0-9][a-z0-9_-]*`,
      },
    });
    expect(JSON.stringify(health.body)).not.toContain('key-acme-x');
    expect((await broken('GET', '/v1/workflows', 'key-acme-dev-1')).status).toBe(503);

    endpoint.secrets.set(SECRET_ID, 'acme/dev:key-acme-dev-1');
    const fixed = await apiWith({ apiKeys: undefined, apiKeysSecret: SECRET_ID });
    expect(await fixed('GET', '/v1/health')).toMatchObject({
      status: 200,
      body: { apiKeys: 'ok' },
    });
    expect((await fixed('GET', '/v1/workflows', 'key-acme-dev-1')).status).toBe(200);
    expect((await fixed('GET', '/v1/workflows', 'key-acme-dev-2')).status).toBe(401);
  });

  it('says ok in health when the keys are fine', async () => {
    const call = await apiWith({ apiKeys: 'acme:long-enough-key', apiKeysSecret: undefined });
    expect(await call('GET', '/v1/health')).toMatchObject({
      status: 200,
      body: { redis: 'ok', queue: 'ok', apiKeys: 'ok' },
    });
  });
});

describe('a named key', () => {
  it('acts as its name: a run it starts records it as trigger.actor; an unnamed key as the tenant', async () => {
    const app = await startTestApp();
    const handle = createApi(app);
    const start = async (key: string) => {
      const res = await handle({
        method: 'POST',
        path: '/v1/runs',
        headers: { authorization: `Bearer ${key}` },
        query: {},
        body: JSON.stringify({
          spec: {
            name: 'who',
            on: { manual: true },
            jobs: { a: { steps: [{ uses: 'action:noop' }] } },
          },
        }),
      });
      expect(res.status).toBe(202);
      const id = (res.body as { id: string }).id;
      const [trigger] = (await app.runs.runFields('acme', [id], ['trigger']))[0] ?? [];
      return JSON.parse(trigger ?? '{}').actor;
    };
    expect(await start('test-key-acme-dev')).toBe('dev');
    expect(await start('test-key-acme')).toBe('acme');
  });
});
