import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSecretsProvider } from '../../lib/secrets/provider.js';
import { type SecretsEndpoint, startSecretsEndpoint } from '../support/secrets-endpoint.js';
import { failure } from '../support/steps.js';

describe('createSecretsProvider (real SDK client, local endpoint)', () => {
  let server: SecretsEndpoint;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    server = await startSecretsEndpoint();
    client = new SecretsManagerClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  beforeEach(() => {
    server.requests.length = 0;
    server.secrets.clear();
    server.secrets.set('flowline/acme/DEPLOY_TOKEN', 'tok-acme');
    server.secrets.set('flowline/acme/DB_PASSWORD', 'pw-acme');
    server.secrets.set('flowline/other/DEPLOY_TOKEN', 'tok-other');
  });

  function provider(now: () => number = Date.now, ttlMs = 60_000) {
    return createSecretsProvider({ client, prefix: 'flowline/', ttlMs, now });
  }

  it('reads <prefix><tenant>/<NAME> for each name, in parallel', async () => {
    const secrets = await provider().get('acme', ['DEPLOY_TOKEN', 'DB_PASSWORD']);
    expect(secrets).toEqual({ DEPLOY_TOKEN: 'tok-acme', DB_PASSWORD: 'pw-acme' });
    expect(server.requests.sort()).toEqual([
      'flowline/acme/DB_PASSWORD',
      'flowline/acme/DEPLOY_TOKEN',
    ]);
  });

  it('keeps tenants apart', async () => {
    const p = provider();
    expect(await p.get('acme', ['DEPLOY_TOKEN'])).toEqual({ DEPLOY_TOKEN: 'tok-acme' });
    expect(await p.get('other', ['DEPLOY_TOKEN'])).toEqual({ DEPLOY_TOKEN: 'tok-other' });
    expect(server.requests).toEqual(['flowline/acme/DEPLOY_TOKEN', 'flowline/other/DEPLOY_TOKEN']);
  });

  it('serves repeated gets from the cache', async () => {
    const p = provider();
    await p.get('acme', ['DEPLOY_TOKEN']);
    await p.get('acme', ['DEPLOY_TOKEN', 'DEPLOY_TOKEN']);
    expect(server.requests).toEqual(['flowline/acme/DEPLOY_TOKEN']);
  });

  it('shares one fetch between concurrent gets', async () => {
    const p = provider();
    await Promise.all([p.get('acme', ['DEPLOY_TOKEN']), p.get('acme', ['DEPLOY_TOKEN'])]);
    expect(server.requests).toEqual(['flowline/acme/DEPLOY_TOKEN']);
  });

  it('fetches again once the TTL has passed', async () => {
    let clock = 1_000_000;
    const p = provider(() => clock, 5_000);
    await p.get('acme', ['DEPLOY_TOKEN']);
    clock += 4_999;
    await p.get('acme', ['DEPLOY_TOKEN']);
    expect(server.requests).toHaveLength(1);
    server.secrets.set('flowline/acme/DEPLOY_TOKEN', 'tok-rotated');
    clock += 2;
    expect(await p.get('acme', ['DEPLOY_TOKEN'])).toEqual({ DEPLOY_TOKEN: 'tok-rotated' });
    expect(server.requests).toHaveLength(2);
  });

  it('fails SECRET_NOT_FOUND naming the secret, and does not cache the miss', async () => {
    const p = provider();
    const err = await failure(p.get('acme', ['DEPLOY_TOKEN', 'MISSING']));
    expect(err.code).toBe('SECRET_NOT_FOUND');
    expect(err.message).toBe('secret MISSING not found');
    expect(err.message).not.toContain('tok-acme');

    server.secrets.set('flowline/acme/MISSING', 'now-here');
    expect(await p.get('acme', ['MISSING'])).toEqual({ MISSING: 'now-here' });
  });

  it('refuses binary secrets without showing them', async () => {
    server.secrets.set('flowline/acme/CERT', new Uint8Array([1, 2, 3]));
    const err = await failure(provider().get('acme', ['CERT']));
    expect(err.code).toBe('SECRET_NOT_FOUND');
    expect(err.message).toContain('no SecretString');
  });

  it.each([
    ['acme/../other', ['DEPLOY_TOKEN']],
    ['acme', ['sub/DEPLOY_TOKEN']],
    ['', ['X']],
  ])('refuses tenant %j with names %j before any request', async (tenant, names) => {
    const err = await failure(provider().get(tenant, names));
    expect(err.code).toBe('VALIDATION');
    expect(server.requests).toEqual([]);
  });

  it('answers {} for no names without a request', async () => {
    expect(await provider().get('acme', [])).toEqual({});
    expect(server.requests).toEqual([]);
  });

  it('surfaces other failures as INTERNAL with the cause', async () => {
    const unreachable = new SecretsManagerClient({
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    try {
      const err = await failure(
        createSecretsProvider({ client: unreachable, prefix: 'flowline/', ttlMs: 1000 }).get(
          'acme',
          ['DEPLOY_TOKEN'],
        ),
      );
      expect(err.code).toBe('INTERNAL');
      expect(err.message).toBe('could not read secret DEPLOY_TOKEN');
      expect(err.cause).toBeInstanceOf(Error);
    } finally {
      unreachable.destroy();
    }
  });
});
