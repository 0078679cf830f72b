import { describe, expect, it } from 'vitest';
import type { RunDoc } from '../../lib/api/documents.js';
import { createApi } from '../../lib/api/handle.js';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import {
  pollOnce,
  registerSpec,
  runUntilFinished,
  startTestApp,
  submitSpec,
} from '../support/engine.js';

const TENANT = 'acme';

async function doc(app: App, runId: string): Promise<RunDoc> {
  const snap = await app.runs.snapshot(TENANT, runId);
  if (!snap) throw new Error(`no run ${runId}`);
  return runDocument(snap);
}

const register = registerSpec;

const CHILD = `
name: child
on: { manual: true }
inputs: { n: { type: number, required: true } }
outputs: { doubled: "\${{ jobs.work.outputs.doubled }}" }
jobs:
  work:
    steps:
      - { id: s, uses: action:echo, with: { v: "\${{ inputs.n * 2 }}" } }
      - { uses: action:fail, if: "\${{ inputs.n < 0 }}", with: { message: negative } }
    outputs: { doubled: "\${{ steps.s.outputs.v }}" }
`;

const parent = (n: number, extra = '') => `
name: parent
on: { manual: true }
jobs:
  call:
    steps:
      - { id: kid, uses: "workflow:child", with: { inputs: { n: ${n} }${extra} } }
      - { id: after, uses: action:echo, with: { got: "\${{ steps.kid.outputs.doubled }}" } }
`;

describe('child workflows', () => {
  it('starts the child, waits for it without a running Lambda, and takes its outputs', async () => {
    const app = await startTestApp();
    await register(app, CHILD.replace('inputs.n * 2', 'inputs.n'));
    const id = await submitSpec(app, parent(21));
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const d = await doc(app, id);
    const childId = d.jobs.call?.steps[0]?.outputs;
    expect(d.jobs.call?.steps[1]?.outputs.got).toBe(21);
    expect(childId).toEqual({ doubled: 21 });
    const [kid] = await app.runs.children(TENANT, id);
    const child = await doc(app, kid as string);
    expect(child.parentRunId).toBe(id);
    expect(child.status).toBe('succeeded');
  });

  it('fails the step when the child fails', async () => {
    const app = await startTestApp();
    await register(app, CHILD.replace('inputs.n * 2', 'inputs.n'));
    const id = await submitSpec(app, parent(-1));
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    const d = await doc(app, id);
    expect(d.jobs.call?.error?.message).toMatch(/child run run_\w+ failed: negative/);
  });

  it('with wait: false, goes on at once with the child run id', async () => {
    const app = await startTestApp();
    await register(app, CHILD.replace('inputs.n * 2', 'inputs.n'));
    const id = await submitSpec(app, parent(1, ', wait: false'));
    expect(await runUntilFinished(app, TENANT, id)).toBe('succeeded');
    const [kid] = await app.runs.children(TENANT, id);
    expect((await doc(app, id)).jobs.call?.steps[0]?.outputs).toEqual({ runId: kid });
    expect(await runUntilFinished(app, TENANT, kid as string)).toBe('succeeded');
  });

  it('fails the step clearly for a workflow that is not registered, or bad inputs', async () => {
    const app = await startTestApp();
    const missing = await submitSpec(app, parent(1));
    expect(await runUntilFinished(app, TENANT, missing)).toBe('failed');
    expect((await doc(app, missing)).jobs.call?.error).toMatchObject({
      code: 'VALIDATION',
      message: "no workflow 'child' is registered",
    });
    await register(app, CHILD.replace('inputs.n * 2', 'inputs.n'));
    const bad = await submitSpec(app, parent(1).replace('n: 1', 'n: "x"'));
    expect(await runUntilFinished(app, TENANT, bad)).toBe('failed');
    expect((await doc(app, bad)).jobs.call?.error?.message).toMatch(
      /^child workflow 'child': invalid inputs/,
    );
  });

  it('enforces the nesting depth of 5', async () => {
    const app = await startTestApp();
    await register(
      app,
      `
name: child
on: { manual: true }
jobs:
  again: { steps: [{ uses: "workflow:child" }] }
`,
    );
    const id = await submitSpec(
      app,
      'name: top\non: { manual: true }\njobs:\n  j: { steps: [{ uses: "workflow:child" }] }\n',
    );
    expect(await runUntilFinished(app, TENANT, id, 30_000)).toBe('failed');
    // top → 5 children; the fifth child's step refuses a sixth level.
    let run = id;
    for (let depth = 1; depth <= 5; depth++) {
      const [kid] = await app.runs.children(TENANT, run);
      expect(kid).toBeDefined();
      run = kid as string;
    }
    expect(await app.runs.children(TENANT, run)).toEqual([]);
    expect((await doc(app, run)).jobs.again?.error?.message).toBe(
      'child workflows nest at most 5 deep',
    );
  });

  it('cancelling the parent cancels the child', async () => {
    const app = await startTestApp();
    await register(
      app,
      'name: child\non: { manual: true }\njobs:\n  wait: { steps: [{ id: gate, uses: approval }] }\n',
    );
    const id = await submitSpec(
      app,
      'name: top\non: { manual: true }\njobs:\n  j: { steps: [{ uses: "workflow:child" }] }\n',
    );
    for (let i = 0; i < 20 && (await app.runs.children(TENANT, id)).length === 0; i++)
      await pollOnce(app, 0);
    const [kid] = await app.runs.children(TENANT, id);
    for (let i = 0; i < 20 && (await doc(app, kid as string)).status !== 'waiting'; i++)
      await pollOnce(app, 0);
    expect((await doc(app, id)).status).toBe('waiting');
    const res = await createApi(app)({
      method: 'POST',
      path: `/v1/runs/${id}/cancel`,
      headers: { authorization: 'Bearer test-key-acme' },
      query: {},
      body: '{}',
    });
    expect(res.status).toBe(202);
    expect((await doc(app, id)).status).toBe('cancelled');
    expect((await doc(app, kid as string)).status).toBe('cancelled');
  });

  it('reruns a child run as the child it was: its trigger and depth, not linked to the parent', async () => {
    const app = await startTestApp();
    await register(app, CHILD.replace('inputs.n * 2', 'inputs.n'));
    const id = await submitSpec(app, parent(-1));
    expect(await runUntilFinished(app, TENANT, id)).toBe('failed');
    const [kid] = await app.runs.children(TENANT, id);
    const first = await doc(app, kid as string);
    expect(first.trigger).toMatchObject({
      type: 'workflow',
      payload: { parentRunId: id, depth: 1 },
    });

    const res = await createApi(app)({
      method: 'POST',
      path: `/v1/runs/${kid}/rerun`,
      headers: { authorization: 'Bearer test-key-acme' },
      query: {},
      body: JSON.stringify({ inputs: { n: 4 } }),
    });
    expect(res.status).toBe(202);
    const rerunId = (res.body as { id: string }).id;
    expect(await runUntilFinished(app, TENANT, rerunId)).toBe('succeeded');
    const rerun = await doc(app, rerunId);
    expect(rerun).toMatchObject({
      rerunOf: kid,
      parentRunId: null,
      inputs: { n: 4 },
      outputs: { doubled: 4 },
      // What the child's expressions and the executor read of its trigger is the first run's.
      trigger: { ...first.trigger, actor: 'acme', rerunOf: kid },
    });
    // The parent neither waits for nor hears of the rerun.
    expect(await doc(app, id)).toMatchObject({ status: 'failed' });
    expect(await app.runs.children(TENANT, id)).toEqual([kid]);
  });
});
