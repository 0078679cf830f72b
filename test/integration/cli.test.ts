import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../lib/cli/main.js';

/**
 * `main()` against a real HTTP server that imitates the API's answers (API.md): the
 * client's requests go over the wire, and each test states what the server answers.
 */

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Route = (req: Seen) => Reply;

const DIAMOND_PATH = resolve('examples/diamond.yml');
const KEY = 'fl_test_key';

let server: Server;
let url: string;
let routes: Record<string, Route>;
let seen: Seen[];
let dir: string;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const u = new URL(req.url ?? '/', 'http://x');
    const got: Seen = {
      method: req.method ?? '',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    seen.push(got);
    const route = routes[`${got.method} ${got.path}`];
    const reply = route
      ? route(got)
      : problem(404, 'Not Found', `no route for ${got.method} ${got.path}`);
    const text =
      reply.body === undefined
        ? ''
        : typeof reply.body === 'string'
          ? reply.body
          : JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(text);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'flowline-cli-'));
});

afterAll(async () => {
  await new Promise((done) => server.close(done));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  routes = {};
  seen = [];
});

function problem(status: number, title: string, detail?: string, errors: object[] = []): Reply {
  return {
    status,
    headers: { 'content-type': 'application/problem+json' },
    body: { type: 'about:blank', title, status, ...(detail ? { detail } : {}), errors },
  };
}

/** Runs the CLI in-process with the test server as its API; no real waiting between polls. */
async function cli(
  argv: string[],
  opts: { env?: Record<string, string>; cwd?: string; tty?: boolean } = {},
) {
  let stdout = '';
  let stderr = '';
  const code = await main(
    argv,
    { FLOWLINE_URL: url, FLOWLINE_API_KEY: KEY, ...opts.env },
    {
      stdout: { write: (s: string) => (stdout += s), ...(opts.tty ? { isTTY: true } : {}) },
      stderr: { write: (s: string) => (stderr += s) },
      cwd: opts.cwd ?? dir,
      sleep: async () => {},
      now: () => new Date(2024, 0, 1, 12, 0, 1),
    },
  );
  const lines = (s: string) => (s === '' ? [] : s.trimEnd().split('\n'));
  return { code, out: lines(stdout), err: lines(stderr), stdout };
}

const summary = (id: string, status = 'queued') => ({
  id,
  workflow: 'diamond',
  revision: 1,
  status,
  createdAt: '2024-01-01T12:00:00.000Z',
  links: { self: `/v1/runs/${id}`, events: `/v1/runs/${id}/events` },
});

const step = (id: string, status: string, error: object | null = null) => ({
  id,
  uses: 'action:echo',
  status,
  attempt: status === 'pending' ? 0 : 1,
  outputs: {},
  error,
});
const job = (status: string, steps: object[], error: object | null = null) => ({
  status,
  attempt: status === 'pending' ? 0 : 1,
  needs: [],
  outputs: {},
  error,
  steps,
});
const runDoc = (status: string, jobs: Record<string, object>, extra: object = {}) => ({
  id: 'run_1',
  workflow: 'diamond',
  status,
  inputs: {},
  outputs: {},
  error: null,
  startedAt: '2024-01-01T12:00:00.000Z',
  finishedAt: null,
  jobs,
  ...extra,
});

/** Answers GETs of the run with these documents in turn, repeating the last. */
function progress(docs: object[]): Route {
  let i = 0;
  return () => ({ status: 200, body: docs[Math.min(i++, docs.length - 1)] });
}

type EventRow = [second: number, type: string, job?: string, step?: string, data?: object];

/** The run's events as the API pages them (3 a page, `next` = the last id), at 12:00:SS local. */
function stream(rows: EventRow[]): Route {
  const events = rows.map(([sec, type, job, step, data], i) => ({
    id: `1-${i + 1}`,
    at: new Date(2024, 0, 1, 12, 0, sec).toISOString(),
    type,
    ...(job ? { job } : {}),
    ...(step ? { step } : {}),
    data: data ?? {},
  }));
  return (req) => {
    const from = req.query.after ? events.findIndex((e) => e.id === req.query.after) + 1 : 0;
    const items = events.slice(from, from + 3);
    return { status: 200, body: { items, next: items.at(-1)?.id ?? req.query.after ?? null } };
  };
}

const DIAMOND_EVENTS: EventRow[] = [
  [0, 'run.created'],
  [0, 'run.started'],
  [0, 'job.queued', 'a', undefined, { attempt: 1 }],
  [1, 'job.started', 'a', undefined, { attempt: 1 }],
  [1, 'step.started', 'a', 'seed'],
  [3, 'step.succeeded', 'a', 'seed'],
  [3, 'job.succeeded', 'a'],
  [3, 'job.queued', 'b', undefined, { attempt: 1 }],
  [4, 'job.started', 'b', undefined, { attempt: 1 }],
  [4, 'step.started', 'b', 'derive'],
  [4, 'step.retrying', 'b', 'derive', { try: 1, error: { code: 'STEP_FAILED', message: '503' } }],
  [5, 'step.succeeded', 'b', 'derive'],
  [5, 'job.succeeded', 'b'],
  [5, 'run.succeeded'],
];

const DIAMOND_PROGRESS = [
  runDoc('queued', {
    a: job('pending', [step('seed', 'pending')]),
    b: job('pending', [step('derive', 'pending')]),
  }),
  runDoc('running', {
    a: job('running', [step('seed', 'running')]),
    b: job('pending', [step('derive', 'pending')]),
  }),
  runDoc('running', {
    a: job('succeeded', [step('seed', 'succeeded')]),
    b: job('running', [step('derive', 'running')]),
  }),
  runDoc(
    'succeeded',
    {
      a: job('succeeded', [step('seed', 'succeeded')]),
      b: job('succeeded', [step('derive', 'succeeded')]),
    },
    { finishedAt: '2024-01-01T12:00:05.000Z', outputs: { result: 'b(1)' } },
  ),
];

/** What watch reads of the run: the document when it starts, and when the run ended. */
const DIAMOND_FIRST_LAST = [DIAMOND_PROGRESS[0] as object, DIAMOND_PROGRESS[3] as object];

describe('validate', () => {
  it('accepts a valid spec with exit 0', async () => {
    const res = await cli(['validate', DIAMOND_PATH]);
    expect(res.code).toBe(0);
    expect(res.out).toEqual([`${DIAMOND_PATH}: valid workflow 'diamond' (4 jobs)`]);
    expect(seen).toEqual([]);
  });

  it('prints every problem with its path and line, exit 2', async () => {
    await writeFile(
      join(dir, 'bad.yml'),
      'name: bad\non: { manual: true }\njobs:\n  a:\n    steps:\n      - uses: nope\n      - id: x\n        uses: action:echo\n        timeout: -1\n',
    );
    const res = await cli(['validate', 'bad.yml']);
    expect(res.code).toBe(2);
    expect(res.out).toEqual([
      expect.stringMatching(/^jobs\.a\.steps\[0\]\.uses \(line 6\): unknown step kind/),
      expect.stringMatching(/^jobs\.a\.steps\[1\]\.timeout \(line 9\): unknown key/),
    ]);
    expect(res.err).toEqual(['bad.yml: 2 problems']);
  });

  it('prints a warning for a comparison that is always false, exit 0', async () => {
    await writeFile(
      join(dir, 'gate.yml'),
      'name: gate\non: { manual: true }\njobs:\n  a:\n    steps:\n      - { id: g, uses: approval }\n      - { uses: action:noop, if: "steps.g.outputs.approved == \'false\'" }\n',
    );
    const res = await cli(['validate', 'gate.yml']);
    expect(res.code).toBe(0);
    expect(res.out).toEqual(["gate.yml: valid workflow 'gate' (1 job)"]);
    expect(res.err).toEqual([
      expect.stringMatching(
        /^warning: jobs\.a\.steps\[1\]\.if: .*is always false.*Write !steps\.g\.outputs\.approved/,
      ),
    ]);
  });

  it('warns about inputs interpolated into a shell command on stderr, exit 0', async () => {
    await writeFile(
      join(dir, 'inject.yml'),
      'name: inject\non: { manual: true }\ninputs: { ref: { type: string } }\njobs:\n  a:\n    steps:\n      - { uses: shell, with: { command: "git checkout ${{ inputs.ref }}" } }\n',
    );
    const res = await cli(['validate', 'inject.yml']);
    expect(res.code).toBe(0);
    expect(res.out).toEqual(["inject.yml: valid workflow 'inject' (1 job)"]);
    expect(res.err).toEqual([
      expect.stringMatching(
        /^warning: jobs\.a\.steps\[0\]\.with\.command: inputs\.ref is interpolated into a shell command.*pass it through env:/,
      ),
    ]);
  });

  it('reads .json as JSON and reports a syntax error with its line', async () => {
    await writeFile(join(dir, 'bad.json'), '{\n  "name": "x",\n  "jobs": {,\n}\n');
    const res = await cli(['validate', 'bad.json']);
    expect(res.code).toBe(2);
    expect(res.out[0]).toMatch(/^\(root\) \(line 3\): invalid JSON/);
  });

  it('exits 2 for a file it cannot read', async () => {
    const res = await cli(['validate', 'missing.yml']);
    expect(res).toMatchObject({
      code: 2,
      err: ['flowline: cannot read missing.yml (ENOENT)', expect.any(String)],
    });
  });
});

describe('register', () => {
  it('PUTs the YAML text under the spec name with the bearer key', async () => {
    routes['PUT /v1/workflows/diamond'] = () => ({
      status: 201,
      body: { name: 'diamond', version: '1.0', revision: 1 },
    });
    const res = await cli(['register', DIAMOND_PATH]);
    expect(res).toMatchObject({ code: 0, out: ['registered diamond revision 1 (version 1.0)'] });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      body: await readFile(DIAMOND_PATH, 'utf8'),
      headers: { 'content-type': 'application/yaml', authorization: `Bearer ${KEY}` },
    });
  });

  it('says so when the spec is unchanged (200)', async () => {
    routes['PUT /v1/workflows/diamond'] = () => ({
      status: 200,
      body: { name: 'diamond', version: '1.0', revision: 4 },
    });
    const res = await cli(['register', DIAMOND_PATH]);
    expect(res).toMatchObject({ code: 0, out: ['diamond unchanged at revision 4 (version 1.0)'] });
  });

  it('sends JSON specs as JSON', async () => {
    const text = JSON.stringify({ name: 'j', on: { manual: true }, jobs: {} });
    await writeFile(join(dir, 'j.json'), text);
    routes['PUT /v1/workflows/j'] = () => ({
      status: 201,
      body: { name: 'j', version: '', revision: 1 },
    });
    const res = await cli(['register', 'j.json']);
    expect(res).toMatchObject({ code: 0, out: ['registered j revision 1'] });
    expect(seen[0]?.headers['content-type']).toBe('application/json');
    expect(seen[0]?.body).toBe(text);
  });

  it('prints a 422 problem with every error and its path, exit 2', async () => {
    routes['PUT /v1/workflows/diamond'] = () =>
      problem(
        422,
        'Validation failed',
        'invalid workflow spec: jobs.b.needs: unknown job (and 1 more)',
        [
          { path: 'jobs.b.needs[0]', message: "unknown job 'zz'", line: 19 },
          { path: 'outputs.result', message: 'unknown context' },
        ],
      );
    const res = await cli(['register', DIAMOND_PATH]);
    expect(res.code).toBe(2);
    expect(res.out).toEqual([]);
    expect(res.err).toEqual([
      'Validation failed (HTTP 422): invalid workflow spec: jobs.b.needs: unknown job (and 1 more)',
      "  jobs.b.needs[0] (line 19): unknown job 'zz'",
      '  outputs.result: unknown context',
    ]);
  });
});

describe('run', () => {
  it('starts a registered workflow with typed inputs and an idempotency key', async () => {
    routes['POST /v1/workflows/diamond/runs'] = () => ({ status: 202, body: summary('run_1') });
    const res = await cli([
      'run',
      'diamond',
      '--input',
      'n=3',
      '--input',
      'name=abc',
      '-i',
      'xs=[1,2]',
      '--input',
      'ok=true',
      '--input',
      'eq=a=b',
      '--idempotency-key',
      'deploy-42',
    ]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual(summary('run_1'));
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({
      inputs: { n: 3, name: 'abc', xs: [1, 2], ok: true, eq: 'a=b' },
    });
    expect(seen[0]?.headers['idempotency-key']).toBe('deploy-42');
  });

  it('says when the server replayed an earlier run', async () => {
    routes['POST /v1/workflows/diamond/runs'] = () => ({
      status: 200,
      body: summary('run_1'),
      headers: { 'idempotent-replayed': 'true' },
    });
    const res = await cli(['run', 'diamond', '--idempotency-key', 'k']);
    expect(res.code).toBe(0);
    expect(res.err).toEqual([
      'idempotency key seen before: this is the existing run run_1',
      'run run_1 queued; follow it: flowline watch run_1',
    ]);
  });

  it('submits an existing file inline to /v1/runs', async () => {
    routes['POST /v1/runs'] = () => ({ status: 202, body: summary('run_2') });
    const res = await cli(['run', DIAMOND_PATH]);
    expect(res.code).toBe(0);
    expect(seen[0]?.path).toBe('/v1/runs');
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ spec: await readFile(DIAMOND_PATH, 'utf8') });
  });

  it('--watch follows the run from its events to success and prints its outputs, exit 0', async () => {
    routes['POST /v1/workflows/diamond/runs'] = () => ({ status: 202, body: summary('run_1') });
    routes['GET /v1/runs/run_1'] = progress(DIAMOND_FIRST_LAST);
    routes['GET /v1/runs/run_1/events'] = stream(DIAMOND_EVENTS);
    const res = await cli(['run', 'diamond', '--watch']);
    expect(res.err).toEqual([]);
    expect(res.out).toEqual([
      'started run run_1 of diamond',
      '12:00:00 run created',
      '12:00:00 run started',
      '12:00:00 job a queued',
      '12:00:01 job a started',
      '12:00:01 step a/seed started',
      '12:00:03 step a/seed succeeded in 2.0s',
      '12:00:03 job a succeeded in 2.0s',
      '12:00:03 job b queued',
      '12:00:04 job b started',
      '12:00:04 step b/derive started',
      '12:00:04 step b/derive retrying (try 1 failed): 503 (STEP_FAILED)',
      '12:00:05 step b/derive succeeded in 1.0s after 2 tries',
      '12:00:05 job b succeeded in 1.0s',
      'run run_1 succeeded in 5.0s',
      'outputs: {',
      '  "result": "b(1)"',
      '}',
    ]);
    expect(res.code).toBe(0);
    // Page after page from the cursor the API gave: nothing read twice, nothing missed.
    const cursors = seen.filter((r) => r.path.endsWith('/events')).map((r) => r.query.after);
    expect(cursors).toEqual([undefined, '1-3', '1-6', '1-9', '1-12']);
  });

  it('prints the run id and how to follow it without --watch', async () => {
    routes['POST /v1/workflows/diamond/runs'] = () => ({ status: 202, body: summary('run_1') });
    const res = await cli(['run', 'diamond']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ id: 'run_1' });
    expect(res.err).toEqual(['run run_1 queued; follow it: flowline watch run_1']);
  });

  it('rejects a malformed --input as a usage error', async () => {
    const res = await cli(['run', 'diamond', '--input', 'novalue']);
    expect(res.code).toBe(2);
    expect(res.err[0]).toBe("flowline: --input wants key=value, got 'novalue'");
    expect(seen).toEqual([]);
  });
});

describe('watch', () => {
  it('exits 1 with the error when the run fails', async () => {
    const boom = { code: 'STEP_FAILED', message: 'exit code 3' };
    routes['GET /v1/runs/run_1'] = progress([
      runDoc('running', { b: job('running', [step('derive', 'running')]) }),
      runDoc(
        'failed',
        { b: job('failed', [step('derive', 'failed', boom)], boom) },
        { error: { code: 'JOB_FAILED', job: 'b', message: 'exit code 3' } },
      ),
    ]);
    routes['GET /v1/runs/run_1/events'] = stream([
      [1, 'job.started', 'b'],
      [1, 'step.started', 'b', 'derive'],
      [2, 'step.failed', 'b', 'derive', { error: boom }],
      [2, 'job.failed', 'b', undefined, { error: boom }],
      [2, 'run.failed'],
    ]);
    const res = await cli(['watch', 'run_1']);
    expect(res.code).toBe(1);
    expect(res.out).toEqual([
      '12:00:01 job b started',
      '12:00:01 step b/derive started',
      '12:00:02 step b/derive failed in 1.0s: exit code 3 (STEP_FAILED)',
      '12:00:02 job b failed in 1.0s: exit code 3 (STEP_FAILED)',
      'run run_1 failed',
      'error: exit code 3 (JOB_FAILED)',
    ]);
  });

  it('says why a job waits and prints the command that approves it', async () => {
    routes['GET /v1/runs/run_1'] = progress([
      runDoc('running', { ship: job('pending', [step('gate', 'pending')]) }),
      runDoc('cancelled', { ship: job('cancelled', [step('gate', 'cancelled')]) }),
    ]);
    const wait = { kind: 'approval', step: 'gate', approvers: ['alice', 'bob'] };
    routes['GET /v1/runs/run_1/events'] = stream([
      [1, 'job.started', 'ship'],
      [1, 'step.started', 'ship', 'gate'],
      [1, 'job.waiting', 'ship', undefined, wait],
      [1, 'approval.requested', 'ship', undefined, wait],
      [1, 'run.waiting'],
      [9, 'approval.decided', 'ship', undefined, { step: 'gate', approved: false, actor: 'bob' }],
      [9, 'job.cancelled', 'ship'],
      [9, 'run.cancelled'],
    ]);
    const res = await cli(['watch', 'run_1']);
    expect(res.code).toBe(1);
    expect(res.out).toEqual([
      '12:00:01 job ship started',
      '12:00:01 step ship/gate started',
      '12:00:01 job ship waiting for approval of step gate from alice or bob',
      '12:00:01 approval requested: step gate of job ship · flowline approve run_1 gate   (or --reject)',
      '12:00:01 run waiting',
      '12:00:09 step gate rejected by bob',
      '12:00:09 job ship cancelled in 8.0s',
      'run run_1 cancelled',
    ]);
  });

  it('draws a live tree with a progress line when stdout is a terminal', async () => {
    routes['GET /v1/runs/run_1'] = progress(DIAMOND_FIRST_LAST);
    routes['GET /v1/runs/run_1/events'] = stream(DIAMOND_EVENTS);
    const res = await cli(['watch', 'run_1'], { tty: true });
    expect(res.code).toBe(0);
    // log-update redraws in place; the last frame stays, then the result lines.
    const text = stripVTControlCharacters(res.stdout);
    expect(text).toContain('run run_1 diamond  succeeded  5.0s');
    expect(text).toMatch(/✔ a {2}succeeded {2}2\.0s\n {6}✔ seed {2}succeeded {2}2\.0s/);
    expect(text).toContain('✔ derive  succeeded (try 2)  1.0s');
    expect(text).toContain('[████████████████████] 2/2 jobs done');
    expect(text.trimEnd().endsWith('}')).toBe(true);
  });

  it('ends when the run has ended although its stream lost the end (retention trimmed it)', async () => {
    routes['GET /v1/runs/run_1'] = progress(DIAMOND_FIRST_LAST);
    routes['GET /v1/runs/run_1/events'] = stream(DIAMOND_EVENTS.slice(0, 4));
    const res = await cli(['watch', 'run_1']);
    expect(res.code).toBe(0);
    expect(res.out.at(-4)).toBe('run run_1 succeeded in 5.0s');
    const polls = seen.filter((r) => r.path.endsWith('/events')).length;
    expect(polls).toBe(2 + 10);
  });

  it('rides out a brief 503 from the gateway', async () => {
    routes['GET /v1/runs/run_1'] = progress(DIAMOND_FIRST_LAST);
    const events = stream(DIAMOND_EVENTS);
    let calls = 0;
    routes['GET /v1/runs/run_1/events'] = (req) =>
      ++calls === 2
        ? {
            status: 503,
            body: '<html>Service Unavailable</html>',
            headers: { 'content-type': 'text/html' },
          }
        : events(req);
    const res = await cli(['watch', 'run_1']);
    expect(res.code).toBe(0);
    expect(res.out.at(-4)).toBe('run run_1 succeeded in 5.0s');
    expect(res.out.filter((l) => l.endsWith('job a queued'))).toHaveLength(1);
  });

  it('exits 2 with the problem for an unknown run', async () => {
    routes['GET /v1/runs/nope'] = () => problem(404, 'Not Found', "no run 'nope'");
    const res = await cli(['watch', 'nope']);
    expect(res).toMatchObject({ code: 2, out: [], err: ["Not Found (HTTP 404): no run 'nope'"] });
  });
});

describe('logs, workflows', () => {
  const shell = (status: string, outputs: object, error: object | null = null) => ({
    ...step('build', status, error),
    uses: 'shell',
    outputs,
    startedAt: '2024-01-01T12:00:00.000Z',
    finishedAt: status === 'running' ? null : '2024-01-01T12:00:02.000Z',
  });

  it("prints each step's shell output and error, for one job or all instances of a matrix job", async () => {
    const boom = { code: 'STEP_FAILED', message: 'exit code 2' };
    routes['GET /v1/runs/run_1'] = () => ({
      status: 200,
      body: runDoc('failed', {
        'test[os=linux]': job('succeeded', [shell('succeeded', { stdout: 'ok\n', stderr: '' })]),
        'test[os=mac]': job('failed', [shell('failed', { stdout: '', stderr: 'no\n' }, boom)]),
        other: job('succeeded', [step('s0', 'succeeded')]),
      }),
    });
    const res = await cli(['logs', 'run_1', '--job', 'test']);
    expect(res.code).toBe(0);
    expect(res.out).toEqual([
      '── test[os=linux]/build (shell) succeeded in 2.0s',
      'ok',
      '── test[os=mac]/build (shell) failed in 2.0s',
      'stderr:',
      'no',
      'error: exit code 2 (STEP_FAILED)',
    ]);
    const unknown = await cli(['logs', 'run_1', '--job', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err[0]).toBe(
      "flowline: run run_1 has no job 'nope' (jobs: test[os=linux], test[os=mac], other)",
    );
  });

  it('--follow prints each step once it finished, until the run ends', async () => {
    routes['GET /v1/runs/run_1'] = progress([
      runDoc('running', { a: job('running', [shell('running', { stdout: '' })]) }),
      runDoc('succeeded', { a: job('succeeded', [shell('succeeded', { stdout: 'done' })]) }),
    ]);
    const res = await cli(['logs', 'run_1', '--follow']);
    expect(res).toMatchObject({
      code: 0,
      out: ['── a/build (shell) succeeded in 2.0s', 'done'],
    });
  });

  it('workflows lists the registered workflows', async () => {
    routes['GET /v1/workflows'] = () => ({
      status: 200,
      body: { items: [{ name: 'diamond', version: '1.0', revision: 2, triggers: ['manual'] }] },
    });
    const res = await cli(['workflows']);
    expect(res).toMatchObject({
      code: 0,
      out: ['NAME     VERSION  REV  TRIGGERS', 'diamond  1.0      2    manual'],
    });
  });
});

describe('get, list, events', () => {
  it('get prints the run document as pretty JSON', async () => {
    const doc = DIAMOND_PROGRESS[3];
    routes['GET /v1/runs/run_1'] = () => ({ status: 200, body: doc });
    const res = await cli(['get', 'run_1']);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(`${JSON.stringify(doc, null, 2)}\n`);
  });

  it('list passes the filters and prints a table', async () => {
    routes['GET /v1/runs'] = () => ({
      status: 200,
      body: { items: [summary('run_9', 'failed')], nextCursor: 'run_9' },
    });
    const res = await cli(['list', '--workflow', 'diamond', '--status', 'failed', '--limit', '1']);
    expect(res.code).toBe(0);
    expect(seen[0]?.query).toEqual({ workflow: 'diamond', status: 'failed', limit: '1' });
    expect(res.out).toEqual([
      'ID     WORKFLOW  REV  STATUS  CREATED',
      'run_9  diamond   1    failed  2024-01-01T12:00:00.000Z',
    ]);
    expect(res.err).toEqual(['more: flowline list --cursor run_9']);
  });

  it('list shows a 400 problem for a bad limit', async () => {
    routes['GET /v1/runs'] = () =>
      problem(400, 'Bad query parameter', 'limit must be 1-100', [
        { path: 'query.limit', message: 'must be an integer from 1 to 100' },
      ]);
    const res = await cli(['list', '--limit', '500']);
    expect(res.code).toBe(2);
    expect(res.err).toEqual([
      'Bad query parameter (HTTP 400): limit must be 1-100',
      '  query.limit: must be an integer from 1 to 100',
    ]);
  });

  it('events follows `next` until a page comes back empty', async () => {
    const pages: Record<string, object> = {
      '': {
        items: [
          { id: '1-0', at: '2024-01-01T12:00:00.000Z', type: 'run.created', data: {} },
          { id: '2-0', at: '2024-01-01T12:00:00.100Z', type: 'job.queued', job: 'a', data: {} },
        ],
        next: '2-0',
      },
      '2-0': {
        items: [
          {
            id: '3-0',
            at: '2024-01-01T12:00:00.200Z',
            type: 'step.succeeded',
            job: 'a',
            step: 'seed',
            data: { attempt: 1 },
          },
        ],
        next: '3-0',
      },
      '3-0': { items: [], next: '3-0' },
    };
    routes['GET /v1/runs/run_1/events'] = (req) => ({
      status: 200,
      body: pages[req.query.after ?? ''],
    });
    const res = await cli(['events', 'run_1']);
    expect(res.code).toBe(0);
    expect(seen.map((s) => s.query.after)).toEqual([undefined, '2-0', '3-0']);
    expect(res.out).toEqual([
      '2024-01-01T12:00:00.000Z run.created',
      '2024-01-01T12:00:00.100Z job.queued a',
      '2024-01-01T12:00:00.200Z step.succeeded a/seed {"attempt":1}',
    ]);
  });
});

describe('cancel, approve, signal, rerun', () => {
  it('prints a 501 problem nicely, exit 2', async () => {
    routes['POST /v1/runs/run_1/cancel'] = () =>
      problem(501, 'NOT_IMPLEMENTED', 'POST /v1/runs/run_1/cancel is not implemented yet');
    const res = await cli(['cancel', 'run_1']);
    expect(res).toMatchObject({
      code: 2,
      err: ['NOT_IMPLEMENTED (HTTP 501): POST /v1/runs/run_1/cancel is not implemented yet'],
    });
  });

  it.each<[string, string[], string, object, string]>([
    [
      'cancel',
      ['cancel', 'run_1', '--reason', 'oops'],
      '/v1/runs/run_1/cancel',
      { reason: 'oops' },
      'cancel requested for run run_1',
    ],
    [
      'approve --reject',
      ['approve', 'run_1', 'gate', '--reject', '--comment', 'not today'],
      '/v1/runs/run_1/approvals/gate',
      { approve: false, comment: 'not today' },
      'rejected step gate of run run_1',
    ],
    [
      'approve',
      ['approve', 'run_1', 'gate'],
      '/v1/runs/run_1/approvals/gate',
      { approve: true },
      'approved step gate of run run_1',
    ],
    [
      'signal',
      ['signal', 'run_1', 'go', '--payload', '{"n":1}'],
      '/v1/runs/run_1/signals/go',
      { payload: { n: 1 } },
      'signal go sent to run_1',
    ],
    [
      'rerun',
      ['rerun', 'run_1', '--from', 'b'],
      '/v1/runs/run_1/rerun',
      { fromJob: 'b' },
      'rerun of run_1 requested',
    ],
  ])('%s posts its body', async (_, argv, path, body, line) => {
    routes[`POST ${path}`] = () => ({ status: 202 });
    const res = await cli(argv);
    expect(res).toMatchObject({ code: 0, out: [line] });
    expect(seen[0]?.path).toBe(path);
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual(body);
  });

  it('approve takes --actor with a deprecation note and does not send it (the key is the approver)', async () => {
    routes['POST /v1/runs/run_1/approvals/gate'] = () => ({ status: 200 });
    const res = await cli(['approve', 'run_1', 'gate', '--actor', 'release-manager']);
    expect(res).toMatchObject({ code: 0, out: ['approved step gate of run run_1'] });
    expect(res.err.join('\n')).toMatch(/--actor is deprecated and ignored/);
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ approve: true });
  });

  it('rerun prints the new run when the server answers with one', async () => {
    routes['POST /v1/runs/run_1/rerun'] = () => ({ status: 202, body: summary('run_3') });
    const res = await cli(['rerun', 'run_1']);
    expect(JSON.parse(res.stdout)).toEqual(summary('run_3'));
  });

  it('refuses a --payload that is not JSON without calling the API', async () => {
    const res = await cli(['signal', 'run_1', 'go', '--payload', '{nope']);
    expect(res.code).toBe(2);
    expect(res.err[0]).toMatch(/^flowline: --payload is not valid JSON/);
    expect(seen).toEqual([]);
  });
});

describe('connection and auth', () => {
  it('prefers --url and --key over the environment', async () => {
    routes['GET /v1/runs/run_1'] = () => ({ status: 200, body: {} });
    const res = await cli(['get', 'run_1', '--url', url, '--key', 'flag-key'], {
      env: { FLOWLINE_URL: 'http://127.0.0.1:1', FLOWLINE_API_KEY: 'env-key' },
    });
    expect(res.code).toBe(0);
    expect(seen[0]?.headers.authorization).toBe('Bearer flag-key');
  });

  it('uses .flowline/local-api-key in the cwd when no key is given', async () => {
    const cwd = join(dir, 'repo');
    await mkdir(join(cwd, '.flowline'), { recursive: true });
    await writeFile(join(cwd, '.flowline', 'local-api-key'), 'fl_local_abc\n');
    routes['GET /v1/runs/run_1'] = () => ({ status: 200, body: {} });
    const res = await cli(['get', 'run_1'], { cwd, env: { FLOWLINE_API_KEY: '' } });
    expect(res.code).toBe(0);
    expect(seen[0]?.headers.authorization).toBe('Bearer fl_local_abc');
  });

  it('hints at the key on a 401 when none was given', async () => {
    routes['GET /v1/runs/run_1'] = () => problem(401, 'Unauthorized', 'a valid key is required');
    const res = await cli(['get', 'run_1'], { env: { FLOWLINE_API_KEY: '' } });
    expect(res.code).toBe(2);
    expect(seen[0]?.headers.authorization).toBeUndefined();
    expect(res.err).toEqual([
      'Unauthorized (HTTP 401): a valid key is required',
      'hint: no API key given: pass --key, set FLOWLINE_API_KEY, or start the local stack',
    ]);
  });

  it('turns a non-JSON error answer into a problem', async () => {
    routes['GET /v1/runs/run_1'] = () => ({
      status: 502,
      body: '<html><body>Bad   Gateway</body></html>',
      headers: { 'content-type': 'text/html' },
    });
    const res = await cli(['get', 'run_1']);
    expect(res).toMatchObject({
      code: 2,
      err: ['Bad Gateway (HTTP 502): <html><body>Bad Gateway</body></html>'],
    });
  });

  it('exits 2 when the API cannot be reached', async () => {
    const res = await cli(['get', 'run_1', '--url', 'http://127.0.0.1:9']);
    expect(res.code).toBe(2);
    expect(res.err[0]).toMatch(
      /^flowline: cannot reach the flowline API at http:\/\/127\.0\.0\.1:9: fetch failed/,
    );
  });
});

describe('usage', () => {
  const GENERAL = 'usage: flowline <command> [options]   (flowline --help lists the commands)';
  it.each([
    [['frob'], "flowline: unknown command 'frob'", GENERAL],
    [['wacth', 'run_1'], "flowline: unknown command 'wacth'; did you mean 'watch'?", GENERAL],
    [['evnets', 'run_1'], "flowline: unknown command 'evnets'; did you mean 'events'?", GENERAL],
    [['lst'], "flowline: unknown command 'lst'; did you mean 'list'?", GENERAL],
    [['get'], 'flowline: get takes RUN, got 0 argument(s)', 'usage: flowline get RUN'],
    [
      ['list', 'extra'],
      'flowline: list takes no arguments, got 1 argument(s)',
      'usage: flowline list [--workflow WORKFLOW] [--status STATUS] [--limit LIMIT] [--cursor CURSOR]',
    ],
    [['get', 'run_1', '--watch'], 'flowline: get does not take --watch', 'usage: flowline get RUN'],
    [
      ['logs', 'run_1', '--nope'],
      "flowline: Unknown option '--nope'",
      'usage: flowline logs RUN [--job JOB] [--follow]',
    ],
  ])('%j exits 2: %s', async (argv, message, usage) => {
    const res = await cli(argv);
    expect(res).toMatchObject({ code: 2, err: [message, usage] });
    expect(seen).toEqual([]);
  });

  it('--help prints the usage with exit 0', async () => {
    const res = await cli(['--help']);
    expect(res.code).toBe(0);
    expect(res.out[0]).toBe('usage: flowline <command> [options]');
  });

  it('no command prints the usage to stderr with exit 2', async () => {
    const res = await cli([]);
    expect(res.code).toBe(2);
    expect(res.err[0]).toBe('usage: flowline <command> [options]');
  });
});
