import { readFileSync } from 'node:fs';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { admitRun } from '../../lib/engine/run/admit.js';
import { loadSpec } from '../../lib/spec/index.js';
import { currentTask, pollOnce, runUntilFinished, startTestApp } from '../support/engine.js';
import { createTestQueue, sqsClient } from '../support/stack.js';

const TENANT = 'acme';
const yaml = (text: string) => loadSpec({ text, format: 'yaml' });

async function runToEnd(text: string, inputs?: Record<string, unknown>) {
  const app = await startTestApp();
  const { summary } = await admitRun(app, {
    tenant: TENANT,
    spec: yaml(text),
    revision: 1,
    ...(inputs ? { inputs } : {}),
    trigger: { type: 'api', actor: TENANT },
  });
  const status = await runUntilFinished(app, TENANT, summary.id);
  const snap = await app.runs.snapshot(TENANT, summary.id);
  if (!snap) throw new Error('run vanished');
  const events = await app.runs.readEvents(TENANT, summary.id, undefined, 1000);
  return { app, status, doc: runDocument(snap), events: events.map((e) => e.fields) };
}

describe('a run end to end (real Redis + local SQS)', () => {
  it('runs the diamond example with outputs passed along the needs graph', async () => {
    const { status, doc, events } = await runToEnd(readFileSync('examples/diamond.yml', 'utf8'));
    expect(status).toBe('succeeded');
    expect(doc.outputs).toEqual({ result: 'b(1)+c(1)' });
    expect(Object.values(doc.jobs).map((j) => (j as { status: string }).status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('run.created');
    expect(types.at(-1)).toBe('run.succeeded');
    expect(types.filter((t) => t === 'job.succeeded')).toHaveLength(4);
    expect(types.filter((t) => t === 'step.succeeded')).toHaveLength(4);
  });

  it('skips the dependents of a failed job and fails the run with the job error', async () => {
    const { status, doc } = await runToEnd(`
name: broken
on: { manual: true }
jobs:
  a: { steps: [{ uses: action:fail, with: { message: boom } }] }
  b: { needs: a, steps: [{ uses: action:noop }] }
  c: { needs: b, steps: [{ uses: action:noop }] }
  cleanup: { needs: b, if: always(), steps: [{ id: x, uses: action:echo, with: { b: "\${{ needs.b.result }}" } }] }
`);
    expect(status).toBe('failed');
    expect(doc.error).toEqual({ code: 'JOB_FAILED', job: 'a', message: 'boom' });
    const jobs = doc.jobs as Record<
      string,
      { status: string; error: unknown; steps: { status: string; outputs: unknown }[] }
    >;
    expect(jobs.a?.status).toBe('failed');
    expect(jobs.a?.error).toEqual({ code: 'STEP_FAILED', message: 'boom' });
    expect(jobs.b?.status).toBe('skipped');
    expect(jobs.c?.status).toBe('skipped');
    expect(jobs.b?.steps[0]?.status).toBe('skipped');
    expect(jobs.cleanup?.status).toBe('succeeded');
    expect(jobs.cleanup?.steps[0]?.outputs).toEqual({ b: 'skipped' });
  });

  it('skips later steps after a failure, runs continueOnError steps past it, and honours step if', async () => {
    const { status, doc } = await runToEnd(`
name: steps
on: { manual: true }
jobs:
  j:
    steps:
      - { id: soft, uses: action:fail, continueOnError: true }
      - { id: next, uses: action:echo, with: { soft: "\${{ steps.soft.outcome }}" } }
      - { id: hard, uses: action:fail, with: { message: hard } }
      - { id: after, uses: action:noop }
      - { id: report, uses: action:echo, if: failure(), with: { ok: true } }
`);
    expect(status).toBe('failed');
    const steps =
      (doc.jobs as Record<string, { steps: { id: string; status: string; outputs: unknown }[] }>).j
        ?.steps ?? [];
    expect(steps.map((s) => [s.id, s.status])).toEqual([
      ['soft', 'failed'],
      ['next', 'succeeded'],
      ['hard', 'failed'],
      ['after', 'skipped'],
      ['report', 'succeeded'],
    ]);
    expect(steps[1]?.outputs).toEqual({ soft: 'failure' });
  });

  it('evaluates a job if with inputs and skips the job when false', async () => {
    const { status, doc } = await runToEnd(
      `
name: gated
on: { manual: true }
inputs: { go: { type: boolean, default: false } }
jobs:
  maybe: { if: "\${{ inputs.go }}", steps: [{ uses: action:noop }] }
  always: { steps: [{ uses: action:noop }] }
`,
      {},
    );
    expect(status).toBe('succeeded');
    const jobs = doc.jobs as Record<string, { status: string }>;
    expect(jobs.maybe?.status).toBe('skipped');
    expect(jobs.always?.status).toBe('succeeded');
  });

  it('fails a step that outlives its timeoutMs with TIMEOUT', async () => {
    const { status, doc } = await runToEnd(`
name: slow
on: { manual: true }
jobs:
  j: { steps: [{ uses: action:sleep-ms, timeoutMs: 100, with: { ms: 5000 } }] }
`);
    expect(status).toBe('failed');
    const job = (doc.jobs as Record<string, { error: { code: string } }>).j;
    expect(job?.error.code).toBe('TIMEOUT');
  });

  it('runs a matrix: one job per combination, needs outputs as lists in matrix order', async () => {
    const { status, doc } = await runToEnd(`
name: fan
on: { manual: true }
jobs:
  test:
    strategy: { matrix: { shard: [1, 2, 3] } }
    steps: [{ id: s, uses: action:echo, with: { n: "\${{ matrix.shard }}" } }]
    outputs: { n: "\${{ steps.s.outputs.n }}" }
  sum:
    needs: test
    steps: [{ id: s, uses: action:echo, with: { all: "\${{ needs.test.outputs.n }}" } }]
    outputs: { all: "\${{ steps.s.outputs.all }}" }
outputs: { all: "\${{ jobs.sum.outputs.all }}" }
`);
    expect(status).toBe('succeeded');
    expect(Object.keys(doc.jobs)).toEqual([
      'test[shard=1]',
      'test[shard=2]',
      'test[shard=3]',
      'sum',
    ]);
    expect(doc.outputs).toEqual({ all: [1, 2, 3] });
  });
});

describe('hooks', () => {
  type Steps = {
    jobs: Record<
      string,
      {
        status: string;
        steps: { id: string; hook?: string; status: string; outputs: Record<string, unknown> }[];
      }
    >;
  };
  const hooked = (
    main: string,
    post = '{ id: tidy, uses: action:echo, with: { saw: "${{ steps.work.outputs.n }}" } }',
  ) => `
name: hooked
on: { manual: true }
jobs:
  j:
    hooks:
      pre: [{ id: setup, uses: action:noop }]
      onSuccess: [{ id: yay, uses: action:noop }]
      onFailure: [{ id: boo, uses: action:noop }]
      post: [${post}]
    steps: [${main}]
`;

  it('runs pre → steps → onSuccess → post, and hooks see step outputs', async () => {
    const { status, doc } = await runToEnd(
      hooked('{ id: work, uses: action:echo, with: { n: 7 } }'),
    );
    expect(status).toBe('succeeded');
    const steps = (doc as unknown as Steps).jobs.j?.steps ?? [];
    expect(steps.map((s) => [s.hook ?? '-', s.id, s.status])).toEqual([
      ['pre', 'setup', 'succeeded'],
      ['-', 'work', 'succeeded'],
      ['onSuccess', 'yay', 'succeeded'],
      ['post', 'tidy', 'succeeded'],
    ]);
    expect(steps[3]?.outputs.saw).toBe(7);
  });

  it('runs onFailure (not onSuccess) after a failed step, then post', async () => {
    const { status, doc } = await runToEnd(hooked('{ id: work, uses: action:fail }'));
    expect(status).toBe('failed');
    const steps = (doc as unknown as Steps).jobs.j?.steps ?? [];
    expect(steps.map((s) => [s.hook ?? '-', s.id, s.status])).toEqual([
      ['pre', 'setup', 'succeeded'],
      ['-', 'work', 'failed'],
      ['onFailure', 'boo', 'succeeded'],
      ['post', 'tidy', 'succeeded'],
    ]);
  });

  it('skips the steps when pre fails, and still runs onFailure and post', async () => {
    const { status, doc } = await runToEnd(
      hooked('{ id: work, uses: action:echo, with: { n: 1 } }').replace(
        '{ id: setup, uses: action:noop }',
        '{ id: setup, uses: action:fail }',
      ),
    );
    expect(status).toBe('failed');
    const steps = (doc as unknown as Steps).jobs.j?.steps ?? [];
    expect(steps.map((s) => [s.id, s.status])).toEqual([
      ['setup', 'failed'],
      ['work', 'skipped'],
      ['boo', 'succeeded'],
      ['tidy', 'succeeded'],
    ]);
  });

  it('fails the job when post fails, though its steps succeeded', async () => {
    const { status, doc } = await runToEnd(
      hooked('{ id: work, uses: action:echo, with: { n: 1 } }', '{ id: tidy, uses: action:fail }'),
    );
    expect(status).toBe('failed');
    expect((doc as unknown as Steps).jobs.j?.status).toBe('failed');
  });
});

describe('duplicate and stale deliveries', () => {
  it('runs each step once when every task is delivered twice', async () => {
    const app = await startTestApp();
    const { summary } = await admitRun(app, {
      tenant: TENANT,
      spec: yaml(readFileSync('examples/diamond.yml', 'utf8')),
      revision: 1,
      trigger: { type: 'api' },
    });
    // Duplicate every send: the queue sees each task twice.
    const send = app.queue.send.bind(app.queue);
    app.queue.send = async (tasks, delay) => {
      await send([...tasks, ...tasks], delay);
    };
    await send([await currentTask(app, TENANT, summary.id, 'a')]);
    expect(await runUntilFinished(app, TENANT, summary.id)).toBe('succeeded');
    while ((await pollOnce(app, 0)) > 0) {}
    const events = await app.runs.readEvents(TENANT, summary.id, undefined, 1000);
    const count = (type: string) => events.filter((e) => e.fields.type === type).length;
    expect(count('step.started')).toBe(4);
    expect(count('step.succeeded')).toBe(4);
    expect(count('job.started')).toBe(4);
    expect(count('run.succeeded')).toBe(1);
  });

  it('refuses a commit carrying a stale fencing token after the lease was taken over', async () => {
    const app = await startTestApp({ leaseMs: 1 });
    const { summary } = await admitRun(app, {
      tenant: TENANT,
      spec: yaml(
        'name: one\non: { manual: true }\njobs: { j: { steps: [{ uses: action:noop }] } }',
      ),
      revision: 1,
      trigger: { type: 'api' },
    });
    const task = await currentTask(app, TENANT, summary.id, 'j');
    const first = await app.runs.claimJob(task, Date.now(), 1);
    expect(first.kind).toBe('claimed');
    await new Promise((r) => setTimeout(r, 5));
    const second = await app.runs.claimJob(task, Date.now(), 60_000);
    expect(second.kind).toBe('claimed');
    if (first.kind !== 'claimed' || second.kind !== 'claimed') return;
    expect(await app.runs.commitStep(task, first.fence, Date.now(), 60_000)).toBe('stale');
    expect(
      await app.runs.finishJob(task, first.fence, 'succeeded', '{}', '', Date.now()),
    ).toBeUndefined();
    expect(await app.runs.claimJob(task, Date.now(), 60_000)).toEqual({ kind: 'lease-held' });
    expect(await app.runs.finishJob(task, second.fence, 'succeeded', '{}', '', Date.now())).toEqual(
      {
        runStatus: 'succeeded',
        ready: [],
        ended: { parentRunId: '', hasMemberships: false, cancelRequested: false },
      },
    );
    expect(await app.runs.claimJob(task, Date.now(), 60_000)).toEqual({ kind: 'run-finished' });
  });

  it('recovers a job whose executor died mid-step once SQS redelivers the task', async () => {
    const { queueUrl } = await createTestQueue({ visibilityTimeout: 1 });
    const app = await startTestApp({ queueUrl, leaseMs: 500 });
    const { summary } = await admitRun(app, {
      tenant: TENANT,
      spec: yaml(
        'name: crash\non: { manual: true }\njobs: { j: { steps: [{ id: s, uses: action:echo, with: { ok: 1 } }] } }',
      ),
      revision: 1,
      trigger: { type: 'api' },
    });
    // The doomed executor: receives the task, claims, starts the step, then vanishes
    // without deleting the message or committing anything more.
    const got = await sqsClient().send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }),
    );
    const task = JSON.parse(got.Messages?.[0]?.Body ?? '{}');
    const claim = await app.runs.claimJob(task, Date.now(), 500);
    expect(claim.kind).toBe('claimed');
    if (claim.kind !== 'claimed') return;
    const started = {
      index: 0,
      stepKey: 's',
      record: JSON.stringify({ id: 's', status: 'running' }),
    };
    expect(await app.runs.commitStep(task, claim.fence, Date.now(), 500, undefined, started)).toBe(
      'ok',
    );

    expect(await runUntilFinished(app, TENANT, summary.id)).toBe('succeeded');
    const events = await app.runs.readEvents(TENANT, summary.id, undefined, 100);
    expect(events.filter((e) => e.fields.type === 'job.started')).toHaveLength(2);
    expect(events.filter((e) => e.fields.type === 'step.succeeded')).toHaveLength(1);
    expect(await app.runs.commitStep(task, claim.fence, Date.now(), 500)).toBe('stale');
  });
});
