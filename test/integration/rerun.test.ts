import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunDoc } from '../../lib/api/documents.js';
import { createApi } from '../../lib/api/handle.js';
import type { ApiRequest, ApiResponse } from '../../lib/api/http.js';
import type { App } from '../../lib/app.js';
import { pollOnce, runUntilFinished, startTestApp } from '../support/engine.js';
import { keysUnder } from '../support/stack.js';

const KEY = 'test-key-acme';
const OTHER_KEY = 'test-key-globex';

/**
 * a records the id of the run it ran in, so a reused a is told from a re-run one;
 * b fails while `inputs.broken` and otherwise passes on what it saw of a, and the
 * `trigger` its expressions saw.
 */
const FLAKY = `
name: flaky
on: { manual: true }
inputs: { broken: { type: boolean, default: false } }
jobs:
  a:
    steps:
      - id: mark
        uses: action:echo
        with: { ranIn: "\${{ run.id }}" }
    outputs: { ranIn: "\${{ steps.mark.outputs.ranIn }}" }
  b:
    needs: [a]
    steps:
      - if: "\${{ inputs.broken }}"
        uses: action:fail
        with: { message: broken on purpose }
      - id: use
        uses: action:echo
        with: { saw: "\${{ needs.a.outputs.ranIn }}", trigger: "\${{ toJSON(trigger) }}" }
    outputs:
      saw: "\${{ steps.use.outputs.saw }}"
      trigger: "\${{ steps.use.outputs.trigger }}"
outputs: { saw: "\${{ jobs.b.outputs.saw }}" }
`;
const SLOW = `
name: slow
on: { manual: true }
jobs:
  nap: { steps: [{ uses: action:sleep-ms, with: { ms: 1500 } }] }
`;

let app: App;
let handle: (req: ApiRequest) => Promise<ApiResponse>;

beforeAll(async () => {
  app = await startTestApp();
  handle = createApi(app);
  for (const [name, body] of [
    ['flaky', FLAKY],
    ['slow', SLOW],
    ['diamond', readFileSync('examples/diamond.yml', 'utf8')],
  ] as const) {
    const res = await call('PUT', `/v1/workflows/${name}`, {
      body,
      headers: { 'content-type': 'application/yaml' },
    });
    expect(res.status).toBe(201);
  }
});

function call(
  method: string,
  path: string,
  opts: { body?: string | object; key?: string; headers?: Record<string, string> } = {},
) {
  const body =
    typeof opts.body === 'string' ? opts.body : opts.body ? JSON.stringify(opts.body) : '';
  return handle({
    method,
    path,
    headers: { authorization: `Bearer ${opts.key ?? KEY}`, ...opts.headers },
    query: {},
    body,
  });
}

const bodyOf = <T = Record<string, unknown>>(res: ApiResponse) => res.body as T;
const keysNow = () => keysUnder(app.redis, `${app.config.keyPrefix}:*`);

async function finishedRun(workflow: string, inputs: Record<string, unknown> = {}) {
  const res = await call('POST', `/v1/workflows/${workflow}/runs`, { body: { inputs } });
  const { id } = bodyOf<{ id: string }>(res);
  await runUntilFinished(app, 'acme', id);
  return id;
}

async function doc(id: string): Promise<RunDoc> {
  return bodyOf<RunDoc>(await call('GET', `/v1/runs/${id}`));
}

describe('POST /v1/runs/{runId}/rerun', () => {
  it('reruns a failed run from its failed job, reusing the outputs of the jobs before it', async () => {
    const failed = await finishedRun('flaky', { broken: true });
    expect(await doc(failed)).toMatchObject({
      status: 'failed',
      jobs: { a: { status: 'succeeded' }, b: { status: 'failed' } },
    });

    const res = await call('POST', `/v1/runs/${failed}/rerun`, {
      body: { inputs: { broken: false } },
    });
    expect(res.status).toBe(202);
    const summary = bodyOf<{ id: string; links: { self: string } }>(res);
    expect(summary).toMatchObject({
      workflow: 'flaky',
      revision: 1,
      status: 'queued',
      rerunOf: failed,
      fromJob: 'b',
      reused: ['a'],
    });
    expect(res.headers?.location).toBe(summary.links.self);
    expect(await runUntilFinished(app, 'acme', summary.id)).toBe('succeeded');

    const rerun = await doc(summary.id);
    expect(rerun).toMatchObject({
      status: 'succeeded',
      rerunOf: failed,
      inputs: { broken: false },
      // The same type as the first run; its payload (an API run's inputs) follows the new inputs.
      trigger: { type: 'api', actor: 'acme', payload: { broken: false }, rerunOf: failed },
      // b saw a's outputs from the failed run: a did not run again.
      outputs: { saw: failed },
      jobs: {
        a: { status: 'succeeded', outputs: { ranIn: failed } },
        b: { status: 'succeeded', outputs: { saw: failed } },
      },
    });
    // b's expressions saw the trigger the document shows.
    expect(JSON.parse(String(rerun.jobs.b?.outputs.trigger))).toEqual(rerun.trigger);
    expect(rerun.jobs.a?.steps).toEqual([
      expect.objectContaining({ id: 'mark', status: 'succeeded', reused: true }),
    ]);
    expect(rerun.jobs.b?.steps.every((s) => s.reused === undefined)).toBe(true);

    const events = bodyOf<{ items: { type: string; job?: string; data: unknown }[] }>(
      await call('GET', `/v1/runs/${summary.id}/events`),
    ).items;
    expect(events.filter((e) => e.job === 'a')).toEqual([
      expect.objectContaining({ type: 'job.succeeded', data: { reused: true, from: failed } }),
    ]);
    expect(
      events.filter((e) => e.job === 'b' && e.type.startsWith('job.')).map((e) => e.type),
    ).toEqual(['job.queued', 'job.started', 'job.succeeded']);
    expect(events.at(-1)?.type).toBe('run.succeeded');
  });

  it('keeps the inputs of the run unless new ones are given', async () => {
    const failed = await finishedRun('flaky', { broken: true });
    const res = await call('POST', `/v1/runs/${failed}/rerun`, { body: {} });
    expect(res.status).toBe(202);
    const { id } = bodyOf<{ id: string }>(res);
    expect(await runUntilFinished(app, 'acme', id)).toBe('failed');
    expect(await doc(id)).toMatchObject({
      inputs: { broken: true },
      rerunOf: failed,
      trigger: { type: 'api', payload: { broken: true }, rerunOf: failed },
    });
  });

  it('reruns everything of a run without failures, and from an explicit fromJob', async () => {
    const ok = await finishedRun('flaky');
    const all = await call('POST', `/v1/runs/${ok}/rerun`, { body: {} });
    expect(bodyOf(all)).toMatchObject({ fromJob: null, reused: [] });
    const allId = bodyOf<{ id: string }>(all).id;
    expect(await runUntilFinished(app, 'acme', allId)).toBe('succeeded');
    expect((await doc(allId)).outputs).toEqual({ saw: allId });

    const fromB = await call('POST', `/v1/runs/${ok}/rerun`, { body: { fromJob: 'b' } });
    expect(bodyOf(fromB)).toMatchObject({ fromJob: 'b', reused: ['a'] });
    const fromBId = bodyOf<{ id: string }>(fromB).id;
    expect(await runUntilFinished(app, 'acme', fromBId)).toBe('succeeded');
    expect((await doc(fromBId)).outputs).toEqual({ saw: ok });
  });

  it('unblocks a job that needs both a reused and a rerun job only when the rerun one ends', async () => {
    const ok = await finishedRun('diamond');
    const res = await call('POST', `/v1/runs/${ok}/rerun`, { body: { fromJob: 'c' } });
    expect(bodyOf(res)).toMatchObject({ fromJob: 'c', reused: ['a', 'b'] });
    const { id } = bodyOf<{ id: string }>(res);
    const fields = await app.redis.hgetall(`${app.config.keyPrefix}:acme:{${id}}:jobs`);
    expect([fields['status:c'], fields['status:d'], fields['waiting:d']]).toEqual([
      'queued',
      'pending',
      '1',
    ]);
    expect(await runUntilFinished(app, 'acme', id)).toBe('succeeded');
    expect(await doc(id)).toMatchObject({
      outputs: { result: 'b(1)+c(1)' },
      jobs: { a: { status: 'succeeded' }, b: { status: 'succeeded' }, d: { status: 'succeeded' } },
    });
  });

  it('answers 409 while the run is queued or running, and writes nothing', async () => {
    const { id } = bodyOf<{ id: string }>(await call('POST', '/v1/workflows/slow/runs', {}));
    let before = await keysNow();
    expect((await call('POST', `/v1/runs/${id}/rerun`, { body: {} })).status).toBe(409);
    expect(await keysNow()).toEqual(before);

    const executing = pollOnce(app, 2);
    for (let i = 0; i < 100; i++) {
      if ((await doc(id)).status === 'running') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await doc(id)).status).toBe('running');
    before = await keysNow();
    const res = await call('POST', `/v1/runs/${id}/rerun`, { body: {} });
    expect(res).toMatchObject({ status: 409, body: { title: 'Run not finished' } });
    expect(await keysNow()).toEqual(before);
    await executing;
    expect(await runUntilFinished(app, 'acme', id)).toBe('succeeded');
  });

  it.each([
    ['an unknown fromJob', 422, { fromJob: 'nope' }, 'fromJob'],
    ['a fromJob that is not a string', 422, { fromJob: 3 }, 'fromJob'],
    ['an unknown field', 422, { from: 'b' }, ''],
    ['inputs that no longer validate', 422, { inputs: { broken: 'yes' } }, 'inputs.broken'],
    ['malformed JSON', 400, '{"fromJob":', ''],
  ])('answers %s with a %i naming the field and writes nothing', async (_, status, body, path) => {
    const failed = await finishedRun('flaky', { broken: true });
    const before = await keysNow();
    const res = await call('POST', `/v1/runs/${failed}/rerun`, { body });
    expect(res.status).toBe(status);
    if (path) {
      expect(bodyOf<{ errors: { path: string }[] }>(res).errors.map((e) => e.path)).toContain(path);
    }
    expect(await keysNow()).toEqual(before);
  });

  it('answers 404 for an unknown run and for another tenant’s run', async () => {
    const failed = await finishedRun('flaky', { broken: true });
    expect((await call('POST', '/v1/runs/run_nope/rerun', { body: {} })).status).toBe(404);
    const before = await keysNow();
    const res = await call('POST', `/v1/runs/${failed}/rerun`, { body: {}, key: OTHER_KEY });
    expect(res.status).toBe(404);
    expect(await keysNow()).toEqual(before);
  });
});
