import { describe, expect, it } from 'vitest';
import type { JobTask } from '../../lib/queue/message.js';
import { KEPT_AFTER_END } from '../../lib/store/job-fields.js';
import { runKeys } from '../../lib/store/keys.js';
import { createRunStore, type RunEvent } from '../../lib/store/run-store.js';
import { withScripts } from '../../lib/store/scripts.js';
import { admitRun } from '../support/admitted-run.js';
import { runUntilFinished, startTestApp, submitSpec } from '../support/engine.js';
import { newRedis, uniquePrefix } from '../support/stack.js';

/**
 * A run's jobs hash and events around its end (lua/includes/new-run.lua,
 * lua/includes/end-run.lua): a hashtable while the run lives (every transition reads
 * it by field), compact once it ended, and the events archived as the stream's DUMP
 * read back as they were.
 */
const TENANT = 'acme';
const redis = newRedis();

/** c01 → c02 → … → cNN, one no-op step each. */
function chain(length: number): string {
  const jobs = Array.from({ length }, (_, i) => {
    const needs = i === 0 ? '' : `needs: [c${i}], `;
    return `  c${i + 1}: { ${needs}steps: [{ uses: action:noop }] }`;
  });
  return `name: chain\non: { manual: true }\njobs:\n${jobs.join('\n')}\n`;
}

/** Every event, `limit` at a time, each page after the previous one's last id. */
async function paged(
  app: Awaited<ReturnType<typeof startTestApp>>,
  runId: string,
  limit: number,
): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for (;;) {
    const page = await app.runs.readEvents(TENANT, runId, all.at(-1)?.id, limit);
    all.push(...page);
    if (page.length < limit) return all;
  }
}

/** The field names (`<name>:<job>`) of a hash, by name. */
async function fieldNames(key: string): Promise<Set<string>> {
  const fields = Object.keys(await redis.hgetall(key));
  return new Set(fields.map((f) => f.slice(0, f.indexOf(':'))));
}

describe('a run’s jobs hash and events around its end', () => {
  it('is a hashtable while the run lives, compact after it, holding what its document reads', async () => {
    const app = await startTestApp();
    const runId = await submitSpec(app, chain(3));
    const k = runKeys(app.config.keyPrefix, TENANT, runId);
    expect(await redis.object('ENCODING', k.jobs)).toBe('hashtable');
    const live = await app.runs.readEvents(TENANT, runId, undefined, 1000);
    expect(live.map((e) => e.fields.type)).toEqual(['run.created', 'job.queued']);

    expect(await runUntilFinished(app, TENANT, runId)).toBe('succeeded');
    expect(await redis.exists(k.events)).toBe(0);
    expect(await redis.object('ENCODING', k.jobs)).toBe('listpack');
    // What the run document and a rerun read, and the last finish's reply (replay safety).
    expect([...(await fieldNames(k.jobs))].sort()).toEqual(
      [...KEPT_AFTER_END.filter((n) => n !== 'error' && n !== 'attemptError'), 'reply'].sort(),
    );

    // Read back from the archive, a page at a time: what the stream held, then the rest.
    const archived = await paged(app, runId, 4);
    expect(archived.slice(0, live.length)).toEqual(live);
    expect(archived.at(-1)?.fields.type).toBe('run.succeeded');
    expect(
      archived.filter((e) => e.fields.type === 'job.succeeded').map((e) => e.fields.job),
    ).toEqual(['c1', 'c2', 'c3']);
    expect(await app.runs.readEvents(TENANT, runId, undefined, 1000)).toEqual(archived);
    const ids = archived.map((e) => e.id.split('-').map(Number) as [number, number]);
    for (let i = 1; i < ids.length; i++) {
      const [[ms, n], [pms, pn]] = [ids[i] as [number, number], ids[i - 1] as [number, number]];
      expect(ms > pms || (ms === pms && n > pn)).toBe(true);
    }
  });

  // A small run and a bigger one (end-run.lua's compaction must not depend on the size).
  it.each([0, 12])(
    'keeps each job’s fields the run document reads, and a fence past 1 only (%i more jobs)',
    async (more) => {
      const prefix = uniquePrefix();
      const runs = createRunStore(withScripts(newRedis()), prefix);
      const noop = 'steps: [{ uses: action:noop }]';
      const others = Array.from({ length: more }, (_, i) => `x${i + 1}`);
      const { runId, tasks, now } = await admitRun(
        runs,
        `  a: { ${noop} }\n  b: { needs: [a], ${noop} }\n${others.map((x) => `  ${x}: { ${noop} }\n`).join('')}`,
      );
      const k = runKeys(prefix, TENANT, runId);
      // a is claimed twice (its first claim lost: requeued), the others once; b last.
      const claim = async (task: JobTask) => {
        const c = await runs.claimJob(task, now, 60_000);
        if (c.kind !== 'claimed') throw new Error(`${task.jobKey} not claimed`);
        return c.fence;
      };
      const taskA = tasks.find((t) => t.jobKey === 'a') as JobTask;
      const again = (await runs.requeueJob(taskA, await claim(taskA), now)) as JobTask;
      const afterA = await runs.finishJob(
        again,
        await claim(again),
        'succeeded',
        '{"x":1}',
        '',
        now,
      );
      for (const task of tasks.filter((t) => t.jobKey !== 'a')) {
        await runs.finishJob(task, await claim(task), 'succeeded', '{}', '', now);
      }
      const taskB = afterA?.ready[0] as JobTask;
      const fenceB = await claim(taskB);
      const live = await redis.hlen(k.jobs);
      const error = '{"code":"STEP_FAILED","message":"x"}';
      const out = await runs.finishJob(taskB, fenceB, 'failed', '{}', error, now);
      expect(out?.runStatus).toBe('failed');

      expect(await redis.object('ENCODING', k.jobs)).toBe('listpack');
      const kept = await redis.hgetall(k.jobs);
      expect(Object.keys(kept).sort()).toEqual(
        [
          ...['status', 'attempt', 'outputs', 'startedAt', 'finishedAt'].flatMap((n) =>
            ['a', 'b', ...others].map((job) => `${n}:${job}`),
          ),
          'fence:a',
          'error:b',
          // The last finish's reply, written after the compaction (replay safety).
          'reply:b',
        ].sort(),
      );
      expect(kept['fence:a']).toBe('2');
      expect(kept['outputs:a']).toBe('{"x":1}');
      expect(kept['status:b']).toBe('failed');
      expect(live).toBeGreaterThan(Object.keys(kept).length + 10);
      // The finish replayed (its reply lost) answers as it did.
      expect(await runs.finishJob(taskB, fenceB, 'failed', '{}', '', now)).toEqual(out);
    },
  );

  it('a listpack again when its kept fields fit one, however many the live hash had', async () => {
    const app = await startTestApp();
    // 22 jobs: 110 fields kept (and the last reply) of the 132 whose values it reads.
    const runId = await submitSpec(app, chain(22));
    const k = runKeys(app.config.keyPrefix, TENANT, runId);
    expect(await runUntilFinished(app, TENANT, runId)).toBe('succeeded');
    expect(await redis.object('ENCODING', k.jobs)).toBe('listpack');
    expect(await redis.hlen(k.jobs)).toBe(22 * 5 + 1);
    const kept = await redis.hgetall(k.jobs);
    expect(kept['status:c22']).toBe('succeeded');
    expect(kept['attempt:c7']).toBe('1');
  });

  it('past 128 kept fields stays a hashtable (a listpack is quadratic to build), without the filler', async () => {
    const app = await startTestApp();
    // 30 jobs × 5 kept fields.
    const runId = await submitSpec(app, chain(30));
    const k = runKeys(app.config.keyPrefix, TENANT, runId);
    expect(await runUntilFinished(app, TENANT, runId)).toBe('succeeded');
    expect(await redis.object('ENCODING', k.jobs)).toBe('hashtable');
    const names = await fieldNames(k.jobs);
    expect(names.has('run')).toBe(false);
    expect(names.has('token')).toBe(false);
    expect(await redis.hlen(k.jobs)).toBe(30 * 5 + 1);
  });
});
