import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunDoc } from '../../lib/api/documents.js';
import { ROOT } from '../../scripts/stack.js';
import { callApi, TERMINAL, useLocalStack } from '../support/e2e.js';

/**
 * `uses: lambda:<function>` on the local stack: the execute function invokes
 * functions/echo.ts through serverless offline's Lambda endpoint, as it would
 * through Lambda on AWS.
 */

describe('lambda: steps on the local stack', () => {
  const stack = useLocalStack('lambda');
  const api = (method: string, path: string, body?: string | object) =>
    callApi(stack(), method, path, body);

  /** Register `yaml` under `name`, submit a run with `inputs`, wait for it to end. */
  async function runToEnd(name: string, yaml: string, inputs: object = {}): Promise<RunDoc> {
    const put = await api('PUT', `/v1/workflows/${name}`, yaml);
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const submit = await api('POST', `/v1/workflows/${name}/runs`, { inputs });
    expect(submit.status, JSON.stringify(submit.body)).toBe(202);
    const id = (submit.body as { id: string }).id;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const run = (await api('GET', `/v1/runs/${id}`)).body as RunDoc;
      if (TERMINAL.has(run.status)) return run;
      if (Date.now() > deadline) {
        throw new Error(`run ${id} still ${run.status} (log: ${stack().logFile})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('runs examples/lambda.yml: lambda:echo is this service’s echo function', async () => {
    const yaml = await readFile(join(ROOT, 'examples', 'lambda.yml'), 'utf8');
    const run = await runToEnd('lambda', yaml, { who: 'e2e' });
    expect(run.status, `log ${stack().logFile}\n${JSON.stringify(run, null, 2)}`).toBe('succeeded');
    expect(run.outputs).toEqual({ greeting: 'Hello, e2e!', function: 'flowline-dev-echo' });
    expect(run.jobs.call?.steps[0]).toMatchObject({
      uses: 'lambda:echo',
      status: 'succeeded',
      outputs: { event: { greeting: 'Hello, e2e!' }, functionName: 'flowline-dev-echo' },
    });
  });

  it('fails the step with the function’s error message, and the full name works as is', async () => {
    const run = await runToEnd(
      'lambda-fails',
      `
name: lambda-fails
on: { manual: true }
jobs:
  full:
    steps: [{ uses: lambda:flowline-dev-echo, with: { payload: [1, 2] } }]
  throws:
    steps:
      - { id: boom, uses: lambda:echo, with: { payload: { fail: "disk on fire" } } }
      - { uses: action:echo, with: { never: true } }
`,
    );
    const where = `log ${stack().logFile}\n${JSON.stringify(run, null, 2)}`;
    expect(run.status, where).toBe('failed');

    expect(run.jobs.full?.status, where).toBe('succeeded');
    expect(run.jobs.full?.steps[0]?.outputs).toEqual({
      event: [1, 2],
      functionName: 'flowline-dev-echo',
    });

    const [boom, after] = run.jobs.throws?.steps ?? [];
    expect(boom?.status, where).toBe('failed');
    expect(boom?.error?.code).toBe('STEP_FAILED');
    expect(boom?.error?.message).toMatch(
      /^Lambda function 'flowline-dev-echo' failed: \w+: disk on fire$/,
    );
    expect(boom?.error?.message).not.toMatch(/\bat |\.ts:\d/);
    expect(boom?.outputs).toMatchObject({
      functionError: 'Unhandled',
      errorMessage: 'disk on fire',
    });
    expect(boom?.outputs).not.toHaveProperty('trace');
    expect(after?.status).toBe('skipped');
    expect(run.jobs.throws?.error?.message).toContain('disk on fire');
  });

  it('refuses at registration, with the path, a function outside FLOWLINE_LAMBDA_ALLOW or one of flowline’s own', async () => {
    const put = await api(
      'PUT',
      '/v1/workflows/lambda-denied',
      `
name: lambda-denied
on: { manual: true }
jobs:
  missing: { steps: [{ uses: lambda:no-such-function }] }
  own: { steps: [{ uses: action:noop }, { uses: lambda:execute }] }
`,
    );
    expect(put.status, JSON.stringify(put.body)).toBe(422);
    expect(put.body.errors).toEqual([
      {
        path: 'jobs.missing.steps[0].uses',
        message: expect.stringContaining('FLOWLINE_LAMBDA_ALLOW (flowline-dev-echo)'),
      },
      {
        path: 'jobs.own.steps[1].uses',
        message: expect.stringContaining("flowline's own functions"),
      },
    ]);
    expect((await api('GET', '/v1/workflows/lambda-denied')).status).toBe(404);
  });

  it('runs shell steps in the runner function, which sees nothing of the engine', async () => {
    const run = await runToEnd(
      'shell-runner',
      `
name: shell-runner
on: { manual: true }
jobs:
  probe:
    env: { GREETING: hi }
    steps:
      - id: sh
        uses: shell
        with:
          command: 'echo "$GREETING from $(id -u)"; env | cut -d= -f1 | sort | tr "\\n" " "'
`,
    );
    const where = `log ${stack().logFile}\n${JSON.stringify(run, null, 2)}`;
    expect(run.status, where).toBe('succeeded');
    const stdout = String(run.jobs.probe?.steps[0]?.outputs.stdout);
    expect(stdout).toMatch(/^hi from 65534\n/);
    // Only the runner's fixed variables and the step's own.
    expect(stdout.split('\n')[1]?.trim().split(' ')).toEqual([
      'GREETING',
      'HOME',
      'LANG',
      'PATH',
      'PWD',
    ]);
    expect(await readFile(stack().logFile, 'utf8')).toContain('flowline-dev-runner');
  });
});
