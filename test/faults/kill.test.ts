import { describe, expect, it } from 'vitest';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { scheduleTick } from '../../lib/engine/tick/schedule.js';
import { loadSpec } from '../../lib/spec/index.js';
import { runUntilFinished, startTestApp, submitSpec } from '../support/engine.js';
import { spawnExecutor, waitFor } from '../support/faults.js';
import { createTestQueue } from '../support/stack.js';

/**
 * Invariant 1 (no lost runs) and 3 (no result recorded twice) against a real
 * crash: the job's executor is a separate Node process, SIGKILLed while a step
 * runs. Nothing in the dead process gets to clean up: no commit, no delete of
 * the SQS message, no lease release.
 */

const TENANT = 'acme';
const LEASE_MS = 1_000;

/** One job: a quick step, a slow one (killed there), a quick one. */
const spec = (retries: string, slowMs: number) =>
  loadSpec({
    format: 'yaml',
    text: `
name: killed
on: { manual: true }
jobs:
  j:
    ${retries}
    steps:
      - { id: before, uses: action:echo, with: { n: 1 } }
      - { id: slow, uses: action:sleep-ms, with: { ms: ${slowMs} } }
      - { id: after, uses: action:echo, with: { n: 2 } }
    outputs: { n: "\${{ steps.after.outputs.n }}" }
`,
  });

async function doc(app: App, runId: string) {
  const snap = await app.runs.snapshot(TENANT, runId);
  if (!snap) throw new Error(`run ${runId} vanished`);
  const d = runDocument(snap);
  return { ...d, raw: snap };
}

async function events(app: App, runId: string) {
  return (await app.runs.readEvents(TENANT, runId, undefined, 1000)).map((e) => e.fields);
}

const count = (evs: Record<string, string>[], type: string, step?: string) =>
  evs.filter((e) => e.type === type && (step === undefined || e.step === step)).length;

/** Resolves once the slow step's `running` record is committed, i.e. the child is inside it. */
const slowStepRunning = (app: App, runId: string) =>
  waitFor('the slow step to be running in the child process', async () => {
    const d = await doc(app, runId);
    return d.jobs.j?.steps[1]?.status === 'running' ? d : undefined;
  });

describe('an executor process SIGKILLed mid-step', () => {
  it('is retried by the reaper once its lease lapses: the run succeeds, each step committed once', async () => {
    // Visibility far beyond the test: SQS cannot hand the task out again, only the reaper can recover.
    const { queueUrl } = await createTestQueue({ visibilityTimeout: 120 });
    const app = await startTestApp({ queueUrl, leaseMs: LEASE_MS });
    const runId = await submitSpec(
      app,
      spec('retries: { max: 1, backoff: fixed, initialIntervalMs: 0 }', 3_000),
    );

    const executor = await spawnExecutor(app.config);
    await slowStepRunning(app, runId);
    const exit = await executor.kill('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');

    // Killed inside the step: the dead process committed nothing after the step's start.
    const afterKill = await doc(app, runId);
    expect(afterKill.jobs.j?.status).toBe('running');
    expect(afterKill.jobs.j?.steps.map((s) => s.status)).toEqual([
      'succeeded',
      'running',
      'pending',
    ]);
    const lease = Number(afterKill.raw.jobs['lease:j']);
    expect(lease).toBeGreaterThan(0);

    // While the dead executor's lease lasts the reaper must leave the job alone.
    const early = await scheduleTick(app, lease - 1);
    expect(early.reaped.expired).toBe(0);
    expect((await doc(app, runId)).jobs.j?.attempt).toBe(1);

    await waitFor('the lease to lapse', async () => (Date.now() > lease ? true : undefined), 5_000);
    const tick = await scheduleTick(app, Date.now());
    expect(tick.reaped.expired).toBe(1);

    // The next executor (this process) runs attempt 2 from the committed steps on.
    expect(await runUntilFinished(app, TENANT, runId)).toBe('succeeded');
    const d = await doc(app, runId);
    expect(d.jobs.j?.attempts).toEqual([
      { attempt: 1, error: { code: 'LEASE_EXPIRED', message: expect.any(String) } },
      { attempt: 2, error: null },
    ]);
    expect(d.jobs.j?.steps.map((s) => [s.id, s.status, s.attempt])).toEqual([
      ['before', 'succeeded', 1],
      ['slow', 'succeeded', 2],
      ['after', 'succeeded', 2],
    ]);
    expect(d.jobs.j?.outputs).toEqual({ n: 2 });

    const evs = await events(app, runId);
    expect(count(evs, 'job.started')).toBe(2);
    expect(count(evs, 'job.retrying')).toBe(1);
    // `before` was committed by the dead attempt and reused, not run again.
    expect(count(evs, 'step.started', 'before')).toBe(1);
    // `slow` started in both attempts; only the second one's result exists.
    expect(count(evs, 'step.started', 'slow')).toBe(2);
    for (const step of ['before', 'slow', 'after'])
      expect(count(evs, 'step.succeeded', step)).toBe(1);
    expect(count(evs, 'job.succeeded')).toBe(1);
    expect(count(evs, 'run.succeeded')).toBe(1);
  });

  it('is reclaimed by a second executor process when SQS delivers the task again', async () => {
    // Visibility (2 s) outlasts the lease (1 s): the redelivery finds the lease lapsed.
    const { queueUrl } = await createTestQueue({ visibilityTimeout: 2 });
    const app = await startTestApp({ queueUrl, leaseMs: LEASE_MS });
    // No retries: the only way to finish succeeded is to reclaim attempt 1.
    const runId = await submitSpec(app, spec('', 2_000));

    const first = await spawnExecutor(app.config);
    await slowStepRunning(app, runId);
    expect((await first.kill('SIGKILL')).signal).toBe('SIGKILL');
    const afterKill = await doc(app, runId);
    expect(afterKill.jobs.j?.steps.map((s) => s.status)).toEqual([
      'succeeded',
      'running',
      'pending',
    ]);

    // No reaper runs in this test; the message is the dead executor's, still un-deleted.
    const second = await spawnExecutor(app.config);
    const final = await waitFor(
      'the run to finish on the second executor',
      async () => {
        const d = await doc(app, runId);
        return ['succeeded', 'failed', 'cancelled'].includes(d.status) ? d : undefined;
      },
      15_000,
      50,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; second executor stderr:\n${second.stderr()}`);
    });
    await second.kill('SIGTERM');

    expect(final.status).toBe('succeeded');
    // The same attempt, claimed twice (fence 1 by the dead process, 2 by the second).
    expect(final.jobs.j?.attempts).toEqual([{ attempt: 1, error: null }]);
    expect(final.raw.jobs['fence:j']).toBe('2');
    expect(final.jobs.j?.steps.map((s) => [s.id, s.status, s.attempt])).toEqual([
      ['before', 'succeeded', 1],
      ['slow', 'succeeded', 1],
      ['after', 'succeeded', 1],
    ]);
    const evs = await events(app, runId);
    expect(evs.filter((e) => e.type === 'job.started').map((e) => e.data)).toEqual([
      '{"attempt":1}',
      '{"attempt":1}',
    ]);
    expect(count(evs, 'job.retrying')).toBe(0);
    expect(count(evs, 'step.started', 'before')).toBe(1);
    expect(count(evs, 'step.started', 'slow')).toBe(2);
    for (const step of ['before', 'slow', 'after'])
      expect(count(evs, 'step.succeeded', step)).toBe(1);
    expect(count(evs, 'run.succeeded')).toBe(1);
  });
});
