import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../lib/api/handle.js';
import type { ApiRequest, ApiResponse } from '../../lib/api/http.js';
import type { App } from '../../lib/app.js';
import { createSecretsProvider } from '../../lib/secrets/provider.js';
import { signWebhook, signWebhookTimestamped } from '../../lib/triggers/webhook-signature.js';
import { runUntilFinished, startTestApp } from '../support/engine.js';
import { type SecretsEndpoint, startSecretsEndpoint } from '../support/secrets-endpoint.js';
import { keysUnder } from '../support/stack.js';

const SECRET = 'whsec-0123456789-very-secret';
const KEY = 'test-key-acme';
const unixNow = () => Math.floor(Date.now() / 1000);

let endpoint: SecretsEndpoint;
let app: App;
let handle: (req: ApiRequest) => Promise<ApiResponse>;

const HOOKED = `
name: hooked
on: { webhook: { secret: HOOK_SECRET } }
jobs:
  echo:
    steps:
      - id: e
        uses: action:echo
        with: { ref: "\${{ trigger.payload.ref }}", type: "\${{ trigger.type }}" }
    outputs: { ref: "\${{ steps.e.outputs.ref }}", type: "\${{ steps.e.outputs.type }}" }
outputs: { ref: "\${{ jobs.echo.outputs.ref }}" }
`;
const PLAIN =
  'name: plain\non: { manual: true }\njobs: { a: { steps: [{ uses: action:noop }] } }\n';
const UNSIGNABLE =
  'name: unsignable\non: { webhook: { secret: NOT_THERE } }\njobs: { a: { steps: [{ uses: action:noop }] } }\n';

beforeAll(async () => {
  endpoint = await startSecretsEndpoint({ 'flowline/acme/HOOK_SECRET': SECRET });
  app = await startTestApp();
  app.secrets = createSecretsProvider({
    client: new SecretsManagerClient({ endpoint: endpoint.endpoint, region: 'us-east-1' }),
    prefix: 'flowline/',
    ttlMs: 60_000,
  });
  handle = createApi(app);
  for (const [name, body] of [
    ['hooked', HOOKED],
    ['plain', PLAIN],
    ['unsignable', UNSIGNABLE],
  ] as const) {
    const res = await handle({
      method: 'PUT',
      path: `/v1/workflows/${name}`,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/yaml' },
      query: {},
      body,
    });
    expect(res.status).toBe(201);
  }
});
afterAll(async () => {
  await endpoint.close();
});

interface HookOptions {
  secret?: string | false;
  headers?: Record<string, string>;
}

/** POST a hook without a bearer key, signed with `secret` (default the right one; false: unsigned). */
function hook(path: string, body: string, opts: HookOptions = {}) {
  const secret = opts.secret ?? SECRET;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (secret !== false) headers['x-flowline-signature'] = signWebhook(secret, body);
  return handle({ method: 'POST', path, headers, query: {}, body });
}

const bodyOf = (res: ApiResponse) =>
  res.body as Record<string, unknown> & { errors: { path: string }[] };
/** Every key under this app's prefix: a refused hook must leave it unchanged. */
const keysNow = () => keysUnder(app.redis, `${app.config.keyPrefix}:*`);

describe('POST /v1/hooks/{tenant}/{name}', () => {
  it('starts a run with the body as trigger.payload, which finishes', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/main', commits: [{ id: 'abc' }] });
    const res = await hook('/v1/hooks/acme/hooked', body);
    expect(res.status).toBe(202);
    const summary = bodyOf(res) as unknown as { id: string; links: { self: string } };
    expect(summary).toMatchObject({ workflow: 'hooked', revision: 1, status: 'queued' });
    expect(res.headers?.location).toBe(summary.links.self);

    expect(await runUntilFinished(app, 'acme', summary.id)).toBe('succeeded');
    const doc = await handle({
      method: 'GET',
      path: summary.links.self,
      headers: { authorization: `Bearer ${KEY}` },
      query: {},
      body: '',
    });
    expect(bodyOf(doc)).toMatchObject({
      status: 'succeeded',
      trigger: { type: 'webhook', actor: 'webhook', payload: JSON.parse(body) },
      outputs: { ref: 'refs/heads/main' },
      jobs: { echo: { outputs: { ref: 'refs/heads/main', type: 'webhook' } } },
    });
  });

  it('never writes the secret value to Redis', async () => {
    const res = await hook('/v1/hooks/acme/hooked', '{"ref":"x"}');
    await runUntilFinished(app, 'acme', (bodyOf(res) as unknown as { id: string }).id);
    const dump: string[] = [];
    for (const key of await keysNow()) {
      const type = await app.redis.type(key);
      if (type === 'string') dump.push((await app.redis.get(key)) ?? '');
      if (type === 'hash') dump.push(JSON.stringify(await app.redis.hgetall(key)));
      if (type === 'stream') dump.push(JSON.stringify(await app.redis.xrange(key, '-', '+')));
    }
    expect(dump.length).toBeGreaterThan(0);
    expect(dump.join('\n')).not.toContain(SECRET);
  });

  it('treats a repeated delivery id as a replay of the first delivery', async () => {
    const body = '{"ref":"refs/tags/v1"}';
    const headers = { 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' };
    const first = await hook('/v1/hooks/acme/hooked', body, { headers });
    const again = await hook('/v1/hooks/acme/hooked', body, { headers });
    expect(first.status).toBe(202);
    expect(again).toMatchObject({ status: 200, headers: { 'idempotent-replayed': 'true' } });
    expect((bodyOf(again) as { id?: string }).id).toBe((bodyOf(first) as { id?: string }).id);

    const keyed = { 'idempotency-key': 'delivery-7' };
    const one = await hook('/v1/hooks/acme/hooked', body, { headers: keyed });
    const other = await hook('/v1/hooks/acme/hooked', '{"ref":"other"}', { headers: keyed });
    expect(one.status).toBe(202);
    expect(other.status).toBe(422);
  });

  it.each<[string, number, string, string, HookOptions]>([
    [
      'a wrong signature',
      401,
      '/v1/hooks/acme/hooked',
      '{"ref":"x"}',
      { secret: 'not-the-secret' },
    ],
    ['no signature header', 401, '/v1/hooks/acme/hooked', '{"ref":"x"}', { secret: false }],
    [
      'a malformed signature',
      401,
      '/v1/hooks/acme/hooked',
      '{"ref":"x"}',
      { secret: false, headers: { 'x-flowline-signature': 'sha1=deadbeef' } },
    ],
    [
      'a signature of another body',
      401,
      '/v1/hooks/acme/hooked',
      '{"ref":"x"}',
      { secret: false, headers: { 'x-flowline-signature': signWebhook(SECRET, '{"ref":"y"}') } },
    ],
    ['a secret missing from Secrets Manager', 401, '/v1/hooks/acme/unsignable', '{}', {}],
    ['an unknown workflow', 401, '/v1/hooks/acme/nope', '{"ref":"x"}', {}],
    ['a workflow without on.webhook', 401, '/v1/hooks/acme/plain', '{"ref":"x"}', {}],
    ['another tenant', 401, '/v1/hooks/globex/hooked', '{"ref":"x"}', {}],
    ['a tenant of the wrong format', 401, '/v1/hooks/Not_A%20Tenant/hooked', '{"ref":"x"}', {}],
    [
      'a timestamped signature 6 minutes old',
      401,
      '/v1/hooks/acme/hooked',
      '{"ref":"x"}',
      {
        secret: false,
        headers: {
          'x-flowline-signature': signWebhookTimestamped(SECRET, '{"ref":"x"}', unixNow() - 360),
        },
      },
    ],
    [
      'a timestamped signature 6 minutes ahead',
      401,
      '/v1/hooks/acme/hooked',
      '{"ref":"x"}',
      {
        secret: false,
        headers: {
          'x-flowline-signature': signWebhookTimestamped(SECRET, '{"ref":"x"}', unixNow() + 360),
        },
      },
    ],
    ['malformed JSON', 400, '/v1/hooks/acme/hooked', '{"ref":', {}],
    ['an empty body', 400, '/v1/hooks/acme/hooked', '', {}],
  ])('answers %s with a %i problem and writes nothing', async (_, status, path, body, opts) => {
    const before = await keysNow();
    const res = await hook(path, body, opts);
    expect(res.status).toBe(status);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
    expect(await keysNow()).toEqual(before);
  });

  it('accepts a timestamped signature within 5 minutes', async () => {
    const body = '{"ref":"stamped"}';
    const res = await hook('/v1/hooks/acme/hooked', body, {
      secret: false,
      headers: { 'x-flowline-signature': signWebhookTimestamped(SECRET, body, unixNow() - 240) },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
  });

  it('ignores a bearer key: the signature is the only credential', async () => {
    const res = await hook('/v1/hooks/acme/hooked', '{"ref":"x"}', {
      secret: false,
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(401);
  });
});
