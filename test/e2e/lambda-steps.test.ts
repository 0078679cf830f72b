import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/stack.js';
import { callApi, type StepDoc, TERMINAL, useLocalStack } from '../support/e2e.js';

/**
 * `uses: lambda:<function>` on the local stack: the execute function invokes
 * functions/echo.ts through serverless offline's Lambda endpoint, as it would
 * through Lambda on AWS.
 */
interface RunDoc {
  status: string;
  outputs: Record<string, unknown>;
  jobs: Record<
    string,
    { status: string; error: { code: string; message: string } | null; steps: StepDoc[] }
  >;
}

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
  missing:
    steps: [{ uses: lambda:no-such-function }]
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

    const missing = run.jobs.missing?.steps[0];
    expect(missing?.status, where).toBe('failed');
    expect(missing?.error).toEqual({
      code: 'STEP_FAILED',
      message:
        "no Lambda function 'flowline-dev-no-such-function' or 'no-such-function' (from 'lambda:no-such-function')",
    });
  });
});
