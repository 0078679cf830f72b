import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../lib/api/handle.js';
import type { App } from '../../lib/app.js';
import { main } from '../../lib/cli/main.js';
import { pollOnce, startTestApp } from '../support/engine.js';

/**
 * The CLI against the real API (createApi on the test Redis and SQS) behind node:http,
 * with a worker draining the queue: catches drift between what the CLI expects and
 * what the API answers.
 */

const KEY = 'test-key-acme';
const DIAMOND = resolve('examples/diamond.yml');

let app: App;
let server: Server;
let url: string;
let working = true;
let worker: Promise<void>;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowline-cli-api-'));
  app = await startTestApp();
  const handle = createApi(app);
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const u = new URL(req.url ?? '/', 'http://x');
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
    );
    const answer = await handle({
      method: req.method ?? 'GET',
      path: u.pathname,
      headers,
      query: Object.fromEntries(u.searchParams),
      body: Buffer.concat(chunks).toString('utf8'),
    });
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  worker = (async () => {
    while (working) await pollOnce(app, 1);
  })();
});

afterAll(async () => {
  working = false;
  await worker;
  await new Promise((done) => server.close(done));
  await rm(dir, { recursive: true, force: true });
});

/** Watch lines without their HH:MM:SS (the events' own times). */
const withoutTimes = (line: string) => line.replace(/^\d\d:\d\d:\d\d /, '');

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(
    argv,
    { FLOWLINE_URL: url, FLOWLINE_API_KEY: KEY },
    {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      sleep: (ms) => new Promise((done) => setTimeout(done, Math.min(ms, 100))),
    },
  );
  return { code, out: stdout.trimEnd().split('\n'), err: stderr, stdout };
}

describe('flowline against the real API', () => {
  it('registers, runs with --watch to the diamond result, then lists and reads events', async () => {
    const registered = await cli(['register', DIAMOND]);
    expect(registered).toMatchObject({
      code: 0,
      out: [expect.stringMatching(/^registered diamond revision \d+ \(version 1\.0\)$/)],
    });

    const watched = await cli(['run', 'diamond', '--watch']);
    expect(watched.err).toBe('');
    expect(watched.code).toBe(0);
    const progress = watched.out.map(withoutTimes);
    for (const line of [
      'job a succeeded in',
      'step b/derive succeeded in',
      'step c/derive succeeded in',
      'job d succeeded in',
    ]) {
      expect(progress).toContainEqual(expect.stringMatching(new RegExp(`^${line} \\d+\\.\\ds$`)));
    }
    // Every event, in order: d's step ends before d does, each job queued before it starts.
    const at = (prefix: string) => progress.findIndex((l) => l.startsWith(prefix));
    expect(at('step d/combine succeeded')).toBeLessThan(at('job d succeeded'));
    expect(at('job d queued')).toBeGreaterThan(-1);
    expect(at('job d queued')).toBeLessThan(at('job d started'));
    const runId = /^started run (\S+) of diamond$/.exec(watched.out[0] ?? '')?.[1] ?? '';
    expect(watched.out.slice(-4)).toEqual([
      expect.stringMatching(new RegExp(`^run ${runId} succeeded in \\d+\\.\\ds$`)),
      'outputs: {',
      '  "result": "b(1)+c(1)"',
      '}',
    ]);

    const listed = await cli(['list', '--workflow', 'diamond', '--limit', '1']);
    expect(listed.code).toBe(0);
    expect(listed.out[1]).toMatch(new RegExp(`^${runId}\\s+diamond\\s+\\d+\\s+succeeded\\s`));

    const events = await cli(['events', runId]);
    expect(events.code).toBe(0);
    expect(events.out[0]).toMatch(/ run\.created/);
    expect(events.out.at(-1)).toMatch(/ run\.succeeded/);
  });

  it('runs a spec file inline with inputs and exits 1 when the run fails', async () => {
    const file = join(dir, 'fails.yml');
    await writeFile(
      file,
      [
        'name: fails',
        'on: { manual: true }',
        'inputs: { why: { type: string } }',
        'jobs:',
        '  a:',
        '    steps:',
        '      - id: boom',
        '        uses: action:fail',
        '        with: { message: "${{ inputs.why }}" }',
        '',
      ].join('\n'),
    );
    const res = await cli(['run', file, '--input', 'why=on purpose', '--watch']);
    expect(res.err).toBe('');
    expect(res.code).toBe(1);
    const lines = res.out.map(withoutTimes);
    expect(lines).toContainEqual(
      expect.stringMatching(/^step a\/boom failed in \d+\.\ds: on purpose \(STEP_FAILED\)$/),
    );
    expect(lines.at(-2)).toMatch(/^run \S+ failed/);
    expect(lines.at(-1)).toMatch(/^error: .*on purpose/);
  });

  it('reruns a failed run from a job and watches the new run', async () => {
    const file = join(dir, 'rerun.yml');
    await writeFile(
      file,
      [
        'name: rerun-me',
        'on: { manual: true }',
        'inputs: { broken: { type: boolean, default: false } }',
        'jobs:',
        '  a: { steps: [{ uses: action:echo, with: { v: 1 } }] }',
        '  b:',
        '    needs: [a]',
        '    steps: [{ if: "${{ inputs.broken }}", uses: action:fail, with: { message: nope } }]',
        '',
      ].join('\n'),
    );
    const failed = await cli(['run', file, '--input', 'broken=true', '--watch']);
    expect(failed.code).toBe(1);
    const runId = /^started run (\S+) of rerun-me$/.exec(failed.out[0] ?? '')?.[1] ?? '';

    const rerun = await cli(['rerun', runId, '--from', 'b']);
    expect(rerun.code).toBe(0);
    const answer = JSON.parse(rerun.stdout) as { id: string; rerunOf: string; reused: string[] };
    expect(answer).toMatchObject({ rerunOf: runId, reused: ['a'] });
    // Same inputs: b fails again, and only b ran.
    const watched = await cli(['watch', answer.id]);
    expect(watched.code).toBe(1);
    const lines = watched.out.map(withoutTimes);
    expect(lines).toContainEqual(
      expect.stringMatching(/^job b failed in \d+\.\ds: nope \(STEP_FAILED\)$/),
    );

    const unknown = await cli(['rerun', runId, '--from', 'zzz']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('fromJob');
  });

  it('lists workflows; shows a waiting approval with its command; logs shell output per step', async () => {
    const file = join(dir, 'gated.yml');
    await writeFile(
      file,
      [
        'name: gated-cli',
        'on: { manual: true }',
        'jobs:',
        '  build:',
        '    steps:',
        '      - { id: compile, uses: shell, with: { command: "echo compiled; echo warn >&2" } }',
        '  ship:',
        '    needs: [build]',
        '    steps: [{ id: gate, uses: approval }, { uses: action:noop }]',
        '',
      ].join('\n'),
    );
    expect((await cli(['register', file])).code).toBe(0);
    const listed = await cli(['workflows']);
    expect(listed.code).toBe(0);
    expect(listed.out).toContainEqual(expect.stringMatching(/^gated-cli\s+-\s+1\s+manual$/));

    const started = await cli(['run', 'gated-cli']);
    const runId = (JSON.parse(started.stdout) as { id: string }).id;
    expect(started.err).toBe(`run ${runId} queued; follow it: flowline watch ${runId}\n`);
    const watching = cli(['watch', runId]);
    const deadline = Date.now() + 10_000;
    while ((await cli(['get', runId])).stdout.includes('"status": "waiting"') === false) {
      if (Date.now() > deadline) throw new Error('the run never waited');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await cli(['approve', runId, 'gate'])).code).toBe(0);
    const watched = await watching;
    expect(watched.code).toBe(0);
    const lines = watched.out.map(withoutTimes);
    expect(lines).toContain('job ship waiting for approval of step gate');
    expect(lines).toContain(
      `approval requested: step gate of job ship · flowline approve ${runId} gate   (or --reject)`,
    );
    expect(lines).toContainEqual(expect.stringMatching(/^step gate approved/));

    const logs = await cli(['logs', runId, '--job', 'build']);
    expect(logs.code).toBe(0);
    expect(logs.out).toEqual([
      expect.stringMatching(/^── build\/compile \(shell\) succeeded in \d+\.\ds$/),
      'compiled',
      'stderr:',
      'warn',
    ]);
    const followed = await cli(['events', runId, '--follow']);
    expect(followed.out.at(-1)).toMatch(/ run\.succeeded$/);
  });

  it('shows the API problem for a run that does not exist', async () => {
    const res = await cli(['get', 'run_nope']);
    expect(res.code).toBe(2);
    expect(res.err).toBe("Not Found (HTTP 404): no run 'run_nope'\n");
  });

  it('prints a 422 problem with the path of each error', async () => {
    const res = await cli(['run', DIAMOND, '--input', 'nope=1']);
    expect(res.code).toBe(2);
    expect(res.err).toBe(
      'Validation failed (HTTP 422): invalid inputs\n  inputs.nope: unknown input\n',
    );
  });
});
