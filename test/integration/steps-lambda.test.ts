import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { FlowlineError } from '../../lib/errors.js';
import {
  createLambdaClient,
  createLambdaExecutor,
  executorFor,
  type StepExecutor,
  StepFailedError,
  type StepRequest,
} from '../../lib/steps/index.js';
import { runUntilFinished, startTestApp, submitSpec } from '../support/engine.js';
import { failure, stepRequest } from '../support/steps.js';

/**
 * The lambda executor with the real SDK client against a small Lambda Invoke
 * endpoint (`POST /2015-03-31/functions/{name}/invocations`) that answers the way
 * Lambda does: 404 ResourceNotFoundException for an unknown function,
 * `X-Amz-Function-Error` with the runtime's error document for a function error.
 * test/e2e/lambda-steps.test.ts runs the same path through serverless offline.
 */
type Fn = (event: unknown, res: ServerResponse) => void;

const json = (res: ServerResponse, status: number, body: unknown, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

const FUNCTIONS: Record<string, Fn> = {
  'svc-test-echo': (event, res) => json(res, 200, { event }),
  'other-service-fn': (event, res) => json(res, 200, { from: 'other', event }),
  'svc-test-list': (_, res) => json(res, 200, [1, 2, 3]),
  'svc-test-nothing': (_, res) => json(res, 200, 'null'),
  'svc-test-throws': (_, res) =>
    json(
      res,
      200,
      {
        errorType: 'TypeError',
        errorMessage: "Cannot read properties of undefined (reading 'id')",
        trace: ["TypeError: Cannot read properties of undefined (reading 'id')", '    at x.mjs:1'],
      },
      { 'x-amz-function-error': 'Unhandled' },
    ),
  'svc-test-handled': (_, res) =>
    json(res, 200, { errorMessage: 'quota exceeded' }, { 'x-amz-function-error': 'Handled' }),
  'svc-test-broken': (_, res) =>
    json(res, 500, { message: 'internal' }, { 'x-amzn-errortype': 'ServiceException' }),
  'svc-test-hangs': () => {},
};

/** FLOWLINE_LAMBDA_ALLOW of these tests: this service's functions and two of others. */
const ALLOW = ['svc-test-*', 'other-service-fn', 'nope'];

let endpoint: string;
let close: () => Promise<void>;
const calls: { name: string; event: unknown; type: string | undefined }[] = [];

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

beforeAll(async () => {
  const open = new Set<ServerResponse>();
  const server = createServer(async (req, res) => {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url ?? '');
    const body = await readBody(req);
    if (req.method !== 'POST' || !match?.[1]) return json(res, 400, { message: 'bad route' });
    const name = decodeURIComponent(match[1]);
    const event: unknown = body === '' ? {} : JSON.parse(body);
    calls.push({ name, event, type: req.headers['x-amz-invocation-type'] as string | undefined });
    const fn = FUNCTIONS[name];
    if (!fn) {
      return json(
        res,
        404,
        { Type: 'User', Message: `Function not found: ${name}` },
        { 'x-amzn-errortype': 'ResourceNotFoundException' },
      );
    }
    open.add(res);
    res.on('close', () => open.delete(res));
    fn(event, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () =>
    new Promise((resolve) => {
      for (const res of open) res.destroy();
      server.close(() => resolve());
    });
});

afterAll(async () => {
  await close?.();
});

beforeEach(() => {
  calls.length = 0;
});

function request(overrides: Partial<StepRequest> = {}): StepRequest {
  return stepRequest(
    {
      uses: 'lambda:echo',
      with: {},
      env: {},
      idempotencyKey: 'run1:job:s0',
      signal: new AbortController().signal,
      capabilities: new Set(['lambda']),
    },
    overrides,
  );
}

describe('lambda executor', () => {
  let executor: StepExecutor;
  beforeAll(() => {
    const client = createLambdaClient({ region: 'us-east-1', lambdaEndpoint: endpoint });
    executor = createLambdaExecutor({ client, functionPrefix: 'svc-test-', allow: ALLOW });
    return () => client.destroy();
  });

  it('invokes RequestResponse with with.payload as the event; the answer is the outputs', async () => {
    const outputs = await executor.run(request({ with: { payload: { order: 7, items: ['a'] } } }));
    expect(outputs).toEqual({ event: { order: 7, items: ['a'] } });
    expect(calls).toEqual([
      { name: 'svc-test-echo', event: { order: 7, items: ['a'] }, type: 'RequestResponse' },
    ]);
  });

  it('sends no payload when with.payload is absent (the function gets {})', async () => {
    await expect(executor.run(request())).resolves.toEqual({ event: {} });
  });

  it('fails with CAPABILITY_DENIED before any request', async () => {
    for (const ex of [executor, executorFor('lambda:echo')]) {
      const err = await failure(ex.run(request({ capabilities: new Set(['http', 'shell']) })));
      expect(err.code).toBe('CAPABILITY_DENIED');
      expect(err.message).toBe(
        "'lambda:echo' steps need the 'lambda' capability, which this workflow is not granted",
      );
    }
    expect(calls).toEqual([]);
  });

  it('refuses with keys other than payload before any request', async () => {
    const err = await failure(executor.run(request({ with: { event: { a: 1 } } })));
    expect(err.code).toBe('VALIDATION');
    expect(err.message).toContain("not 'event'");
    expect(calls).toEqual([]);
  });

  it('uses a full name as is', async () => {
    await executor.run(request({ uses: 'lambda:svc-test-echo' }));
    expect(calls.map((c) => c.name)).toEqual(['svc-test-echo']);
  });

  it('falls back to the name as is when this service has no such function', async () => {
    const outputs = await executor.run(
      request({ uses: 'lambda:other-service-fn', with: { payload: 1 } }),
    );
    expect(outputs).toEqual({ from: 'other', event: 1 });
    expect(calls.map((c) => c.name)).toEqual(['svc-test-other-service-fn', 'other-service-fn']);
  });

  it('fails STEP_FAILED naming both names when neither exists', async () => {
    const err = await failure(executor.run(request({ uses: 'lambda:nope' })));
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toBe("no Lambda function 'svc-test-nope' or 'nope' (from 'lambda:nope')");
  });

  it.each([
    ['lambda:list', { result: [1, 2, 3] }],
    ['lambda:nothing', {}],
  ])('%s: a non-object answer → %j', async (uses, outputs) => {
    await expect(executor.run(request({ uses }))).resolves.toEqual(outputs);
  });

  it('fails an Unhandled function error with its type and message, not its trace', async () => {
    const err = await failure(executor.run(request({ uses: 'lambda:throws' })));
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toBe(
      "Lambda function 'svc-test-throws' failed: TypeError: Cannot read properties of undefined (reading 'id')",
    );
    expect((err as StepFailedError).outputs).toEqual({
      functionError: 'Unhandled',
      errorType: 'TypeError',
      errorMessage: "Cannot read properties of undefined (reading 'id')",
    });
  });

  it('fails a Handled function error the same way', async () => {
    const err = await failure(executor.run(request({ uses: 'lambda:handled' })));
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toBe("Lambda function 'svc-test-handled' failed: Handled: quota exceeded");
  });

  it('fails a service error once, without SDK retries (the step has its own)', async () => {
    const err = await failure(executor.run(request({ uses: 'lambda:broken' })));
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toMatch(
      /^invoking Lambda function 'svc-test-broken' failed: ServiceException/,
    );
    expect(calls).toHaveLength(1);
  });

  it('stops waiting when the signal aborts, with the abort reason', async () => {
    const controller = new AbortController();
    const run = executor.run(request({ uses: 'lambda:hangs', signal: controller.signal }));
    while (calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort(new FlowlineError('TIMEOUT', 'step timed out after 50ms'));
    const err = await failure(run);
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toBe('step timed out after 50ms');
  });
});

describe('lambda: steps in a run (createApp wires the client)', () => {
  it('runs a lambda step and a failing one through the engine', async () => {
    const app = await startTestApp({
      lambdaEndpoint: endpoint,
      lambdaPrefix: 'svc-test-',
      lambdaAllow: ALLOW,
    });
    const id = await submitSpec(
      app,
      `
name: lambdas
on: { manual: true }
jobs:
  ok:
    steps:
      - { id: call, uses: lambda:echo, with: { payload: { n: "\${{ 2 }}" } } }
    outputs: { n: "\${{ steps.call.outputs.event.n }}" }
  bad:
    steps:
      - { uses: lambda:throws }
`,
    );
    expect(await runUntilFinished(app, 'acme', id)).toBe('failed');
    const snap = await app.runs.snapshot('acme', id);
    if (!snap) throw new Error('run vanished');
    expect(runDocument(snap).jobs).toMatchObject({
      ok: { status: 'succeeded', outputs: { n: 2 } },
      bad: {
        status: 'failed',
        steps: [
          {
            status: 'failed',
            outputs: { functionError: 'Unhandled', errorType: 'TypeError' },
            error: {
              code: 'STEP_FAILED',
              message:
                "Lambda function 'svc-test-throws' failed: TypeError: Cannot read properties of undefined (reading 'id')",
            },
          },
        ],
      },
    });
  });
});
