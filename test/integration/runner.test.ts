import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../functions/runner.js';
import { FlowlineError } from '../../lib/errors.js';
import { createLambdaRunner } from '../../lib/runner/lambda-runner.js';
import { runWithTimeout } from '../../lib/steps/index.js';
import { createLambdaClient, type LambdaInvoker } from '../../lib/steps/lambda-client.js';
import { createShellExecutor } from '../../lib/steps/shell.js';
import { failure, stepRequest } from '../support/steps.js';

/**
 * The runner function (functions/runner.ts) and the execute side of it
 * (lib/runner/lambda-runner.ts) through the real Lambda SDK client, against a local
 * Invoke endpoint that runs the real handler.
 */
const context = (remainingMs: number) =>
  ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

describe('the runner function', () => {
  it('runs the command with only the env it was given', async () => {
    const out = await handler(
      { command: 'echo "$A:${REDIS_URL:-none}"; id -u', env: { A: 'a' } },
      context(60_000),
    );
    expect(out).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^a:none\n/) });
  });

  it('kills the command at the step’s timeoutMs and says so', async () => {
    const started = Date.now();
    const out = await handler({ command: 'sleep 20', timeoutMs: 300 }, context(60_000));
    expect(out).toMatchObject({ timedOut: true });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('kills it before its own invocation would time out', async () => {
    const started = Date.now();
    const out = await handler({ command: 'sleep 20', timeoutMs: 60_000 }, context(2_400));
    expect(out).toMatchObject({ timedOut: true });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses an event that is not a runner request', async () => {
    await expect(handler({ command: '', extra: 1 }, context(60_000))).rejects.toThrow();
  });
});

describe('shell steps through the runner Lambda', () => {
  let url = '';
  const pending = new Set<ServerResponse>();
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    pending.add(res);
    const out = await handler(JSON.parse(body), context(60_000));
    pending.delete(res);
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out));
  });
  let client: LambdaInvoker;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = createLambdaClient({ region: 'us-east-1', lambdaEndpoint: url });
  });
  afterAll(async () => {
    client.destroy();
    for (const res of pending) res.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const shell = () =>
    createShellExecutor(createLambdaRunner({ client, functionName: 'flowline-test-runner' }));
  const request = (command: string, signal = new AbortController().signal) =>
    stepRequest({
      uses: 'shell',
      with: { command },
      env: { WHO: 'step' },
      signal,
      capabilities: new Set(['shell']),
    });

  it('returns exitCode, stdout and stderr, and fails a non-zero exit with its outputs', async () => {
    await expect(shell().run(request('echo "$WHO"; echo e >&2'))).resolves.toEqual({
      exitCode: 0,
      stdout: 'step\n',
      stderr: 'e\n',
    });
    const err = await failure(shell().run(request('echo out; exit 4')));
    expect(err).toMatchObject({ code: 'STEP_FAILED', message: 'command exited with code 4' });
  });

  it('passes the step’s budget: the runner kills the command, the step fails TIMEOUT', async () => {
    const { signal: _s, ...req } = request('sleep 20');
    const started = Date.now();
    const err = await failure(runWithTimeout(shell(), req, 400));
    expect(err.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('abandons the invocation at once on cancel', async () => {
    const controller = new AbortController();
    const run = shell().run(request('sleep 2', controller.signal));
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    controller.abort(new FlowlineError('CANCELLED', 'run cancelled'));
    const err = await failure(run);
    expect(err.code).toBe('CANCELLED');
    expect(Date.now() - started).toBeLessThan(500);
  });
});
