import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAction } from '../../lib/actions/registry.js';
import type { RunDoc } from '../../lib/api/documents.js';
import { createApi } from '../../lib/api/handle.js';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { createSecretsProvider } from '../../lib/secrets/provider.js';
import { pollOnce, runUntilFinished, startTestApp, submitSpec } from '../support/engine.js';
import { type SecretsEndpoint, startSecretsEndpoint } from '../support/secrets-endpoint.js';

/**
 * What a run shows of what happened (issue 11): each failed try of a step-level retry,
 * a cancelled run's waiting steps, and the 4xx of malformed specs and misdirected approvals.
 */

const TENANT = 'acme';
const TOKEN = 'tr4ce-s3cret-value';
let endpoint: SecretsEndpoint;
let app: App;
let unregister: () => void;
const tries = new Map<string, number>();

beforeAll(async () => {
  endpoint = await startSecretsEndpoint({ 'flowline/acme/TOKEN': TOKEN });
  app = await startTestApp();
  app.secrets = createSecretsProvider({
    client: new SecretsManagerClient({ endpoint: endpoint.endpoint, region: 'us-east-1' }),
    prefix: 'flowline/',
    ttlMs: 60_000,
  });
  // Fails twice per run with an error that carries the secret, then succeeds.
  unregister = registerAction('flaky-trace', (w) => {
    const key = String(w.run);
    const n = (tries.get(key) ?? 0) + 1;
    tries.set(key, n);
    if (n <= 2) throw new Error(`503 from upstream (token ${String(w.token)})`);
    return { ok: true };
  });
});
afterAll(async () => {
  unregister();
  await endpoint.close();
});

async function doc(runId: string): Promise<RunDoc> {
  const snap = await app.runs.snapshot(TENANT, runId);
  if (!snap) throw new Error(`no run ${runId}`);
  return runDocument(snap);
}

const events = async (runId: string) =>
  (await app.runs.readEvents(TENANT, runId, undefined, 1000)).map((e) => e.fields);

function call(method: string, path: string, body: string, type = 'application/json') {
  return createApi(app)({
    method,
    path,
    headers: { authorization: 'Bearer test-key-acme', 'content-type': type },
    query: {},
    body,
  });
}

describe('step-level retries', () => {
  it('adds a masked step.retrying event per failed try and counts tries on the step', async () => {
    const id = await submitSpec(
      app,
      `
name: retry-trace
on: { manual: true }
secrets: [TOKEN]
jobs:
  j:
    steps:
      - id: call
        uses: action:flaky-trace
        retries: { max: 3, backoff: fixed, initialIntervalMs: 5 }
        with: { run: "\${{ run.id }}", token: "\${{ secrets.TOKEN }}" }
      - { id: after, uses: action:noop }
`,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const d = await doc(id);
    expect(d.jobs.j?.steps.map((s) => [s.id, s.status, s.tries])).toEqual([
      ['call', 'succeeded', 3],
      ['after', 'succeeded', 1],
    ]);
    const all = await events(id);
    const retrying = all.filter((e) => e.type === 'step.retrying');
    expect(retrying.map((e) => [e.job, e.step, JSON.parse(e.data ?? '{}')])).toEqual([
      [
        'j',
        'call',
        {
          try: 1,
          delayMs: 5,
          error: { code: 'STEP_FAILED', message: '503 from upstream (token ***)' },
        },
      ],
      ['j', 'call', expect.objectContaining({ try: 2 })],
    ]);
    // In order: started, retrying ×2, succeeded.
    expect(all.filter((e) => e.step === 'call').map((e) => e.type)).toEqual([
      'step.started',
      'step.retrying',
      'step.retrying',
      'step.succeeded',
    ]);
    expect(JSON.stringify(all)).not.toContain(TOKEN);
  });
});

describe('cancel', () => {
  it('cancels the approval step a run waits at, and a later decision is a 409', async () => {
    const id = await submitSpec(
      app,
      'name: gate-cancel\non: { manual: true }\njobs:\n  j: { steps: [{ id: gate, uses: approval }, { id: next, uses: action:noop }] }\n',
    );
    for (let i = 0; i < 100 && (await doc(id)).status !== 'waiting'; i++) await pollOnce(app, 0);
    expect((await doc(id)).jobs.j?.steps[0]?.status).toBe('waiting');

    expect((await call('POST', `/v1/runs/${id}/cancel`, '{}')).status).toBe(202);
    const d = await doc(id);
    expect(d.status).toBe('cancelled');
    expect(d.jobs.j?.steps.map((s) => [s.id, s.status])).toEqual([
      ['gate', 'cancelled'],
      ['next', 'skipped'],
    ]);
    expect(d.jobs.j?.steps[0]?.error).toMatchObject({ code: 'CANCELLED' });
    const late = await call('POST', `/v1/runs/${id}/approvals/gate`, '{"approve":true}');
    expect(late.status).toBe(409);
  });
});

describe('approvals of steps that are not approvals', () => {
  it('is 409 for a step that exists but is not an approval, 404 for no such step', async () => {
    const id = await submitSpec(
      app,
      'name: no-gate\non: { manual: true }\njobs:\n  j: { steps: [{ id: work, uses: approval }, { id: plain, uses: action:noop }] }\n',
    );
    const plain = await call('POST', `/v1/runs/${id}/approvals/plain`, '{"approve":true}');
    expect(plain.status).toBe(409);
    expect(plain.body).toMatchObject({ detail: "step 'plain' is not waiting for approval" });
    const none = await call('POST', `/v1/runs/${id}/approvals/nope`, '{"approve":true}');
    expect(none.status).toBe(404);
  });
});

describe('malformed specs', () => {
  it('answers a YAML syntax error with 400 and its line, and registers nothing', async () => {
    const yaml = 'name: broken\non: { manual: true }\njobs:\n  a: { steps: [ }\n';
    const res = await call('PUT', '/v1/workflows/broken', yaml, 'application/yaml');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      title: 'Malformed spec',
      detail: expect.stringMatching(/^invalid workflow spec \(line 4\): invalid YAML/),
      errors: expect.arrayContaining([expect.objectContaining({ path: '', line: 4 })]),
    });
    expect((await call('GET', '/v1/workflows/broken', '')).status).toBe(404);
  });

  it('keeps a schema problem a 422', async () => {
    const res = await call('PUT', '/v1/workflows/bad', 'name: bad\non: {}\njobs: {}\n', 'yaml');
    expect(res.status).toBe(422);
  });
});
