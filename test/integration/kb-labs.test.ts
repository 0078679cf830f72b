import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunDoc, StepDoc } from '../../lib/api/documents.js';
import { createApi } from '../../lib/api/handle.js';
import type { App } from '../../lib/app.js';
import { scheduleTick } from '../../lib/engine/tick/schedule.js';
import { ValidationError } from '../../lib/errors.js';
import { loadSpec, SUPPORTED_USES } from '../../lib/spec/index.js';
import { fireTimesBetween } from '../../lib/triggers/cron.js';
import { pollOnce, runUntilFinished, startTestApp, submitSpec } from '../support/engine.js';

/**
 * The KB Labs engine's style of spec (examples/kb-labs/), registered and run as a
 * KB Labs user would: the file as it is, through the API, executed by the real
 * engine on Redis and local SQS.
 */

const TENANT = 'acme';
const example = (file: string) => readFileSync(`examples/kb-labs/${file}`, 'utf8');

interface Response {
  status: number;
  body?: unknown;
}

/** The API as tenant acme: its unnamed key, or one of its named identities (testConfig). */
function api(app: App, as?: string) {
  const handle = createApi(app);
  const key = as === undefined ? 'test-key-acme' : `test-key-acme-${as}`;
  return (method: string, path: string, body: unknown = {}, type = 'application/json') =>
    handle({
      method,
      path,
      headers: { authorization: `Bearer ${key}`, 'content-type': type },
      query: {},
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }) as Promise<Response>;
}

/** PUT the example as its YAML text; its name. */
async function register(app: App, file: string): Promise<string> {
  const text = example(file);
  const { name } = loadSpec({ text, format: 'yaml' });
  const res = await api(app)('PUT', `/v1/workflows/${name}`, text, 'application/yaml');
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return name;
}

async function submit(app: App, name: string, inputs?: Record<string, unknown>): Promise<string> {
  const res = await api(app)('POST', `/v1/workflows/${name}/runs`, inputs ? { inputs } : {});
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return (res.body as { id: string }).id;
}

async function runDoc(app: App, id: string): Promise<RunDoc> {
  const res = await api(app)('GET', `/v1/runs/${id}`);
  expect(res.status).toBe(200);
  return res.body as RunDoc;
}

/** Register, submit and run the example to its end; the run document. */
async function runExample(file: string, inputs?: Record<string, unknown>) {
  const app = await startTestApp();
  const id = await submit(app, await register(app, file), inputs);
  const status = await runUntilFinished(app, TENANT, id);
  return { app, status, doc: await runDoc(app, id) };
}

/** Poll the queue until the run is `status`. */
async function until(app: App, id: string, status: string, ms = 10_000): Promise<RunDoc> {
  const deadline = Date.now() + ms;
  for (;;) {
    const doc = await runDoc(app, id);
    if (doc.status === status) return doc;
    if (Date.now() > deadline) throw new Error(`run ${id} is ${doc.status}, not ${status}`);
    await pollOnce(app, 0);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const statuses = (steps: StepDoc[] | undefined) =>
  (steps ?? []).map((s) => [s.hook ? `${s.hook}:${s.id}` : s.id, s.status]);
const step = (doc: RunDoc, job: string, id: string) =>
  doc.jobs[job]?.steps.find((s) => s.id === id);

describe('KB Labs specs: examples/kb-labs', () => {
  it('build-test: shell steps over a needs DAG, gated on an exit code', async () => {
    const { status, doc } = await runExample('build-test.yml');

    expect(status).toBe('succeeded');
    expect(doc.jobs.build?.status).toBe('succeeded');
    expect(statuses(doc.jobs.build?.steps)).toEqual([
      ['install', 'succeeded'],
      ['compile', 'succeeded'],
    ]);
    // Workflow env reaches the command's environment.
    expect(step(doc, 'build', 'install')?.outputs).toEqual({
      exitCode: 0,
      stdout: 'installing dependencies (test)\n',
      stderr: '',
    });
    expect(step(doc, 'build', 'compile')?.outputs.stdout).toBe('compiled main');
    expect(statuses(doc.jobs.test?.steps)).toEqual([
      ['unit', 'succeeded'],
      ['coverage', 'succeeded'],
      ['publish', 'skipped'],
    ]);
    expect(step(doc, 'test', 'coverage')?.outputs.stdout).toBe('coverage 87%\n');
  });

  it('hooks: pre, steps, onSuccess and post run in order when the main task succeeds', async () => {
    const { status, doc } = await runExample('hooks.yml');

    expect(status).toBe('succeeded');
    expect(statuses(doc.jobs.main?.steps)).toEqual([
      ['pre:pre0', 'succeeded'],
      ['main', 'succeeded'],
      ['process', 'succeeded'],
      ['onSuccess:onSuccess0', 'succeeded'],
      ['post:post0', 'succeeded'],
    ]);
    expect(doc.jobs.main?.steps.map((s) => s.outputs.stdout)).toEqual([
      'setting up\n',
      'task done\n',
      'processing results\n',
      'main task succeeded\n',
      'cleaning up\n',
    ]);
    expect(step(doc, 'main', 'pre0')?.name).toBe('Setup Environment');
  });

  it('hooks: a failing main task skips the exit-code step, runs onFailure and post, fails the run', async () => {
    const { status, doc } = await runExample('hooks.yml', { fail: true });

    expect(status).toBe('failed');
    expect(statuses(doc.jobs.main?.steps)).toEqual([
      ['pre:pre0', 'succeeded'],
      ['main', 'failed'],
      ['process', 'skipped'],
      ['onFailure:onFailure0', 'succeeded'],
      ['post:post0', 'succeeded'],
    ]);
    // A non-zero exit keeps its outputs, so `steps.main.outputs.exitCode` is 1, not missing.
    expect(step(doc, 'main', 'main')?.outputs).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: 'task failed\n',
    });
    expect(step(doc, 'main', 'onFailure0')?.outputs.stdout).toBe('main task failed\n');
    expect(doc.jobs.main?.error?.code).toBe('STEP_FAILED');
    expect(doc.error).toMatchObject({ code: 'JOB_FAILED', job: 'main' });
  });

  it('release: waits at builtin:approval with KB Labs’ timeout and approvers, goes on once approved', async () => {
    const app = await startTestApp();
    const id = await submit(app, await register(app, 'release.yml'), { version: '1.4.0' });

    const waiting = await until(app, id, 'waiting');
    expect(waiting.jobs.verify?.status).toBe('succeeded');
    expect(waiting.jobs.release?.status).toBe('waiting');
    const waitingFor = waiting.jobs.release?.waitingFor;
    expect(waitingFor).toMatchObject({
      kind: 'approval',
      step: 'confirm',
      approvers: ['release-manager'],
    });
    // `with.timeout: 3600` (KB Labs, seconds) is the approval's deadline.
    const deadline = waitingFor?.kind === 'approval' ? waitingFor.until : undefined;
    const leftMs = Date.parse(String(deadline)) - Date.now();
    expect(leftMs).toBeGreaterThan(3_500_000);
    expect(leftMs).toBeLessThanOrEqual(3_600_000);
    expect(statuses(waiting.jobs.release?.steps)).toEqual([
      ['bump', 'succeeded'],
      ['confirm', 'waiting'],
      ['tag', 'pending'],
    ]);

    const stranger = await api(app, 'dev')('POST', `/v1/runs/${id}/approvals/confirm`, {
      approve: true,
      actor: 'release-manager',
    });
    expect(stranger.status).toBe(403);
    const approved = await api(app, 'release-manager')('POST', `/v1/runs/${id}/approvals/confirm`, {
      approve: true,
      comment: 'ship it',
    });
    expect(approved.status).toBe(200);

    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const doc = await runDoc(app, id);
    expect(statuses(doc.jobs.release?.steps)).toEqual([
      ['bump', 'succeeded'],
      ['confirm', 'succeeded'],
      ['tag', 'succeeded'],
    ]);
    expect(step(doc, 'release', 'confirm')?.outputs).toEqual({
      approved: true,
      actor: 'release-manager',
      comment: 'ship it',
      approvedBy: 'release-manager',
      approvedAt: expect.any(String),
    });
    expect(step(doc, 'release', 'tag')?.outputs.stdout).toBe('tagged v1.4.0\n');
  });

  it('release: a rejection fails the approval step and the run, and nothing is tagged', async () => {
    const app = await startTestApp();
    const id = await submit(app, await register(app, 'release.yml'), { version: '1.4.0' });
    await until(app, id, 'waiting');

    const res = await api(app, 'release-manager')('POST', `/v1/runs/${id}/approvals/confirm`, {
      approve: false,
    });
    expect(res.status).toBe(200);

    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    const doc = await runDoc(app, id);
    expect(statuses(doc.jobs.release?.steps)).toEqual([
      ['bump', 'succeeded'],
      ['confirm', 'failed'],
      ['tag', 'skipped'],
    ]);
    expect(step(doc, 'release', 'confirm')?.error?.code).toBe('APPROVAL_REJECTED');
    expect(doc.error).toMatchObject({ code: 'JOB_FAILED', job: 'release' });
  });

  it('nightly: runs manually, with an exit code and contains() in the step if', async () => {
    const { status, doc } = await runExample('nightly.yml');

    expect(status).toBe('succeeded');
    expect(statuses(doc.jobs.audit?.steps)).toEqual([
      ['audit', 'succeeded'],
      ['summary', 'succeeded'],
    ]);
    expect(step(doc, 'audit', 'summary')?.outputs.stdout).toBe('audit: 0 vulnerabilities\n');
  });

  it('nightly: its single-mapping schedule is registered and fires a run', async () => {
    const app = await startTestApp();
    const name = await register(app, 'nightly.yml');
    const spec = loadSpec({ text: example('nightly.yml'), format: 'yaml' });
    expect(spec.on.schedule).toEqual([{ cron: '0 3 * * *', timezone: 'Europe/Berlin' }]);

    const now = Date.now();
    const [fire] = fireTimesBetween(
      '0 3 * * *',
      'Europe/Berlin',
      new Date(now),
      new Date(now + 2 * 86_400_000),
    );
    if (!fire) throw new Error('no fire time within two days');
    expect((await scheduleTick(app, fire.getTime() + 1_000)).cronRuns).toBe(1);

    const list = await api(app)('GET', '/v1/runs');
    const [run] = (list.body as { items: { id: string; workflow: string }[] }).items;
    expect(run?.workflow).toBe(name);
    expect(await runUntilFinished(app, TENANT, run?.id ?? '')).toBe('succeeded');
    expect((await runDoc(app, run?.id ?? '')).trigger.type).toBe('schedule');
  });
});

describe('KB Labs specs: what flowline does not run', () => {
  const PLUGIN_SPEC = `
name: standard-release
version: 1.0.0
on:
  manual: true
jobs:
  release:
    runsOn: local
    steps:
      - name: Bump Version
        id: bump
        uses: plugin:@kb-labs/release-manager/cli/bump
        with:
          type: auto
      - name: Create Git Tag
        uses: builtin:shell
        with:
          command: git tag v1
`;

  it('rejects a plugin: step at load, naming the supported kinds', () => {
    let error: unknown;
    try {
      loadSpec({ text: PLUGIN_SPEC, format: 'yaml' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const problems = (error as ValidationError).problems;
    expect(problems).toEqual([
      {
        path: 'jobs.release.steps[0].uses',
        line: 12,
        message: expect.stringContaining('plugin steps are not supported'),
      },
    ]);
    expect(problems[0]?.message).toContain(`supported kinds: ${SUPPORTED_USES}`);
    expect(SUPPORTED_USES).toContain('shell (alias builtin:shell)');
    expect(SUPPORTED_USES).toContain('approval (alias builtin:approval)');
  });

  it('refuses to register it through the API (422 with the problem)', async () => {
    const app = await startTestApp();
    const res = await api(app)(
      'PUT',
      '/v1/workflows/standard-release',
      PLUGIN_SPEC,
      'application/yaml',
    );
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body)).toContain('plugin steps are not supported; supported kinds');
    expect((await api(app)('GET', '/v1/workflows/standard-release')).status).toBe(404);
  });
});

describe('KB Labs specs: a documented difference', () => {
  it('a hook step with continueOnError: true fails without failing the job, as KB Labs treats every hook', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      `
name: lenient-hooks
on: { manual: true }
jobs:
  main:
    runsOn: local
    hooks:
      pre: [{ name: Warm cache, uses: builtin:shell, with: { command: exit 3 }, continueOnError: true }]
      post: [{ name: Upload logs, uses: builtin:shell, with: { command: exit 4 }, continueOnError: true }]
    steps:
      - { name: Main Task, id: main, uses: builtin:shell, with: { command: echo done } }
`,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const doc = await runDoc(app, id);
    expect(statuses(doc.jobs.main?.steps)).toEqual([
      ['pre:pre0', 'failed'],
      ['main', 'succeeded'],
      ['post:post0', 'failed'],
    ]);
    expect(step(doc, 'main', 'post0')?.outputs.exitCode).toBe(4);
  });
});

describe('KB Labs specs: idioms that must not silently mean something else', () => {
  it("hands an API run's inputs to trigger.payload, as KB Labs' hello-world reads them", async () => {
    const app = await startTestApp();
    const text = `
name: hello
on: { manual: true }
inputs:
  name: { type: string, required: true }
jobs:
  greet:
    runsOn: local
    steps:
      - { id: say, uses: builtin:shell, with: { command: 'echo "Hello, \${{ trigger.payload.name }}!"' } }
`;
    expect((await api(app)('PUT', '/v1/workflows/hello', text, 'application/yaml')).status).toBe(
      201,
    );
    const id = await submit(app, 'hello', { name: 'Ada' });
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    expect(step(await runDoc(app, id), 'greet', 'say')?.outputs.stdout).toBe('Hello, Ada!\n');
  });

  it('registers a text comparison of a boolean output with a warning naming the field and the fix', async () => {
    const app = await startTestApp();
    const text = `
name: gate-text
on: { manual: true }
jobs:
  release:
    runsOn: local
    steps:
      - { id: gate, uses: builtin:approval, with: { timeout: 60 } }
      - { id: undo, uses: builtin:shell, with: { command: echo undo }, if: "steps.gate.outputs.approved == 'false'" }
`;
    const res = await api(app)('PUT', '/v1/workflows/gate-text', text, 'application/yaml');
    expect(res.status).toBe(201);
    const { warnings } = res.body as { warnings: { path: string; message: string }[] };
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.path).toBe('jobs.release.steps[1].if');
    expect(warnings[0]?.message).toContain('is always false');
    expect(warnings[0]?.message).toContain('Write !steps.gate.outputs.approved');
  });
});

describe('expressions at run time (any spec, KB Labs’ too)', () => {
  it('a failing expression fails its step with an error naming the step and the expression', async () => {
    const app = await startTestApp();
    const id = await submitSpec(
      app,
      `
name: bad-json
on: { manual: true }
inputs:
  raw: { type: string, default: 'not json' }
jobs:
  main:
    steps:
      - { id: parse, uses: action:echo, with: { value: '\${{ fromJSON(inputs.raw).a }}' } }
`,
    );
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    const error = step(await runDoc(app, id), 'main', 'parse')?.error;
    expect(error?.code).toBe('EXPRESSION_ERROR');
    expect(error?.message).toContain("step 'parse': fromJSON: invalid JSON");
    expect(error?.message).toContain("in '${{ fromJSON(inputs.raw).a }}'");
  });
});
