import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../lib/api/handle.js';
import type { ApiResponse } from '../../lib/api/http.js';
import type { App } from '../../lib/app.js';
import { tenantKeys } from '../../lib/store/keys.js';
import { runUntilFinished, startTestApp } from '../support/engine.js';
import { keysUnder } from '../support/stack.js';

/**
 * Invariant 4: submits that share an Idempotency-Key make one run, however many
 * arrive at once. The duplicates come through four Apps (four Redis connections,
 * as four warm Lambda containers would), interleaved, 20 at a time.
 */

const DIAMOND = readFileSync('examples/diamond.yml', 'utf8');
const PARALLEL = 20;
const CONTAINERS = 4;

let apps: App[];
let handles: ReturnType<typeof createApi>[];

beforeAll(async () => {
  const first = await startTestApp();
  const rest = await Promise.all(
    Array.from({ length: CONTAINERS - 1 }, () =>
      startTestApp({ keyPrefix: first.config.keyPrefix, queueUrl: first.config.queueUrl }),
    ),
  );
  apps = [first, ...rest];
  handles = apps.map((a) => createApi(a));
  const res = await handles[0]?.({
    method: 'PUT',
    path: '/v1/workflows/diamond',
    headers: { authorization: 'Bearer test-key-acme', 'content-type': 'application/yaml' },
    query: {},
    body: DIAMOND,
  });
  expect(res?.status).toBe(201);
});

function submitAll(path: string, body: object, key: string, apiKey = 'test-key-acme') {
  return Promise.all(
    Array.from({ length: PARALLEL }, (_, i) =>
      (handles[i % CONTAINERS] as ReturnType<typeof createApi>)({
        method: 'POST',
        path,
        headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': key },
        query: {},
        body: JSON.stringify(body),
      }),
    ),
  );
}

const idOf = (res: ApiResponse) => (res.body as { id: string }).id;

/** One run id; exactly one 202 (not replayed), every other answer a 200 replay. */
function expectOneRun(answers: ApiResponse[]): string {
  const ids = new Set(answers.map(idOf));
  expect(ids.size).toBe(1);
  const fresh = answers.filter((a) => a.headers?.['idempotent-replayed'] === undefined);
  expect(fresh).toHaveLength(1);
  expect(fresh[0]?.status).toBe(202);
  const replays = answers.filter((a) => a.headers?.['idempotent-replayed'] === 'true');
  expect(replays).toHaveLength(PARALLEL - 1);
  expect(replays.every((a) => a.status === 200)).toBe(true);
  return [...ids][0] as string;
}

async function eventCounts(app: App, tenant: string, runId: string) {
  const events = await app.runs.readEvents(tenant, runId, undefined, 1000);
  const counts: Record<string, number> = {};
  for (const e of events) {
    const type = e.fields.type as string;
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

describe(`${PARALLEL} concurrent submits with one Idempotency-Key`, () => {
  it('make one run of a registered workflow, listed once, whose jobs each start once', async () => {
    const app = apps[0] as App;
    const answers = await submitAll('/v1/workflows/diamond/runs', {}, 'deploy-concurrent-1');
    const runId = expectOneRun(answers);

    expect(await app.runs.listRunIds('acme', 100)).toEqual([runId]);
    expect(
      await keysUnder(app.redis, tenantKeys(app.config.keyPrefix, 'acme').idempotency('*', '*')),
    ).toHaveLength(1);

    // Replays re-send the first task (harmless by design): the claim drops the copies.
    expect(await runUntilFinished(app, 'acme', runId)).toBe('succeeded');
    const counts = await eventCounts(app, 'acme', runId);
    expect(counts['run.created']).toBe(1);
    expect(counts['job.started']).toBe(4);
    expect(counts['step.succeeded']).toBe(4);
    expect(counts['run.succeeded']).toBe(1);
  });

  it('make one run of an inline spec, and the same key in another tenant is that tenant’s own run', async () => {
    const app = apps[0] as App;
    const body = {
      spec: 'name: inline\non: { manual: true }\njobs: { a: { steps: [{ uses: action:noop }] } }',
    };
    const before = await app.runs.listRunIds('acme', 100);
    const [acme, globex] = await Promise.all([
      submitAll('/v1/runs', body, 'inline-concurrent-1'),
      submitAll('/v1/runs', body, 'inline-concurrent-1', 'test-key-globex'),
    ]);
    const acmeRun = expectOneRun(acme);
    const globexRun = expectOneRun(globex);
    expect(globexRun).not.toBe(acmeRun);

    expect((await app.runs.listRunIds('acme', 100)).filter((id) => !before.includes(id))).toEqual([
      acmeRun,
    ]);
    expect(await app.runs.listRunIds('globex', 100)).toEqual([globexRun]);
    expect(await runUntilFinished(app, 'acme', acmeRun)).toBe('succeeded');
    expect(await runUntilFinished(app, 'globex', globexRun)).toBe('succeeded');
    expect((await eventCounts(app, 'acme', acmeRun))['job.started']).toBe(1);
  });
});
