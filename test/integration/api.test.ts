import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../lib/api/handle.js';
import type { ApiRequest, ApiResponse } from '../../lib/api/http.js';
import type { App } from '../../lib/app.js';
import { runUntilFinished, startTestApp } from '../support/engine.js';
import { keysUnder } from '../support/stack.js';

const DIAMOND = readFileSync('examples/diamond.yml', 'utf8');
const KEY = 'test-key-acme';
const OTHER_KEY = 'test-key-globex';

let app: App;
let handle: (req: ApiRequest) => Promise<ApiResponse>;

beforeAll(async () => {
  app = await startTestApp();
  handle = createApi(app);
});

function call(
  method: string,
  path: string,
  opts: {
    body?: string | object;
    key?: string | null;
    headers?: Record<string, string>;
    query?: Record<string, string>;
  } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key !== null) headers.authorization = `Bearer ${opts.key ?? KEY}`;
  const body =
    typeof opts.body === 'string' ? opts.body : opts.body ? JSON.stringify(opts.body) : '';
  return handle({ method, path, headers, query: opts.query ?? {}, body });
}

const yamlHeaders = { 'content-type': 'application/yaml' };
const bodyOf = (res: ApiResponse) =>
  res.body as Record<string, unknown> & { errors: { path: string; line?: number }[] };

/** Every key under this app's prefix: bad input must leave it unchanged. */
const keysNow = () => keysUnder(app.redis, `${app.config.keyPrefix}:*`);

// As tenant globex: acme's workflow list is another test's.
describe('injection warnings', () => {
  const INJECT = `
name: inject
on: { manual: true }
inputs: { ref: { type: string, default: main } }
jobs:
  a:
    steps:
      - { uses: shell, with: { command: "echo \${{ inputs.ref }}" } }
      - { uses: http, continueOnError: true, with: { url: "http://\${{ inputs.ref }}.invalid/" } }
`;

  it('answers a registration with warnings (path and fix) and registers it all the same', async () => {
    const res = await call('PUT', '/v1/workflows/inject', {
      body: INJECT,
      headers: yamlHeaders,
      key: OTHER_KEY,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'inject',
      revision: 1,
      warnings: [
        { path: 'jobs.a.steps[0].with.command', message: expect.stringMatching(/through env:/) },
        { path: 'jobs.a.steps[1].with.url', message: expect.stringMatching(/host/) },
      ],
    });
    expect((await call('GET', '/v1/workflows/inject', { key: OTHER_KEY })).status).toBe(200);
  });

  it('answers an inline run with warnings under spec., and starts it', async () => {
    const res = await call('POST', '/v1/runs', { body: { spec: INJECT }, key: OTHER_KEY });
    expect(res.status).toBe(202);
    const body = res.body as { id: string; warnings: { path: string }[] };
    expect(body.warnings.map((w) => w.path)).toEqual([
      'spec.jobs.a.steps[0].with.command',
      'spec.jobs.a.steps[1].with.url',
    ]);
    expect(body.id).toMatch(/^run_/);
  });

  it('says nothing extra for a spec without warnings', async () => {
    const quiet =
      'name: quiet\non: { manual: true }\njobs: { a: { steps: [{ uses: shell, with: { command: "make" } }] } }\n';
    const res = await call('PUT', '/v1/workflows/quiet', {
      body: quiet,
      headers: yamlHeaders,
      key: OTHER_KEY,
    });
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty('warnings');
  });
});

describe('routing and auth', () => {
  it('answers health without a key', async () => {
    const res = await call('GET', '/v1/health', { key: null });
    expect(res).toMatchObject({ status: 200, body: { redis: 'ok', queue: 'ok' } });
  });

  it.each([
    ['no key', null],
    ['a wrong key', 'nope-nope-nope'],
  ])('answers 401 with %s', async (_, key) => {
    const res = await call('GET', '/v1/workflows', { key });
    expect(res.status).toBe(401);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
  });

  it.each([
    ['GET', '/v1/nothing-here', 404],
    ['DELETE', '/v1/workflows/diamond', 405],
    ['POST', '/v1/health', 405],
  ])('%s %s answers a %i problem document', async (method, path, status) => {
    const res = await call(method, path);
    expect(res.status).toBe(status);
    expect(bodyOf(res)).toMatchObject({ status, title: expect.any(String), errors: [] });
  });

  it('names the allowed methods of a 405 in the Allow header', async () => {
    const res = await call('DELETE', '/v1/workflows/diamond');
    expect(res.headers?.allow).toBe('GET, PUT');
  });

  it('answers 400 for a malformed JSON spec and writes nothing', async () => {
    const before = await keysNow();
    const res = await call('PUT', '/v1/workflows/x', {
      body: '{"name": "x",',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(await keysNow()).toEqual(before);
  });

  it('answers 413 for a body over 1 MiB and writes nothing', async () => {
    const before = await keysNow();
    const res = await call('POST', '/v1/runs', { body: 'x'.repeat(1024 * 1024 + 1) });
    expect(res.status).toBe(413);
    expect(await keysNow()).toEqual(before);
  });
});

describe('workflows', () => {
  it('rejects a bad YAML spec with every problem, its path and line, and writes nothing', async () => {
    const before = await keysNow();
    const res = await call('PUT', '/v1/workflows/bad', {
      headers: yamlHeaders,
      body: 'name: bad\non: { manual: true }\njobs:\n  a:\n    needs: [ghost]\n    steps:\n      - uses: plugin:x\n',
    });
    expect(res.status).toBe(422);
    const paths = bodyOf(res).errors.map((e) => e.path);
    expect(paths).toContain('jobs.a.steps[0].uses');
    expect(bodyOf(res).errors.find((e) => e.path === 'jobs.a.steps[0].uses')?.line).toBe(7);
    expect(await keysNow()).toEqual(before);
  });

  it('answers 422 when the URL name and the spec name differ', async () => {
    const res = await call('PUT', '/v1/workflows/other', { headers: yamlHeaders, body: DIAMOND });
    expect(res.status).toBe(422);
    expect(bodyOf(res).errors).toEqual([{ path: 'name', message: "must equal 'other'" }]);
  });

  it('registers revisions: 201, the same spec again 200 with the same revision, a change 201', async () => {
    const first = await call('PUT', '/v1/workflows/diamond', {
      headers: yamlHeaders,
      body: DIAMOND,
    });
    expect(first).toMatchObject({
      status: 201,
      body: { name: 'diamond', version: '1.0', revision: 1 },
    });
    const same = await call('PUT', '/v1/workflows/diamond', {
      headers: yamlHeaders,
      body: `# comment\n${DIAMOND}`,
    });
    expect(same).toMatchObject({ status: 200, body: { revision: 1 } });
    const list = await call('GET', '/v1/workflows');
    expect(bodyOf(list).items).toEqual([
      { name: 'diamond', version: '1.0', revision: 1, triggers: ['manual'] },
    ]);
    const one = await call('GET', '/v1/workflows/diamond');
    expect(bodyOf(one)).toMatchObject({ name: 'diamond', revision: 1, spec: { name: 'diamond' } });
  });

  it('accepts JSON specs too', async () => {
    const spec = {
      name: 'json-one',
      on: { manual: true },
      jobs: { a: { steps: [{ uses: 'action:noop' }] } },
    };
    const res = await call('PUT', '/v1/workflows/json-one', { body: spec });
    expect(res.status).toBe(201);
  });
});

describe('runs', () => {
  beforeAll(async () => {
    await call('PUT', '/v1/workflows/diamond', { headers: yamlHeaders, body: DIAMOND });
    await call('PUT', '/v1/workflows/typed', {
      headers: yamlHeaders,
      body: 'name: typed\non: { manual: true }\ninputs: { ref: { type: string, required: true } }\njobs:\n  a: { steps: [{ uses: action:noop }] }\n',
    });
  });

  it('submits, runs and reads back a registered workflow', async () => {
    const res = await call('POST', '/v1/workflows/diamond/runs', { body: {} });
    expect(res.status).toBe(202);
    const summary = bodyOf(res) as unknown as {
      id: string;
      status: string;
      links: { self: string };
    };
    expect(summary).toMatchObject({ workflow: 'diamond', revision: 1, status: 'queued' });
    expect(await runUntilFinished(app, 'acme', summary.id)).toBe('succeeded');
    const doc = await call('GET', summary.links.self);
    expect(bodyOf(doc)).toMatchObject({ status: 'succeeded', outputs: { result: 'b(1)+c(1)' } });
    const events = await call('GET', `/v1/runs/${summary.id}/events`, { query: { limit: '3' } });
    const page = bodyOf(events) as unknown as { items: { type: string }[]; next: string };
    expect(page.items.map((e) => e.type)).toEqual(['run.created', 'job.queued', 'job.started']);
    const rest = await call('GET', `/v1/runs/${summary.id}/events`, {
      query: { after: page.next },
    });
    expect((bodyOf(rest) as unknown as { items: { type: string }[] }).items.at(-1)?.type).toBe(
      'run.succeeded',
    );
  });

  it('hides a run from other tenants (404, not 403)', async () => {
    const res = await call('POST', '/v1/workflows/diamond/runs', { body: {} });
    const id = (bodyOf(res) as unknown as { id: string }).id;
    expect((await call('GET', `/v1/runs/${id}`, { key: OTHER_KEY })).status).toBe(404);
    expect((await call('GET', `/v1/runs/${id}/events`, { key: OTHER_KEY })).status).toBe(404);
  });

  it.each([
    ['malformed JSON', '{"inputs":', 400, ''],
    ['an unknown field', { input: {} }, 422, ''],
    ['a missing required input', {}, 422, 'inputs.ref'],
    ['an input of the wrong type', { inputs: { ref: 3 } }, 422, 'inputs.ref'],
    ['an unknown input', { inputs: { ref: 'x', extra: 1 } }, 422, 'inputs.extra'],
  ])('answers %s with a %i naming the field and writes nothing', async (_, body, status, path) => {
    const before = await keysNow();
    const res = await call('POST', '/v1/workflows/typed/runs', { body: body as object });
    expect(res.status).toBe(status);
    if (path) expect(bodyOf(res).errors.map((e) => e.path)).toContain(path);
    expect(await keysNow()).toEqual(before);
  });

  it('answers 404 for an unknown workflow', async () => {
    expect((await call('POST', '/v1/workflows/nope/runs', { body: {} })).status).toBe(404);
  });

  it('runs an inline spec, reporting its problems under spec.', async () => {
    const bad = await call('POST', '/v1/runs', {
      body: { spec: { name: 'x', on: { manual: true }, jobs: {} } },
    });
    expect(bad.status).toBe(422);
    expect(bodyOf(bad).errors[0]?.path).toMatch(/^spec/);
    const ok = await call('POST', '/v1/runs', {
      body: {
        spec: 'name: inline\non: { manual: true }\njobs: { a: { steps: [{ uses: action:noop }] } }',
      },
    });
    expect(ok.status).toBe(202);
    const id = (bodyOf(ok) as unknown as { id: string }).id;
    expect(await runUntilFinished(app, 'acme', id)).toBe('succeeded');
  });

  it('lists runs newest first with a cursor and filters', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        (
          bodyOf(
            await call('POST', '/v1/workflows/typed/runs', { body: { inputs: { ref: `r${i}` } } }),
          ) as unknown as { id: string }
        ).id,
      );
    }
    const first = bodyOf(
      await call('GET', '/v1/runs', { query: { workflow: 'typed', limit: '2' } }),
    ) as unknown as {
      items: { id: string }[];
      nextCursor: string;
    };
    expect(first.items.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    const second = bodyOf(
      await call('GET', '/v1/runs', {
        query: { workflow: 'typed', limit: '2', cursor: first.nextCursor },
      }),
    ) as unknown as { items: { id: string }[]; nextCursor: string | null };
    expect(second.items.map((r) => r.id)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeNull();
    expect((await call('GET', '/v1/runs', { query: { limit: '0' } })).status).toBe(400);
    expect((await call('GET', '/v1/runs', { query: { status: 'weird' } })).status).toBe(400);
  });
});

describe('idempotency keys', () => {
  beforeAll(async () => {
    await call('PUT', '/v1/workflows/diamond', { headers: yamlHeaders, body: DIAMOND });
  });

  it('returns one run for concurrent duplicates, replayed with a header', async () => {
    const headers = { 'idempotency-key': 'deploy-42' };
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        call('POST', '/v1/workflows/diamond/runs', { body: {}, headers }),
      ),
    );
    const ids = new Set(answers.map((a) => (bodyOf(a) as unknown as { id: string }).id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.headers?.['idempotent-replayed'] === 'true')).toHaveLength(7);
  });

  it('answers 422 for the same key with a different body, and 400 for a bad key', async () => {
    await call('POST', '/v1/workflows/diamond/runs', {
      body: {},
      headers: { 'idempotency-key': 'k-1' },
    });
    const other = await call('POST', '/v1/workflows/diamond/runs', {
      body: { env: { A: 'b' } },
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(other.status).toBe(422);
    const bad = await call('POST', '/v1/workflows/diamond/runs', {
      body: {},
      headers: { 'idempotency-key': 'a b' },
    });
    expect(bad.status).toBe(400);
  });
});

describe('cancel', () => {
  beforeAll(async () => {
    await call('PUT', '/v1/workflows/diamond', { headers: yamlHeaders, body: DIAMOND });
  });

  it('cancels a queued run (202), then answers 409; unknown or foreign runs 404; bad bodies 422', async () => {
    const id = (
      bodyOf(await call('POST', '/v1/workflows/diamond/runs', { body: {} })) as unknown as {
        id: string;
      }
    ).id;
    expect((await call('POST', `/v1/runs/${id}/cancel`, { body: { reason: 1 } })).status).toBe(422);
    expect((await call('POST', `/v1/runs/${id}/cancel`, { body: {}, key: OTHER_KEY })).status).toBe(
      404,
    );
    const res = await call('POST', `/v1/runs/${id}/cancel`, {
      body: { reason: 'changed my mind' },
    });
    expect(res).toMatchObject({ status: 202, body: { id, status: 'cancelled' } });
    const doc = bodyOf(await call('GET', `/v1/runs/${id}`));
    expect(doc).toMatchObject({
      status: 'cancelled',
      error: { code: 'CANCELLED', message: 'changed my mind' },
    });
    expect((await call('POST', `/v1/runs/${id}/cancel`, { body: {} })).status).toBe(409);
    expect((await call('POST', '/v1/runs/run_nope/cancel', { body: {} })).status).toBe(404);
  });
});
