import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDoc } from '../../lib/api/documents.js';
import { createApi } from '../../lib/api/handle.js';
import type { ApiRequest, ApiResponse } from '../../lib/api/http.js';
import { WEBHOOK_REFUSAL_MS } from '../../lib/api/webhooks.js';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { executeJob } from '../../lib/engine/job/execute.js';
import { createSecretsProvider } from '../../lib/secrets/provider.js';
import { createHttpExecutor } from '../../lib/steps/http.js';
import { signWebhook, signWebhookTimestamped } from '../../lib/triggers/webhook-signature.js';
import { currentTask, runUntilFinished, startTestApp, submitSpec } from '../support/engine.js';
import { spawnExecutor, waitFor } from '../support/faults.js';
import { type SecretsEndpoint, startSecretsEndpoint } from '../support/secrets-endpoint.js';
import { createTestQueue, testConfig, uniquePrefix } from '../support/stack.js';
import { failure, stepRequest } from '../support/steps.js';

/**
 * Issue 8: each class of hostile workflow, performed against the real pieces (an
 * engine process, the test Redis and SQS, local HTTP servers), and blocked.
 */
const TENANT = 'acme';

async function documentOf(app: App, runId: string): Promise<RunDoc> {
  const snap = await app.runs.snapshot(TENANT, runId);
  if (!snap) throw new Error(`run ${runId} vanished`);
  return runDocument(snap);
}

describe('a shell step reading the environment of the engine and of every process', () => {
  it('finds no key, Redis URL or AWS secret: it runs in the runner sandbox', async () => {
    const { queueUrl } = await createTestQueue();
    const apiKey = `attack-key-${uniquePrefix()}`;
    const awsSecret = `aws-secret-${uniquePrefix()}`;
    const config = testConfig({ queueUrl, apiKeys: `acme:${apiKey}` });
    const engine = await spawnExecutor(config, 30_000, {
      FLOWLINE_API_KEYS: `acme:${apiKey}`,
      REDIS_URL: config.redisUrl,
      AWS_SECRET_ACCESS_KEY: awsSecret,
    });
    // The control: all of it is in the engine's environment, to be stolen.
    const environ = await readFile(`/proc/${engine.child.pid}/environ`, 'utf8');
    for (const secret of [apiKey, config.redisUrl, awsSecret]) expect(environ).toContain(secret);

    const app = await startTestApp({ queueUrl, keyPrefix: config.keyPrefix });
    const id = await submitSpec(
      app,
      `
name: steal
on: { manual: true }
jobs:
  steal:
    steps:
      - id: sh
        uses: shell
        with:
          command: |
            tr '\\0' '\\n' </proc/$PPID/environ
            for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' <"$f"; done
            ps -eo pid,args 2>&1
            echo probe-done
`,
    );
    const status = await waitFor(
      'the engine process to end the run',
      async () => {
        const [s] = (await app.runs.runFields(TENANT, [id], ['status']))[0] ?? [];
        return s === 'succeeded' || s === 'failed' ? s : undefined;
      },
      20_000,
    );
    await engine.kill('SIGTERM');
    const step = (await documentOf(app, id)).jobs.steal?.steps[0];
    expect(status, JSON.stringify(step)).toBe('succeeded');
    const { stdout, stderr } = (step?.outputs ?? {}) as { stdout: string; stderr: string };
    expect(stdout).toContain('probe-done');
    for (const secret of [apiKey, config.redisUrl, awsSecret, 'FLOWLINE_EXECUTOR_CONFIG']) {
      expect(stdout).not.toContain(secret);
      expect(stderr).not.toContain(secret);
    }
  }, 60_000);
});

/** A Lambda Invoke endpoint that records every call and answers as `echo`. */
function invokeEndpoint() {
  const calls: string[] = [];
  let url = '';
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    for await (const _ of req) {
      // drain
    }
    calls.push(decodeURIComponent(/functions\/([^/]+)\//.exec(req.url ?? '')?.[1] ?? ''));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  return {
    calls,
    url: () => url,
    start: () =>
      new Promise<void>((resolve) =>
        server.listen(0, '127.0.0.1', () => {
          url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
          resolve();
        }),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('lambda: steps aimed at flowline’s own functions or at any function', () => {
  const lambda = invokeEndpoint();
  let app: App;
  beforeAll(async () => {
    await lambda.start();
    app = await startTestApp({
      lambdaEndpoint: lambda.url(),
      lambdaPrefix: 'flowline-test-',
      lambdaAllow: ['flowline-test-echo'],
    });
  });
  afterAll(() => lambda.stop());

  const HOSTILE = `
name: hostile-lambda
on: { manual: true }
jobs:
  execute: { steps: [{ uses: lambda:execute, with: { payload: { Records: [] } } }] }
  schedule: { steps: [{ uses: lambda:schedule }] }
  runner: { steps: [{ uses: lambda:flowline-test-runner, with: { payload: { command: id } } }] }
  anywhere: { steps: [{ uses: "lambda:arn:aws:lambda:us-east-1:123456789012:function:billing" }] }
  allowed: { steps: [{ uses: lambda:echo }] }
`;

  it('refuses the spec at registration with the path of each denied step (422)', async () => {
    const res = await createApi(app)({
      method: 'PUT',
      path: '/v1/workflows/hostile-lambda',
      headers: { authorization: 'Bearer test-key-acme', 'content-type': 'application/yaml' },
      query: {},
      body: HOSTILE,
    });
    expect(res.status).toBe(422);
    const paths = (res.body as { errors: { path: string }[] }).errors.map((e) => e.path);
    expect(paths).toEqual([
      'jobs.execute.steps[0].uses',
      'jobs.schedule.steps[0].uses',
      'jobs.runner.steps[0].uses',
      'jobs.anywhere.steps[0].uses',
    ]);
    expect(await app.workflows.latest(TENANT, 'hostile-lambda')).toBeUndefined();
  });

  it('fails each denied step CAPABILITY_DENIED at run time without invoking anything', async () => {
    // Admitted directly, as a spec stored before the allow list changed would run.
    const id = await submitSpec(app, HOSTILE);
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    const jobs = (await documentOf(app, id)).jobs;
    for (const job of ['execute', 'schedule', 'runner', 'anywhere']) {
      expect(jobs[job]?.steps[0]?.error?.code, job).toBe('CAPABILITY_DENIED');
    }
    expect(jobs.allowed?.status).toBe('succeeded');
    expect(lambda.calls).toEqual(['flowline-test-echo']);
  });
});

describe('a job task forged into the queue', () => {
  it('is dropped: its guessed dispatch token claims nothing', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      'name: target\non: { manual: true }\njobs:\n  j: { steps: [{ id: s, uses: action:echo, with: { x: 1 } }] }\n',
    );
    const real = await currentTask(app, TENANT, id, 'j');
    const guesses = ['1', '2', '0', String(Date.now()), real.token.slice(0, 31)];
    for (const token of guesses) {
      await executeJob(app, { ...real, token }, () => 60_000);
    }
    const events = await app.runs.readEvents(TENANT, id, undefined, 100);
    expect(events.map((e) => e.fields.type)).not.toContain('job.started');
    expect((await documentOf(app, id)).jobs.j?.status).toBe('queued');

    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const after = await app.runs.readEvents(TENANT, id, undefined, 100);
    expect(after.filter((e) => e.fields.type === 'step.started')).toHaveLength(1);
  });
});

/** A local HTTP server that records the headers of every request it gets. */
async function recordingServer(answer: (path: string, res: ServerResponse) => void) {
  const seen: { path: string; headers: IncomingMessage['headers'] }[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    answer(req.url ?? '', res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    seen,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('an http step redirected to another origin', () => {
  it('sends none of the headers the step set there, only flowline’s own', async () => {
    const other = await recordingServer((_, res) => res.end('{}'));
    const first = await recordingServer((_, res) => {
      res.writeHead(307, { location: `${other.url}/collect` });
      res.end();
    });
    try {
      const app = await startTestApp();
      const id = await submitSpec(
        app,
        `
name: leak
on: { manual: true }
jobs:
  call:
    steps:
      - uses: http
        with:
          url: ${first.url}/start
          method: POST
          body: { a: 1 }
          headers: { X-Api-Key: key-123, Authorization: Bearer tok-456, Cookie: c=789, X-Trace: t }
`,
      );
      expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
      expect(first.seen[0]?.headers['x-api-key']).toBe('key-123');
      const leaked = other.seen[0]?.headers ?? {};
      for (const name of ['x-api-key', 'authorization', 'cookie', 'x-trace']) {
        expect(leaked[name], name).toBeUndefined();
      }
      expect(JSON.stringify(leaked)).not.toMatch(/key-123|tok-456|c=789/);
      expect(leaked['idempotency-key']).toBe(`${id}:call:s0`);
    } finally {
      await Promise.all([first.close(), other.close()]);
    }
  });
});

describe('an http step whose DNS answer changes after the check (rebinding)', () => {
  it('connects to the address that passed the check, never to loopback', async () => {
    const loopback = await recordingServer((_, res) => res.end('{"reached":"loopback"}'));
    const answers: string[][] = [];
    // A public answer for the check, loopback for any later lookup (the connect's).
    const flipping = async (host: string) => {
      const answer = answers.length === 0 ? ['203.0.113.7'] : ['127.0.0.1'];
      answers.push(answer);
      expect(host).toBe('localhost');
      return answer;
    };
    try {
      const err = await failure(
        createHttpExecutor({ lookup: flipping }).run(
          stepRequest({
            uses: 'http',
            with: { url: `http://localhost:${loopback.port}/metadata`, timeoutMs: 2000 },
            capabilities: new Set(['http']),
          }),
        ),
      );
      expect(['STEP_FAILED', 'TIMEOUT']).toContain(err.code);
      expect(answers).toEqual([['203.0.113.7']]);
      expect(loopback.seen).toEqual([]);
    } finally {
      await loopback.close();
    }
  });
});

describe('probing webhook names without the secret', () => {
  const SECRET = 'whsec-probe-0123456789';
  let endpoint: SecretsEndpoint;
  let handle: (req: ApiRequest) => Promise<ApiResponse>;
  beforeAll(async () => {
    endpoint = await startSecretsEndpoint({ 'flowline/acme/PROBE_SECRET': SECRET });
    const app = await startTestApp();
    app.secrets = createSecretsProvider({
      client: new SecretsManagerClient({ endpoint: endpoint.endpoint, region: 'us-east-1' }),
      prefix: 'flowline/',
      ttlMs: 60_000,
    });
    handle = createApi(app);
    const put = await handle({
      method: 'PUT',
      path: '/v1/workflows/deploy-hook',
      headers: { authorization: 'Bearer test-key-acme', 'content-type': 'application/yaml' },
      query: {},
      body: 'name: deploy-hook\non: { webhook: { secret: PROBE_SECRET } }\njobs: { a: { steps: [{ uses: action:noop }] } }\n',
    });
    expect(put.status).toBe(201);
  });
  afterAll(() => endpoint.close());

  const post = async (path: string, signature: string) => {
    const started = performance.now();
    const res = await handle({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', 'x-flowline-signature': signature },
      query: {},
      body: '{"ref":"main"}',
    });
    return { res, ms: performance.now() - started };
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

  it('gets the same answer, in comparable time, for a real hook with a bad signature and a name that does not exist', async () => {
    const body = '{"ref":"main"}';
    const now = Math.floor(Date.now() / 1000);
    const probes = {
      'real hook, wrong secret': ['/v1/hooks/acme/deploy-hook', signWebhook('guess', body)],
      'real hook, stale timestamp': [
        '/v1/hooks/acme/deploy-hook',
        signWebhookTimestamped(SECRET, body, now - 3600),
      ],
      'no such workflow': ['/v1/hooks/acme/no-such-hook', signWebhook('guess', body)],
      'no such tenant': ['/v1/hooks/nobody/deploy-hook', signWebhook('guess', body)],
    } as const;
    const times: Record<string, number[]> = {};
    const answers = new Set<string>();
    for (let round = 0; round < 3; round++) {
      for (const [what, [path, signature]] of Object.entries(probes)) {
        const { res, ms } = await post(path, signature);
        expect(res.status, what).toBe(401);
        answers.add(JSON.stringify({ headers: res.headers, body: res.body }));
        times[what] = [...(times[what] ?? []), ms];
      }
    }
    expect(answers.size).toBe(1);
    const medians = Object.values(times).map(median);
    expect(Math.min(...medians)).toBeGreaterThanOrEqual(WEBHOOK_REFUSAL_MS - 1);
    expect(Math.max(...medians) - Math.min(...medians)).toBeLessThan(50);

    // The control: the hook exists and the right signature gets in.
    const ok = await post('/v1/hooks/acme/deploy-hook', signWebhookTimestamped(SECRET, body, now));
    expect(ok.res.status).toBe(202);
  });
});
