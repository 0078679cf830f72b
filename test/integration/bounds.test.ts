import { describe, expect, it } from 'vitest';
import { createApi } from '../../lib/api/handle.js';
import type { ApiRequest } from '../../lib/api/http.js';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { admitRun, newRunId } from '../../lib/engine/run/admit.js';
import { reapRuns } from '../../lib/engine/tick/reaper.js';
import { scheduleTick } from '../../lib/engine/tick/schedule.js';
import { QuotaError, type ValidationError } from '../../lib/errors.js';
import { loadSpec, specDigest } from '../../lib/spec/index.js';
import { globalKeys, runKeys, shardOf, tenantKeys } from '../../lib/store/keys.js';
import { runUntilFinished, startTestApp } from '../support/engine.js';
import { newRedis } from '../support/stack.js';

const redis = newRedis();
const AUTH = { authorization: 'Bearer test-key-acme', 'content-type': 'application/json' };

function call(app: App, method: string, path: string, body?: unknown, query = {}) {
  const req: ApiRequest = {
    method,
    path,
    headers: AUTH,
    query,
    body: typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body),
  };
  return createApi(app)(req);
}

const yaml = (text: string) => loadSpec({ text, format: 'yaml' });

const DIAMOND = yaml(`
name: diamond
on: { manual: true }
jobs:
  a: { steps: [{ uses: action:noop }] }
  b: { needs: [a], steps: [{ uses: action:noop }] }
  c: { needs: [a], steps: [{ uses: action:noop }] }
  d: { needs: [b, c], steps: [{ uses: action:noop }] }
`);

/** A spec of `jobs` matrix jobs of `size` instances each, plus `plain` plain jobs. */
function matrixSpec(jobs: number, size: number, plain = 0): string {
  const values = Array.from({ length: size }, (_, i) => i).join(', ');
  const lines = ['name: wide', 'on: { manual: true }', 'jobs:'];
  for (let j = 0; j < jobs; j++) {
    lines.push(
      `  m${j}: { strategy: { matrix: { i: [${values}] } }, steps: [{ uses: action:noop }] }`,
    );
  }
  for (let p = 0; p < plain; p++) lines.push(`  p${p}: { steps: [{ uses: action:noop }] }`);
  return lines.join('\n');
}

async function keysOfRun(app: App, runId: string): Promise<string[]> {
  return redis.keys(`${app.config.keyPrefix}:acme:{${runId}}:*`);
}

const admit = (app: App, now?: number) =>
  admitRun(
    { ...app, ...(now === undefined ? {} : { now: () => now }) },
    { tenant: 'acme', spec: DIAMOND, revision: 1, trigger: { type: 'api' } },
  );

describe('retention', () => {
  it('a finished run expires whole, keeps what its document needs, and says when', async () => {
    const app = await startTestApp({ retentionMs: 60_000 });
    const { summary } = await admit(app);
    expect(await runUntilFinished(app, 'acme', summary.id)).toBe('succeeded');
    const keys = await keysOfRun(app, summary.id);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(60_000);
    }
    const k = runKeys(app.config.keyPrefix, 'acme', summary.id);
    const jobFields = await redis.hkeys(k.jobs);
    expect(jobFields.filter((f) => /^(token|fence|lease|needs|deps):/.test(f))).toEqual([]);
    // The finishing job's reply stays: a resent finishJob answers as the first did.
    expect(jobFields.filter((f) => f.startsWith('reply:'))).toEqual(['reply:d']);
    expect(await redis.exists(k.events)).toBe(0);

    const doc = (await call(app, 'GET', `/v1/runs/${summary.id}`)).body as Record<string, string>;
    expect(Date.parse(doc.expiresAt as string) - Date.parse(doc.finishedAt as string)).toBe(60_000);
    // Events of an ended run still read in order, and a cursor still pages.
    const all = (await call(app, 'GET', `/v1/runs/${summary.id}/events`)).body as {
      items: { id: string; type: string; at: string }[];
    };
    expect(all.items[0]?.type).toBe('run.created');
    expect(all.items.at(-1)?.type).toBe('run.succeeded');
    expect(all.items.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
    const rest = (
      await call(app, 'GET', `/v1/runs/${summary.id}/events`, undefined, {
        after: all.items[2]?.id,
      })
    ).body as { items: { id: string }[] };
    expect(rest.items.map((e) => e.id)).toEqual(all.items.slice(3).map((e) => e.id));
  });

  it('trims the tenant run list to the retention as runs are created', async () => {
    const app = await startTestApp({ retentionMs: 1_000 });
    const t0 = Date.now();
    const first = await admit(app, t0);
    const second = await admit(app, t0 + 2_000);
    const listed = await redis.zrange(tenantKeys(app.config.keyPrefix, 'acme').runs, 0, -1);
    expect(listed).toEqual([second.summary.id]);
    expect(listed).not.toContain(first.summary.id);
  });
});

describe('job instances per run', () => {
  it('admits 1,000 instances (no unpack overflow), refuses 1,001, and cancel ends the run', async () => {
    expect(() => yaml(matrixSpec(4, 250, 1))).toThrow(/1001 job instances/);
    const app = await startTestApp();
    const { summary } = await admitRun(app, {
      tenant: 'acme',
      spec: yaml(matrixSpec(4, 250)),
      revision: 1,
      trigger: { type: 'api' },
    });
    const k = runKeys(app.config.keyPrefix, 'acme', summary.id);
    const statuses = (await redis.hkeys(k.jobs)).filter((f) => f.startsWith('status:'));
    expect(statuses).toHaveLength(1_000);
    const cancel = await call(app, 'POST', `/v1/runs/${summary.id}/cancel`, {});
    expect(cancel.status).toBe(202);
    expect(await redis.hget(k.run, 'status')).toBe('cancelled');
  });
});

describe('runs in flight and submit rate', () => {
  it('refuses the run past the quota with 429 and Retry-After, leaving nothing behind', async () => {
    const app = await startTestApp({ maxRunsInFlight: 2 });
    await admit(app);
    await admit(app);
    const res = await call(app, 'POST', '/v1/runs', { spec: DIAMOND });
    expect(res.status).toBe(429);
    expect(Number(res.headers?.['retry-after'])).toBeGreaterThan(0);
    expect(await redis.zcard(tenantKeys(app.config.keyPrefix, 'acme').live)).toBe(2);
    expect(await redis.zcard(tenantKeys(app.config.keyPrefix, 'acme').runs)).toBe(2);
    expect(await app.runs.allActive()).toHaveLength(2);
  });

  it('a run that ends frees its place', async () => {
    const app = await startTestApp({ maxRunsInFlight: 1 });
    const { summary } = await admit(app);
    await expect(admit(app)).rejects.toBeInstanceOf(QuotaError);
    expect(await runUntilFinished(app, 'acme', summary.id)).toBe('succeeded');
    await expect(admit(app)).resolves.toMatchObject({ created: true });
  });

  it('rate: the burst passes, one more waits for its token', async () => {
    const app = await startTestApp({ submitRate: 1, submitBurst: 2 });
    const t0 = Date.now();
    await admit(app, t0);
    await admit(app, t0);
    const refused = await admit(app, t0).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(QuotaError);
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 1_000 });
    await expect(admit(app, t0 + 1_000)).resolves.toMatchObject({ created: true });
    expect(await redis.zcard(tenantKeys(app.config.keyPrefix, 'acme').live)).toBe(3);
  });
});

describe('cron starts count against the quota', () => {
  it('a fire over the quota is refused, and fires once a run has ended', async () => {
    const app = await startTestApp({ maxRunsInFlight: 1 });
    const now = Date.parse('2026-11-25T10:05:30Z');
    const spec = yaml(`
name: nightly
on: { schedule: [{ cron: "*/2 * * * *" }] }
jobs: { a: { steps: [{ uses: action:noop }] } }
`);
    await app.workflows.register(
      'acme',
      'nightly',
      {
        version: '',
        digest: specDigest(spec),
        createdAt: new Date(now - 3_600_000).toISOString(),
        spec: JSON.stringify(spec),
      },
      true,
    );
    // Two fires are due (10:02, 10:04): one fits.
    expect((await scheduleTick(app, now)).cronRuns).toBe(1);
    expect((await scheduleTick(app, now + 20_000)).cronRuns).toBe(0);
    const [first] = await app.runs.listRunIds('acme', 10);
    expect(await runUntilFinished(app, 'acme', first as string)).toBe('succeeded');
    expect((await scheduleTick(app, now + 40_000)).cronRuns).toBe(1);
    expect(await app.runs.listRunIds('acme', 10)).toHaveLength(2);
  });
});

describe('descendants', () => {
  it('counts each child once, up to the tree limit', async () => {
    const app = await startTestApp();
    const root = newRunId();
    const count = (child: string) => app.runs.countDescendant('acme', root, child, 2);
    expect(await count('c1')).toBe(true);
    expect(await count('c2')).toBe(true);
    expect(await count('c1')).toBe(true);
    expect(await count('c3')).toBe(false);
    expect(await redis.scard(runKeys(app.config.keyPrefix, 'acme', root).tree)).toBe(2);
  });

  it('a self-starting wait:false matrix stops at the limit: the child step fails QUOTA_EXCEEDED', async () => {
    const app = await startTestApp({ maxDescendants: 2 });
    const leaf = `name: leaf\non: { manual: true }\njobs:\n  a: { steps: [{ uses: action:noop }] }\n`;
    const fork = `name: fork
on: { manual: true }
jobs:
  f:
    strategy: { matrix: { i: [1, 2, 3] } }
    steps: [{ uses: "workflow:leaf", with: { wait: false } }]
`;
    for (const text of [leaf, fork]) {
      const res = await createApi(app)({
        method: 'PUT',
        path: `/v1/workflows/${text.includes('fork') ? 'fork' : 'leaf'}`,
        headers: { ...AUTH, 'content-type': 'application/yaml' },
        query: {},
        body: text,
      });
      expect(res.status).toBe(201);
    }
    const res = await call(app, 'POST', '/v1/workflows/fork/runs', {});
    const id = (res.body as { id: string }).id;
    expect(await runUntilFinished(app, 'acme', id)).toBe('failed');
    const doc = (await call(app, 'GET', `/v1/runs/${id}`)).body as {
      jobs: Record<string, { steps: { error: { code: string } | null }[] }>;
    };
    const codes = Object.values(doc.jobs).map((j) => j.steps[0]?.error?.code ?? 'ok');
    expect(codes.sort()).toEqual(['QUOTA_EXCEEDED', 'ok', 'ok']);
  });
});

describe('signals', () => {
  const SPEC = yaml(`
name: sig
on: { manual: true }
jobs:
  gate: { steps: [{ uses: approval }] }
  j: { needs: [gate], steps: [{ uses: signal, with: { name: go } }] }
`);

  it('keeps 100 of at most 64 KiB each; the 101st is 429, a larger payload 413', async () => {
    const app = await startTestApp();
    const { summary } = await admitRun(app, {
      tenant: 'acme',
      spec: SPEC,
      revision: 1,
      trigger: { type: 'api' },
    });
    const path = `/v1/runs/${summary.id}/signals/go`;
    // JSON of the payload: the string and its two quotes.
    const atLimit = 'x'.repeat(64 * 1024 - 2);
    expect((await call(app, 'POST', path, { payload: atLimit })).status).toBe(202);
    expect((await call(app, 'POST', path, { payload: `${atLimit}x` })).status).toBe(413);
    for (let i = 1; i < 100; i++) {
      expect((await call(app, 'POST', path, { payload: i })).status).toBe(202);
    }
    const full = await call(app, 'POST', path, { payload: 101 });
    expect(full.status).toBe(429);
    const k = runKeys(app.config.keyPrefix, 'acme', summary.id);
    const kept = (await redis.hkeys(k.signals)).filter((f) => f.startsWith('go#'));
    expect(kept).toHaveLength(100);
  });
});

describe('bad input that once gave 5xx', () => {
  it('cursor and run-id garbage: 400 and 404', async () => {
    const app = await startTestApp();
    const { summary } = await admit(app);
    const huge = '18446744073709551615-18446744073709551615';
    expect(
      (await call(app, 'GET', `/v1/runs/${summary.id}/events`, undefined, { after: huge })).status,
    ).toBe(400);
    for (const id of ['}x', '{x}', 'run_}x', `${summary.id}x`]) {
      const res = await call(app, 'GET', `/v1/runs/${encodeURIComponent(id)}`);
      expect(res.status, id).toBe(404);
      expect(
        (await call(app, 'POST', `/v1/runs/${encodeURIComponent(id)}/cancel`, {})).status,
      ).toBe(404);
    }
  });

  it('nesting: 64 deep passes the depth check, 65 is 400', async () => {
    const app = await startTestApp();
    const { summary } = await admit(app);
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const body = (n: number) => `{"payload":${nest(n - 1)}}`;
    const path = `/v1/runs/${summary.id}/signals/go`;
    const ok = await call(app, 'POST', path, body(64));
    expect(ok.status).not.toBe(400);
    expect(ok.status).toBeLessThan(500);
    const deep = await call(app, 'POST', path, body(65));
    expect(deep.status).toBe(400);
    expect((await call(app, 'POST', path, body(100_000))).status).toBe(400);
  });

  it('the spec limit counts what YAML aliases expand to', async () => {
    const big = 'x'.repeat(4_000);
    const text = `name: alias
on: { manual: true }
x: &a ["${big}", "${big}", "${big}", "${big}", "${big}"]
jobs:
  a: { steps: [{ uses: action:echo, with: { l: [${Array.from({ length: 20 }, () => '*a').join(', ')}] } }] }
`;
    expect(Buffer.byteLength(text)).toBeLessThan(256 * 1024);
    let problems: { message: string }[] = [];
    try {
      yaml(text);
    } catch (err) {
      problems = (err as ValidationError).problems;
    }
    expect(problems[0]?.message).toMatch(/after YAML aliases expand; at most 262144/);
  });
});

describe('workflow outputs', () => {
  it('past 256 KiB they are OUTPUT_TOO_LARGE, at it they are kept', () => {
    const snapshot = (size: number) => ({
      run: {
        id: 'run_x',
        status: 'succeeded',
        spec: JSON.stringify({
          name: 'o',
          on: { manual: true },
          outputs: { big: '${{ jobs.a.outputs.v }}' },
          jobs: { a: { needs: [], steps: [{ uses: 'action:noop' }] } },
        }),
      },
      jobs: { 'status:a': 'succeeded', 'outputs:a': JSON.stringify({ v: 'y'.repeat(size) }) },
      steps: {},
    });
    // {"big":"…"} is 10 bytes around the string.
    const at = runDocument(snapshot(256 * 1024 - 10));
    expect(at.error).toBeNull();
    expect(String(at.outputs.big)).toHaveLength(256 * 1024 - 10);
    const over = runDocument(snapshot(256 * 1024 - 9));
    expect(over.outputs).toEqual({});
    expect(over.error).toMatchObject({ code: 'OUTPUT_TOO_LARGE' });
  });
});

describe('no half-written run', () => {
  it('the reaper ends a run written without its jobs, after the grace period', async () => {
    const app = await startTestApp({ requeueAfterMs: 1_000 });
    const now = Date.now();
    const runId = newRunId(now - 5_000);
    const k = runKeys(app.config.keyPrefix, 'acme', runId);
    await redis.hset(k.run, { id: runId, status: 'queued', workflow: 'w', createdAt: String(now) });
    await redis.zadd(
      globalKeys(app.config.keyPrefix).activeRuns(shardOf(runId)),
      now,
      `acme/${runId}`,
    );
    // A run being admitted right now is left alone.
    const young = newRunId(now);
    await redis.zadd(
      globalKeys(app.config.keyPrefix).activeRuns(shardOf(young)),
      now,
      `acme/${young}`,
    );
    await reapRuns(app, now);
    expect(await redis.hget(k.run, 'status')).toBe('failed');
    expect(JSON.parse((await redis.hget(k.run, 'error')) as string)).toMatchObject({
      code: 'INTERNAL',
    });
    expect(await redis.pttl(k.run)).toBeGreaterThan(0);
    const active = await app.runs.allActive();
    expect(active).toEqual([`acme/${young}`]);
  });

  it('a submit whose run write fails answers 503, never "safe to retry"', async () => {
    const app = await startTestApp();
    const broken: App = {
      ...app,
      runs: {
        ...app.runs,
        createRun: async () => {
          throw new Error('connection lost');
        },
      },
    };
    const res = await createApi(broken)({
      method: 'POST',
      path: '/v1/runs',
      headers: AUTH,
      query: {},
      body: JSON.stringify({ spec: DIAMOND }),
    });
    expect(res.status).toBe(503);
    expect(JSON.stringify(res.body)).not.toMatch(/safe to retry/);
  });
});
