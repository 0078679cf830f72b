import { describe, expect, it } from 'vitest';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { executeJob } from '../../lib/engine/execute-job.js';
import { currentTask, startTestApp, submitSpec } from '../support/engine.js';

const TENANT = 'acme';
const T0 = Date.UTC(2030, 0, 1);

/**
 * A job's `timeoutMs` is one clock per attempt, kept in Redis: checkpoints do not
 * restart it, waits pause it, a retry starts its own. Each invocation runs on a
 * clock we set, with 5 s left, while a step asks for 10 s: every invocation runs
 * one step and checkpoints before the next.
 */
async function tightApp() {
  const app = await startTestApp({ minStepBudgetMs: 10_000, safetyMarginMs: 0 });
  /** Run the job's current task as an invocation at `at`. */
  const invoke = async (id: string, at: number) =>
    executeJob({ ...app, now: () => at }, await currentTask(app, TENANT, id, 'j'), () => 5_000);
  return { app, invoke };
}

async function job(app: App, id: string) {
  const snap = await app.runs.snapshot(TENANT, id);
  if (!snap) throw new Error('no run');
  const d = runDocument(snap) as {
    status: string;
    jobs: Record<
      string,
      {
        status: string;
        attempt: number;
        error: { code: string; message: string } | null;
        steps: { status: string; error: { code: string; message: string } | null }[];
      }
    >;
  };
  return { runStatus: d.status, ...(d.jobs.j as NonNullable<(typeof d.jobs)['j']>) };
}

const statuses = async (app: App, id: string) => (await job(app, id)).steps.map((s) => s.status);

const spec = (steps: string, extra = '') => `
name: timed
on: { manual: true }
jobs:
  j:
    timeoutMs: 60000${extra}
    steps:
${steps}`;

describe('job timeoutMs', () => {
  it('counts from the first start across checkpoints: the step past it fails TIMEOUT', async () => {
    const { app, invoke } = await tightApp();
    const id = await submitSpec(
      app,
      spec(`      - { id: one, uses: action:echo }
      - { id: two, uses: action:echo }
      - { id: three, uses: action:echo }
`),
    );
    await invoke(id, T0);
    await invoke(id, T0 + 30_000);
    expect(await statuses(app, id)).toEqual(['succeeded', 'succeeded', 'pending']);
    // 61 s after the first start: a fresh clock per invocation would give it 60 s more.
    await invoke(id, T0 + 61_000);
    const j = await job(app, id);
    expect(j.runStatus).toBe('failed');
    expect(j.status).toBe('failed');
    expect(j.error).toEqual({ code: 'TIMEOUT', message: 'the job exceeded its timeoutMs' });
    expect(j.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'failed']);
    const started = (await app.runs.readEvents(TENANT, id, undefined, 100)).filter(
      (e) => e.fields.type === 'step.started',
    );
    expect(started).toHaveLength(2);
  });

  it('does not count the time the job waits (a sleep of an hour), but counts on after it', async () => {
    const { app, invoke } = await tightApp();
    const id = await submitSpec(
      app,
      spec(`      - { id: nap, uses: sleep, with: { seconds: 3600 } }
      - { id: one, uses: action:echo }
      - { id: two, uses: action:echo }
`),
    );
    await invoke(id, T0);
    expect((await job(app, id)).status).toBe('waiting');
    const woke = T0 + 3_600_000;
    await invoke(id, woke); // the sleep ends; the job has worked 0 s of its 60
    await invoke(id, woke + 30_000);
    expect(await statuses(app, id)).toEqual(['succeeded', 'succeeded', 'pending']);
    await invoke(id, woke + 61_000);
    const j = await job(app, id);
    expect(j.error?.code).toBe('TIMEOUT');
    expect(j.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'failed']);
  });

  it('gives a retry its own clock', async () => {
    const { app, invoke } = await tightApp();
    const id = await submitSpec(
      app,
      spec(
        `      - { id: one, uses: action:echo }
      - { id: two, uses: action:fail, with: { message: broken } }
`,
        '\n    retries: { max: 1, initialIntervalMs: 1000 }',
      ),
    );
    await invoke(id, T0);
    await invoke(id, T0 + 50_000); // `two` fails: attempt 2 is queued
    expect((await job(app, id)).attempt).toBe(2);
    // 100 s after attempt 1 began, 0 s into attempt 2: `two` runs (and fails as itself).
    await invoke(id, T0 + 100_000);
    const j = await job(app, id);
    expect(j.status).toBe('failed');
    expect(j.attempt).toBe(2);
    expect(j.error).toMatchObject({ code: 'STEP_FAILED', message: 'broken' });
  });
});
