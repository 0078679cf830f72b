import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { admitRun } from '../../lib/engine/run/admit.js';
import { createSecretsProvider } from '../../lib/secrets/provider.js';
import { loadSpec } from '../../lib/spec/index.js';
import { runUntilFinished, startTestApp } from '../support/engine.js';
import { type SecretsEndpoint, startSecretsEndpoint } from '../support/secrets-endpoint.js';

const TOKEN = 's3cr3t-token-value';
let endpoint: SecretsEndpoint;
let app: App;
/** A real HTTP server that echoes what it received, so a leak would come back in outputs. */
let echo: { url: string; close: () => void; seen: string[] };

beforeAll(async () => {
  endpoint = await startSecretsEndpoint({ 'flowline/acme/DEPLOY_TOKEN': TOKEN });
  app = await startTestApp();
  app.secrets = createSecretsProvider({
    client: new SecretsManagerClient({ endpoint: endpoint.endpoint, region: 'us-east-1' }),
    prefix: 'flowline/',
    ttlMs: 60_000,
  });
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ auth: req.headers.authorization, key: req.headers['idempotency-key'] }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  echo = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
    seen,
  };
});
afterAll(async () => {
  echo.close();
  await endpoint.close();
});

async function run(text: string) {
  const { summary } = await admitRun(app, {
    tenant: 'acme',
    spec: loadSpec({ text, format: 'yaml' }),
    revision: 1,
    trigger: { type: 'api' },
  });
  const status = await runUntilFinished(app, 'acme', summary.id);
  const snap = await app.runs.snapshot('acme', summary.id);
  const events = await app.runs.readEvents('acme', summary.id, undefined, 1000);
  return {
    status,
    doc: runDocument(snap as NonNullable<typeof snap>),
    raw: JSON.stringify({ snap, events }),
    id: summary.id,
  };
}

describe('secrets in steps', () => {
  it('hands a declared secret to the step and masks it everywhere it is stored', async () => {
    const { status, doc, raw, id } = await run(`
name: deploy
on: { manual: true }
jobs:
  push:
    secrets: [DEPLOY_TOKEN]
    steps:
      - id: call
        uses: http
        with: { url: "${echo.url}/deploy", headers: { Authorization: "Bearer \${{ secrets.DEPLOY_TOKEN }}" } }
    outputs: { auth: "\${{ steps.call.outputs.body.auth }}" }
`);
    expect(status).toBe('succeeded');
    expect(echo.seen).toContain(`Bearer ${TOKEN}`);
    const body = doc.jobs.push?.steps[0]?.outputs.body as { auth: string; key: string } | undefined;
    expect(body?.auth).toBe('Bearer ***');
    expect(body?.key).toBe(`${id}:push:call`);
    expect(raw).not.toContain(TOKEN);
  });

  it('fails the step with SECRET_NOT_FOUND when the secret does not exist', async () => {
    const { status, doc } = await run(`
name: missing
on: { manual: true }
jobs:
  j: { secrets: [NOPE], steps: [{ uses: action:noop }] }
`);
    expect(status).toBe('failed');
    const job = (doc.jobs as Record<string, { error: { code: string; message: string } }>).j;
    expect(job?.error).toEqual({ code: 'SECRET_NOT_FOUND', message: 'secret NOPE not found' });
  });
});
