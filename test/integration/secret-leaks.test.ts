/**
 * Hostile workflows against the secrets model (issue 8, item 3): each test makes a
 * secret go where it could surface and asserts it does not — in the run document,
 * and in every key the run left in Redis, in any case and URL-encoded form.
 */
import { createHash } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunDoc } from '../../lib/api/documents.js';
import { createApi } from '../../lib/api/handle.js';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { MASK } from '../../lib/secrets/mask.js';
import { createSecretsProvider } from '../../lib/secrets/provider.js';
import {
  pollOnce,
  registerSpec,
  runUntilFinished,
  startTestApp,
  submitSpec,
} from '../support/engine.js';
import { dumpKeys } from '../support/redis-dump.js';
import { type SecretsEndpoint, startSecretsEndpoint } from '../support/secrets-endpoint.js';

const TENANT = 'acme';
const TOKEN = 'Tok3n-Value_42';
/** Upper-case: a URL host is lower-cased on its way into an error. */
const HOST = 'LeakyHost7';
/** Spaces: a URL path percent-encodes them. */
const SPACED = 'Leaky Path 9';
const ALL = [TOKEN, HOST, SPACED];

let endpoint: SecretsEndpoint;
let app: App;

beforeAll(async () => {
  endpoint = await startSecretsEndpoint({
    'flowline/acme/TOKEN': TOKEN,
    'flowline/acme/HOST': HOST,
    'flowline/acme/SPACED': SPACED,
  });
});
// An app (a key prefix) per test: the Redis scan of one test sees only its own runs.
beforeEach(async () => {
  app = await startTestApp();
  app.secrets = createSecretsProvider({
    client: new SecretsManagerClient({
      endpoint: endpoint.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    }),
    prefix: 'flowline/',
    ttlMs: 60_000,
  });
});
afterAll(async () => {
  await endpoint.close();
});

async function doc(runId: string): Promise<RunDoc> {
  const snap = await app.runs.snapshot(TENANT, runId);
  if (!snap) throw new Error(`no run ${runId}`);
  return runDocument(snap);
}

/** Nothing under the app's prefix holds a secret as is, case-folded or URL-encoded. */
async function expectNothingRawInRedis(): Promise<void> {
  const dump = (await dumpKeys(app.redis, app.config.keyPrefix)).toLowerCase();
  expect(dump.length).toBeGreaterThan(0);
  for (const value of ALL) {
    for (const form of [value, encodeURIComponent(value), value.replace(/ /g, '+')]) {
      expect(dump).not.toContain(form.toLowerCase());
    }
  }
}

const register = (text: string) => registerSpec(app, text);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('secrets in env:', () => {
  it('reach a shell step from workflow, job and step env, and are masked in its output', async () => {
    const id = await submitSpec(
      app,
      `
name: env-secrets
on: { manual: true }
secrets: [TOKEN]
env: { W: "\${{ secrets.TOKEN }}" }
jobs:
  j:
    secrets: [HOST]
    env: { J: "\${{ secrets.HOST }}" }
    steps:
      - id: sh
        uses: shell
        secrets: [SPACED]
        env: { S: "\${{ secrets.SPACED }}" }
        with:
          command: 'printf "%s|%s|%s" "$W" "$J" "$S" | sha256sum; echo "got $W $J $S"; printf %s "$W" | tr a-z A-Z'
    outputs: { w: "\${{ env.W }}", upper: "\${{ steps.sh.outputs.stdout }}" }
`,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const d = await doc(id);
    const stdout = String(d.jobs.j?.steps[0]?.outputs.stdout);
    // The step got the values themselves…
    expect(stdout).toContain(sha256(`${TOKEN}|${HOST}|${SPACED}`));
    // …and nothing stored shows them, the upper-cased one included.
    expect(stdout).toContain(`got ${MASK} ${MASK} ${MASK}\n${MASK}`);
    expect(d.jobs.j?.outputs.w).toBe(MASK);
    await expectNothingRawInRedis();
  });
});

describe('secrets in if:', () => {
  it("are read by a job's if (fetched for it) and a step's if", async () => {
    const id = await submitSpec(
      app,
      `
name: if-secrets
on: { manual: true }
secrets: [TOKEN]
jobs:
  yes: { if: "\${{ endsWith(secrets.TOKEN, '_42') }}", steps: [{ uses: action:noop }] }
  no: { if: "\${{ secrets.TOKEN == 'other' }}", steps: [{ uses: action:noop }] }
  step: { steps: [{ id: s, if: "\${{ startsWith(secrets.TOKEN, 'Tok') }}", uses: action:noop }] }
`,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const d = await doc(id);
    expect([d.jobs.yes?.status, d.jobs.no?.status, d.jobs.step?.steps[0]?.status]).toEqual([
      'succeeded',
      'skipped',
      'succeeded',
    ]);
  });
});

describe('a child run', () => {
  it('given a secret as an input: the step fails SECRET_LEAK and no child run is written', async () => {
    await register(`
name: leak-child
on: { manual: true }
inputs: { t: { type: string } }
jobs: { c: { steps: [{ uses: action:echo, with: { t: "\${{ inputs.t }}" } }] } }
`);
    const id = await submitSpec(
      app,
      `
name: leaky-parent
on: { manual: true }
secrets: [TOKEN]
jobs:
  p:
    steps:
      - id: kid
        uses: workflow:leak-child
        with: { inputs: { t: "x-\${{ secrets.TOKEN }}-y" } }
`,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    const step = (await doc(id)).jobs.p?.steps[0];
    expect(step?.status).toBe('failed');
    expect(step?.error?.code).toBe('SECRET_LEAK');
    expect(step?.outputs).toEqual({});
    expect(await app.runs.children(TENANT, id)).toEqual([]);
    await expectNothingRawInRedis();
  });

  it('gets secrets by name and fetches them itself; a name the step does not hold is refused', async () => {
    await register(`
name: named-child
on: { manual: true }
secrets: [TOKEN]
env: { T: "\${{ secrets.TOKEN }}" }
outputs: { said: "\${{ jobs.c.outputs.said }}" }
jobs:
  c:
    steps:
      - { id: sh, uses: shell, with: { command: 'printf %s "$T" | sha256sum; echo "child $T"' } }
    outputs: { said: "\${{ steps.sh.outputs.stdout }}" }
`);
    const id = await submitSpec(
      app,
      `
name: granting-parent
on: { manual: true }
secrets: [TOKEN]
jobs:
  p:
    steps:
      - { id: kid, uses: workflow:named-child, with: { secrets: [token] } }
      - { id: over, uses: workflow:named-child, continueOnError: true, with: { secrets: [HOST] } }
`,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const parent = await doc(id);
    const [kid, over] = parent.jobs.p?.steps ?? [];
    const said = String(kid?.outputs.said);
    expect(said).toContain(sha256(TOKEN));
    expect(said).toContain(`child ${MASK}`);
    expect(over?.error?.code).toBe('VALIDATION');
    expect(over?.error?.message).toMatch(/'with.secrets' names HOST, not declared/);
    // The child holds the names it was given, never a value.
    const [childId] = await app.runs.children(TENANT, id);
    const child = await doc(String(childId));
    expect(child.status).toBe('succeeded');
    expect(child.trigger).toMatchObject({ payload: { secrets: ['TOKEN'] } });
    await expectNothingRawInRedis();
  });
});

describe('waits on a secret', () => {
  it('masks a secret signal name and approver in wait records and events', async () => {
    const id = await submitSpec(
      app,
      `
name: secret-waits
on: { manual: true }
secrets: [TOKEN]
jobs:
  s: { steps: [{ id: sig, uses: signal, with: { name: "\${{ secrets.TOKEN }}", timeoutSeconds: 1 } }] }
  a: { steps: [{ id: gate, uses: approval, with: { approvers: ["\${{ secrets.TOKEN }}", ops] } }] }
`,
    );
    // Both jobs wait: their records and events are written now.
    for (let i = 0; i < 50; i++) {
      const d = await doc(id);
      if (d.jobs.s?.status === 'waiting' && d.jobs.a?.status === 'waiting') break;
      await pollOnce(app, 0);
    }
    const waiting = await doc(id);
    expect(waiting.jobs.s?.waitingFor).toMatchObject({ kind: 'signal', name: MASK });
    expect(waiting.jobs.a?.waitingFor).toMatchObject({ approvers: [MASK, 'ops'] });
    const events = await app.runs.readEvents(TENANT, id, undefined, 100);
    const types = events.map((e) => e.fields.type);
    expect(types).toEqual(expect.arrayContaining(['job.waiting', 'approval.requested']));
    await expectNothingRawInRedis();

    // The listed approver still decides; the signal nobody can name times out.
    const approve = await createApi(app)({
      method: 'POST',
      path: `/v1/runs/${id}/approvals/gate`,
      headers: { authorization: 'Bearer test-key-acme-ops' },
      query: {},
      body: '{"approve":true}',
    });
    expect(approve.status).toBe(200);
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    const done = await doc(id);
    expect(done.jobs.a?.status).toBe('succeeded');
    expect(done.jobs.s?.error).toEqual({ code: 'TIMEOUT', message: `no signal '${MASK}' in time` });
    await expectNothingRawInRedis();
  });
});

describe('a secret in an http URL', () => {
  it('is masked in the step error when the host lower-cases it and when the path encodes its spaces', async () => {
    const id = await submitSpec(
      app,
      `
name: url-secrets
on: { manual: true }
permissions: { hosts: [api.example.com, 127.0.0.1] }
secrets: [HOST, SPACED]
jobs:
  h:
    steps:
      - { id: host, uses: http, continueOnError: true, with: { url: "http://\${{ secrets.HOST }}.example.org/x" } }
      - { id: path, uses: http, continueOnError: true, with: { url: "http://127.0.0.1:1/\${{ secrets.SPACED }}?q=\${{ secrets.SPACED }}" } }
      - { id: spaced, uses: http, continueOnError: true, with: { url: "http://\${{ secrets.SPACED }}.example.org/" } }
`,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const [host, path, spaced] = (await doc(id)).jobs.h?.steps ?? [];
    expect(spaced?.status).toBe('failed');
    expect(host?.status).toBe('failed');
    expect(host?.error?.message).toContain(`${MASK}.example.org`);
    expect(path?.status).toBe('failed');
    expect(path?.error?.message).toContain(`127.0.0.1:1/${MASK}`);
    await expectNothingRawInRedis();
  });
});

describe('a secret as a concurrency group', () => {
  it('fails the job with SECRET_LEAK: a group name becomes part of Redis keys', async () => {
    const id = await submitSpec(
      app,
      `
name: secret-group
on: { manual: true }
jobs:
  c:
    secrets: [TOKEN]
    env: { G: "\${{ secrets.TOKEN }}" }
    concurrency: { group: "deploy-\${{ env.G }}" }
    steps: [{ uses: action:noop }]
`,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    expect((await doc(id)).jobs.c?.error?.code).toBe('SECRET_LEAK');
    await expectNothingRawInRedis();
  });
});
