import { describe, expect, it } from 'vitest';
import type { EventDoc, JobDoc, RunDoc } from '../../lib/api/documents.js';
import { callApi, TERMINAL, useLocalStack } from '../support/e2e.js';

/**
 * Flow control on the local stack, over HTTP only: a parent run starts a child
 * workflow (`uses: workflow:child`) and waits for it, then waits at an approval
 * decided through the API, then uses both results; the approval and signal
 * routes' error answers; and a durable `sleep`, whose wake-up latency (from the
 * `job.waiting` event to the next `job.started`) is printed.
 */

const CHILD = `
name: child
on: { manual: true }
inputs:
  who: { type: string, required: true }
outputs:
  greeting: \${{ jobs.work.outputs.greeting }}
  length: \${{ jobs.work.outputs.length }}
jobs:
  work:
    steps:
      - id: say
        uses: action:echo
        with: { greeting: "hello \${{ inputs.who }}", length: 42 }
    outputs:
      greeting: \${{ steps.say.outputs.greeting }}
      length: \${{ steps.say.outputs.length }}
`;

const PARENT = `
name: parent
on: { manual: true }
inputs:
  who: { type: string, default: world }
jobs:
  main:
    steps:
      - id: kid
        uses: workflow:child
        with: { inputs: { who: "\${{ inputs.who }}" } }
      - id: gate
        uses: approval
      - id: report
        uses: action:echo
        with:
          message: "\${{ steps.kid.outputs.greeting }} (approved by \${{ steps.gate.outputs.actor }})"
          length: \${{ steps.kid.outputs.length }}
          approved: \${{ steps.gate.outputs.approved }}
          comment: \${{ steps.gate.outputs.comment }}
    outputs:
      message: \${{ steps.report.outputs.message }}
outputs:
  message: \${{ jobs.main.outputs.message }}
`;

const NAP = `
name: nap
on: { manual: true }
jobs:
  a:
    steps:
      - id: nap
        uses: sleep
        with: { seconds: 2 }
      - id: after
        uses: action:echo
        with: { woke: "\${{ steps.nap.outputs.wokeAt }}" }
`;

describe('flow control on the local stack', () => {
  const stack = useLocalStack('flow-control');
  const api = (method: string, path: string, body?: string | object) =>
    callApi(stack(), method, path, body);

  async function register(name: string, yaml: string): Promise<void> {
    const res = await api('PUT', `/v1/workflows/${name}`, yaml);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }

  async function submit(name: string, inputs: object = {}): Promise<string> {
    const res = await api('POST', `/v1/workflows/${name}/runs`, { inputs });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body.id as string;
  }

  async function getRun(id: string): Promise<RunDoc> {
    const res = await api('GET', `/v1/runs/${id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as RunDoc;
  }

  /** Poll GET /v1/runs/{id} until `done` holds; `seen` gets every document read. */
  async function pollRun(
    id: string,
    what: string,
    done: (run: RunDoc) => boolean,
    opts: { timeoutMs?: number; seen?: (run: RunDoc) => void } = {},
  ): Promise<RunDoc> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      const run = await getRun(id);
      opts.seen?.(run);
      if (done(run)) return run;
      if (TERMINAL.has(run.status) || Date.now() > deadline) {
        throw new Error(
          `run ${id} is ${run.status}, not ${what} (log: ${stack().logFile})\n${JSON.stringify(run, null, 2)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Every event of the run, paging with `after`. */
  async function events(id: string): Promise<EventDoc[]> {
    const all: EventDoc[] = [];
    let after: string | undefined;
    for (;;) {
      const res = await api(
        'GET',
        `/v1/runs/${id}/events?limit=100${after ? `&after=${after}` : ''}`,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const items = res.body.items as EventDoc[];
      all.push(...items);
      if (items.length < 100) return all;
      after = res.body.next as string;
    }
  }

  describe('child workflow, then approval', () => {
    let parentId: string;
    let childId: string;

    it('registers the child and the parent workflows', async () => {
      await register('child', CHILD);
      await register('parent', PARENT);
    });

    it('runs the child, then waits at the approval with the child finished', async () => {
      parentId = await submit('parent', { who: 'flowline' });

      // The `kid` step, while the parent waits for the child, holds `{runId}`.
      const seenChildIds = new Set<string>();
      const waiting = await pollRun(
        parentId,
        'waiting for approval',
        (run) => run.status === 'waiting' && run.jobs.main?.waitingFor?.kind === 'approval',
        {
          seen: (run) => {
            const kid = run.jobs.main?.steps[0];
            if (kid?.status === 'waiting' && typeof kid.outputs.runId === 'string') {
              seenChildIds.add(kid.outputs.runId);
            }
          },
        },
      );
      const main = waiting.jobs.main as JobDoc;
      expect(main.status).toBe('waiting');
      expect(main.waitingFor).toMatchObject({ kind: 'approval', step: 'gate' });
      expect(main.steps.map((s) => [s.id, s.status])).toEqual([
        ['kid', 'succeeded'],
        ['gate', 'waiting'],
        ['report', 'pending'],
      ]);
      // Once the child finished, the step's outputs are the child's outputs.
      expect(main.steps[0]?.outputs).toEqual({ greeting: 'hello flowline', length: 42 });

      // The child's id, from the parent's `job.waiting` event for the child.
      const evs = await events(parentId);
      const waitedForChild = evs.find(
        (e) => e.type === 'job.waiting' && e.data.kind === 'workflow',
      );
      expect(waitedForChild?.data, JSON.stringify(evs, null, 2)).toMatchObject({
        kind: 'workflow',
        workflow: 'child',
        runId: expect.any(String),
      });
      childId = waitedForChild?.data.runId as string;
      for (const seen of seenChildIds) expect(seen).toBe(childId);

      const child = await getRun(childId);
      expect(child).toMatchObject({
        id: childId,
        workflow: 'child',
        status: 'succeeded',
        parentRunId: parentId,
        inputs: { who: 'flowline' },
        outputs: { greeting: 'hello flowline', length: 42 },
      });
      expect(child.trigger).toMatchObject({ type: 'workflow' });

      // The child also shows in the run list of its workflow.
      const list = await api('GET', '/v1/runs?workflow=child');
      expect(list.status).toBe(200);
      expect((list.body.items as { id: string }[]).map((r) => r.id)).toContain(childId);
    });

    it('answers 404 for an unknown step, 409 for one that is not an approval (API.md)', async () => {
      for (const [step, status] of [
        ['nope', 404],
        ['report', 409],
        ['kid', 409],
      ] as const) {
        const res = await api('POST', `/v1/runs/${parentId}/approvals/${step}`, { approve: true });
        expect(res.status, `${step}: ${JSON.stringify(res.body)}`).toBe(status);
      }
      const run = await getRun(parentId);
      expect(run.jobs.main?.status).toBe('waiting');
    });

    it('approves over HTTP, and the run goes on to use the child’s outputs and the actor', async () => {
      // The body's actor is ignored: the approver is the key's identity (the stack's
      // key is the unnamed key of tenant `local`).
      const res = await api('POST', `/v1/runs/${parentId}/approvals/gate`, {
        approve: true,
        actor: 'alice',
        comment: 'ok',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ approved: true, actor: 'local', comment: 'ok' });

      const done = await pollRun(parentId, 'succeeded', (run) => run.status === 'succeeded');
      const main = done.jobs.main as JobDoc;
      expect(main.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      expect(main.steps[1]?.outputs).toEqual({
        approved: true,
        actor: 'local',
        comment: 'ok',
        approvedBy: 'local',
        approvedAt: expect.any(String),
      });
      expect(main.steps[2]?.outputs).toEqual({
        message: 'hello flowline (approved by local)',
        length: 42,
        approved: true,
        comment: 'ok',
      });
      expect(done.outputs).toEqual({ message: 'hello flowline (approved by local)' });

      const types = (await events(parentId)).map((e) => e.type);
      expect(types).toEqual(
        expect.arrayContaining(['approval.requested', 'approval.decided', 'run.waiting']),
      );
      // Requested before decided, and the run ended after both.
      expect(types.indexOf('approval.requested')).toBeLessThan(types.indexOf('approval.decided'));
      expect(types.indexOf('approval.decided')).toBeLessThan(types.indexOf('run.succeeded'));
      const decided = (await events(parentId)).find((e) => e.type === 'approval.decided');
      expect(decided).toMatchObject({
        job: 'main',
        data: { step: 'gate', approved: true, actor: 'local', comment: 'ok' },
      });
    });

    it('answers 409 to approving a step that is not waiting (decided, run finished)', async () => {
      const res = await api('POST', `/v1/runs/${parentId}/approvals/gate`, { approve: true });
      expect(res.status, JSON.stringify(res.body)).toBe(409);
      expect(res.body).toMatchObject({ status: 409 });
    });

    it('answers 409 to a signal sent to a finished run, 404 to an unknown run', async () => {
      for (const id of [parentId, childId]) {
        const res = await api('POST', `/v1/runs/${id}/signals/go`, { payload: { n: 1 } });
        expect(res.status, JSON.stringify(res.body)).toBe(409);
        expect(res.body).toMatchObject({ status: 409 });
      }
      const unknown = await api('POST', '/v1/runs/run_unknown/signals/go', {});
      expect(unknown.status).toBe(404);
    });
  });

  it('answers 409 to approving a step not yet waiting (its job is still at an earlier step)', async () => {
    const yaml = `
name: slow-gate
on: { manual: true }
jobs:
  j:
    steps:
      - { id: nap, uses: sleep, with: { seconds: 1 } }
      - { id: gate, uses: approval }
`;
    await register('slow-gate', yaml);
    const id = await submit('slow-gate');
    const sleeping = await pollRun(
      id,
      'sleeping',
      (run) => run.jobs.j?.waitingFor?.kind === 'sleep',
    );
    expect(sleeping.status).toBe('waiting');
    const early = await api('POST', `/v1/runs/${id}/approvals/gate`, { approve: true });
    expect(early.status, JSON.stringify(early.body)).toBe(409);

    await pollRun(id, 'waiting for approval', (run) => run.jobs.j?.waitingFor?.kind === 'approval');
    const ok = await api('POST', `/v1/runs/${id}/approvals/gate`, { approve: false, actor: 'bob' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const done = await pollRun(id, 'failed', (run) => run.status === 'failed');
    expect(done.status).toBe('failed');
    expect(done.jobs.j?.error?.code).toBe('APPROVAL_REJECTED');
  });

  it('wakes a 2 s sleep within 2-5 s of the job waiting (3 runs)', async () => {
    await register('nap', NAP);
    const latencies: number[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await submit('nap');
      const done = await pollRun(id, 'succeeded', (run) => run.status === 'succeeded');
      const a = done.jobs.a as JobDoc;
      expect(a.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
      expect(a.steps[0]?.outputs.wokeAt).toEqual(expect.any(String));
      expect(a.steps[1]?.outputs.woke).toBe(a.steps[0]?.outputs.wokeAt);

      const evs = await events(id);
      const w = evs.findIndex((e) => e.type === 'job.waiting' && e.job === 'a');
      expect(w, JSON.stringify(evs, null, 2)).toBeGreaterThanOrEqual(0);
      expect(evs[w]?.data).toMatchObject({ kind: 'sleep' });
      const woke = evs.slice(w + 1).find((e) => e.type === 'job.started' && e.job === 'a');
      expect(woke, JSON.stringify(evs, null, 2)).toBeDefined();
      const latency = Date.parse(woke?.at ?? '') - Date.parse(evs[w]?.at ?? '');
      latencies.push(latency);
      console.log(
        `sleep 2 s, run ${i + 1}: wake-up latency ${latency} ms (job.waiting → job.started)`,
      );
    }
    console.log(`sleep 2 s wake-up latencies: ${latencies.map((l) => `${l} ms`).join(', ')}`);
    for (const latency of latencies) {
      expect(latency).toBeGreaterThanOrEqual(2_000);
      expect(latency).toBeLessThan(5_000);
    }
  }, 25_000);
});
