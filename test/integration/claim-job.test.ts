import { describe, expect, it } from 'vitest';
import { stepList } from '../../lib/engine/decide/plan.js';
import { stepRecord } from '../../lib/engine/job/step-record.js';
import type { JobTask } from '../../lib/queue/message.js';
import { decode } from '../../lib/store/codes.js';
import { runKeys } from '../../lib/store/keys.js';
import { createRunStore, leanRecord } from '../../lib/store/run-store.js';
import { type ScriptRedis, withScripts } from '../../lib/store/scripts.js';
import { admitRun } from '../support/admitted-run.js';
import { newRedis, uniquePrefix } from '../support/stack.js';

/**
 * claim-job.lua through the store, on the real Redis: what a claim writes and answers,
 * its refusals, its replay, the attempt's timeout clock across checkpoints, waits and
 * retries, and the run's constants asked for once per batch of claims.
 */
const TENANT = 'acme';
const LEASE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const ONE_JOB =
  '  j: { steps: [{ id: s, name: First, uses: action:noop }, { uses: action:noop }] }';

function setUp() {
  const redis = withScripts(newRedis());
  const prefix = uniquePrefix();
  const runs = createRunStore(redis, prefix);
  const keys = (runId: string) => runKeys(prefix, TENANT, runId);
  const jobs = async (runId: string) => redis.hgetall(keys(runId).jobs);
  return { redis, runs, keys, jobs };
}

/** claimJob's raw call, as run-store sends it, with a claim id of the test's choosing. */
function rawClaim(
  redis: ScriptRedis,
  k: ReturnType<typeof runKeys>,
  task: JobTask,
  now: number,
  claimId: string,
) {
  return redis.claimJob(
    k.run,
    k.jobs,
    k.steps,
    k.events,
    now,
    task.jobKey,
    task.attempt,
    task.token,
    now + LEASE,
    claimId,
    0,
    iso(now),
  );
}

describe('claimJob (lua/claim-job.lua)', () => {
  it('a first claim: fence 1, the first step started, one stream entry of job.started, run.started, step.started, and the record as step-record.ts writes it', async () => {
    const { redis, runs, keys, jobs } = setUp();
    const { runId, spec, tasks, now } = await admitRun(runs, ONE_JOB);
    const entries = await redis.xlen(keys(runId).events);
    const claim = await runs.claimJob(tasks[0] as JobTask, now, LEASE);
    expect(claim).toMatchObject({
      kind: 'claimed',
      fence: '1',
      timeoutFrom: now,
      started: { index: 0, startedAt: iso(now) },
      stepRecords: [],
      resolved: '',
      spec: JSON.stringify(spec),
      workflow: spec.name,
    });
    // The claim's hand-written record is the executor's, less what the plan restores.
    const ps = stepList(spec.jobs.j as never)[0];
    if (!ps) throw new Error('no step');
    const executors = leanRecord(
      JSON.stringify(stepRecord(ps, 1, 'running', { startedAt: iso(now) })),
    );
    expect(await redis.hget(keys(runId).steps, 'j#0')).toBe(executors);
    const j = await jobs(runId);
    expect(j['status:j']).toBe('running');
    expect(j['lease:j']).toBe(String(now + LEASE));
    expect(j['startedAt:j']).toBe(String(now));
    // Attempt 1's clock is its startedAt: not written twice.
    expect(j['timeoutFrom:j']).toBeUndefined();
    expect(await redis.xlen(keys(runId).events)).toBe(entries + 1);
    const events = (await runs.readEvents(TENANT, runId, undefined, 100)).map((e) => e.fields);
    expect(events.slice(-3)).toEqual([
      { type: 'job.started', at: String(now), job: 'j', data: '{"attempt":1}' },
      { type: 'run.started', at: String(now) },
      { type: 'step.started', at: String(now), job: 'j', step: 's' },
    ]);
  });

  it('a resent claim (same claim id) answers the same claim and writes nothing again', async () => {
    const { redis, runs, keys, jobs } = setUp();
    const { runId, tasks, now } = await admitRun(runs, ONE_JOB);
    const task = tasks[0] as JobTask;
    const first = decode.claimJob(await rawClaim(redis, keys(runId), task, now, 'c1'));
    const state = await jobs(runId);
    const entries = await redis.xlen(keys(runId).events);
    const again = decode.claimJob(await rawClaim(redis, keys(runId), task, now + 5, 'c1'));
    expect(again).toEqual({ ...first, stepRecords: [expect.stringContaining('"running"'), null] });
    expect(first).toMatchObject({ kind: 'claimed', fence: '1', started: '0' });
    expect(await jobs(runId)).toEqual(state);
    expect(await redis.xlen(keys(runId).events)).toBe(entries);
    // Another claim id while the lease lives: a duplicate delivery.
    expect(decode.claimJob(await rawClaim(redis, keys(runId), task, now + 5, 'c2'))).toEqual({
      kind: 'lease-held',
    });
  });

  it.each([
    ['another dispatch token', { token: 'nope' }, 'stale'],
    ['another attempt', { attempt: 2 }, 'stale'],
    ['a job the run does not have', { jobKey: 'nope' }, 'missing'],
  ])('refuses %s', async (_, change, kind) => {
    const { runs } = setUp();
    const { tasks, now } = await admitRun(runs, ONE_JOB);
    expect(await runs.claimJob({ ...(tasks[0] as JobTask), ...change }, now, LEASE)).toEqual({
      kind,
    });
  });

  it('refuses a claim in a finished run, and one of a run waiting for its concurrency slot', async () => {
    const { redis, runs, keys } = setUp();
    const finished = await admitRun(runs, ONE_JOB);
    await redis.hset(keys(finished.runId).run, 'status', 'succeeded');
    expect(await runs.claimJob(finished.tasks[0] as JobTask, finished.now, LEASE)).toEqual({
      kind: 'run-finished',
    });
    const gated = await admitRun(runs, ONE_JOB, { runFields: { gate: 'g' } });
    expect(await runs.claimJob(gated.tasks[0] as JobTask, gated.now, LEASE)).toEqual({
      kind: 'gated',
    });
  });

  it('a lapsed lease is claimed again under the next fence; the started step is not started twice', async () => {
    const { runs } = setUp();
    const { tasks, now } = await admitRun(runs, ONE_JOB);
    const task = tasks[0] as JobTask;
    await runs.claimJob(task, now, LEASE);
    const later = now + LEASE + 1;
    const again = await runs.claimJob(task, later, LEASE);
    expect(again).toMatchObject({ kind: 'claimed', fence: '2', timeoutFrom: now });
    if (again.kind !== 'claimed') throw new Error(again.kind);
    expect(again.started).toBeUndefined();
    expect(again.stepRecords[0]).toContain('"running"');
  });

  it.each([
    ['plain keys', ['x', 'm[shard=1,os=linux]', 'ü n']],
    ['keys that JSON escapes', ['q"uote', 'back\\slash', 'x']],
    ['a long list (read by cjson)', Array.from({ length: 12 }, (_, i) => `need-${i}`)],
  ])("answers each need's status and outputs: %s", async (_, needs) => {
    const { redis, runs, keys } = setUp();
    const { runId, tasks, now } = await admitRun(runs, ONE_JOB);
    const k = keys(runId);
    await redis.hset(k.jobs, 'needs:j', JSON.stringify(needs));
    for (const [i, need] of needs.entries()) {
      await redis.hset(k.jobs, `status:${need}`, 'succeeded');
      // The last has no outputs yet: answered '{}'.
      if (i < needs.length - 1) await redis.hset(k.jobs, `outputs:${need}`, `{"n":${i}}`);
    }
    const claim = await runs.claimJob(tasks[0] as JobTask, now, LEASE);
    if (claim.kind !== 'claimed') throw new Error(claim.kind);
    expect([...claim.needs]).toEqual(
      needs.map((need, i) => [
        need,
        { status: 'succeeded', outputs: i < needs.length - 1 ? `{"n":${i}}` : '{}' },
      ]),
    );
  });

  it('does not start the first step while the run is being cancelled', async () => {
    const { redis, runs, keys } = setUp();
    const { runId, tasks, now } = await admitRun(runs, ONE_JOB);
    await redis.hset(keys(runId).jobs, 'run:cancel', '1');
    const claim = await runs.claimJob(tasks[0] as JobTask, now, LEASE);
    expect(claim).toMatchObject({ kind: 'claimed', fence: '1' });
    if (claim.kind !== 'claimed') throw new Error(claim.kind);
    expect(claim.started).toBeUndefined();
    expect(await redis.hget(keys(runId).steps, 'j#0')).toBeNull();
  });

  describe('the attempt’s timeout clock (timeoutFrom)', () => {
    it('a checkpoint keeps it', async () => {
      const { runs } = setUp();
      const { tasks, now } = await admitRun(runs, ONE_JOB);
      const first = await runs.claimJob(tasks[0] as JobTask, now, LEASE);
      if (first.kind !== 'claimed') throw new Error(first.kind);
      const next = await runs.requeueJob(tasks[0] as JobTask, first.fence, now + 1_000);
      if (!next) throw new Error('requeue refused');
      expect(await runs.claimJob(next, now + 5_000, LEASE)).toMatchObject({
        kind: 'claimed',
        fence: '2',
        timeoutFrom: now,
      });
    });

    it('a wait stops it: the claim after moves it by the time waited, and keeps it so', async () => {
      const { runs, jobs } = setUp();
      const { runId, tasks, now } = await admitRun(runs, ONE_JOB);
      const first = await runs.claimJob(tasks[0] as JobTask, now, LEASE);
      if (first.kind !== 'claimed') throw new Error(first.kind);
      const waited = await runs.suspendJob(
        tasks[0] as JobTask,
        first.fence,
        { waitingFor: '{"kind":"sleep"}', wakeAt: now + 3_000 },
        now + 1_000,
      );
      if (!waited || waited === 'cancelling') throw new Error('suspend refused');
      expect(await runs.claimJob(waited.task, now + 2_000, LEASE)).toEqual({ kind: 'stale' });
      const woken = await runs.claimJob(waited.task, now + 4_000, LEASE);
      expect(woken).toMatchObject({ kind: 'claimed', fence: '2', timeoutFrom: now + 3_000 });
      const j = await jobs(runId);
      expect(j['timeoutFrom:j']).toBe(String(now + 3_000));
      expect(j['waitingSince:j'] ?? j['wakeAt:j'] ?? j['waitingFor:j']).toBeUndefined();
      if (woken.kind !== 'claimed') throw new Error(woken.kind);
      const next = await runs.requeueJob(waited.task, woken.fence, now + 5_000);
      if (!next) throw new Error('requeue refused');
      expect(await runs.claimJob(next, now + 9_000, LEASE)).toMatchObject({
        timeoutFrom: now + 3_000,
      });
    });

    it('a retry starts a new one', async () => {
      const { runs } = setUp();
      const { tasks, now } = await admitRun(runs, ONE_JOB);
      const first = await runs.claimJob(tasks[0] as JobTask, now, LEASE);
      if (first.kind !== 'claimed') throw new Error(first.kind);
      const retry = await runs.retryJob(
        tasks[0] as JobTask,
        first.fence,
        '{"code":"STEP_FAILED","message":"x"}',
        now + 1_500,
        now + 1_000,
      );
      if (!retry || retry === 'cancelling') throw new Error('retry refused');
      expect(retry.attempt).toBe(2);
      const second = await runs.claimJob(retry, now + 2_000, LEASE);
      expect(second).toMatchObject({ kind: 'claimed', timeoutFrom: now + 2_000 });
      if (second.kind !== 'claimed') throw new Error(second.kind);
      const next = await runs.requeueJob(retry, second.fence, now + 3_000);
      if (!next) throw new Error('requeue refused');
      expect(await runs.claimJob(next, now + 9_000, LEASE)).toMatchObject({
        timeoutFrom: now + 2_000,
      });
    });
  });

  describe("the run's constants", () => {
    const TWO_JOBS =
      '  a: { steps: [{ uses: action:noop }] }\n  b: { steps: [{ uses: action:noop }] }';

    /** The store's claims, each with whether it asked for the run's constants (ARGV[7] not 1). */
    function counting() {
      const redis = withScripts(newRedis());
      const asked: boolean[] = [];
      const spy = new Proxy(redis, {
        get(target, name) {
          if (name === 'claimJob') {
            return (...args: (string | number)[]) => {
              asked.push(args[10] !== 1);
              return target.claimJob(...args);
            };
          }
          const value = Reflect.get(target, name, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      return { runs: createRunStore(spy, uniquePrefix()), asked };
    }

    it('claims of one run sent together ask once, and every claim has them', async () => {
      const { runs, asked } = counting();
      const { spec, tasks, now } = await admitRun(runs, TWO_JOBS);
      const claims = await Promise.all(tasks.map((t) => runs.claimJob(t, now, LEASE)));
      expect(asked).toEqual([true, false]);
      for (const c of claims)
        expect(c).toMatchObject({ kind: 'claimed', spec: JSON.stringify(spec) });
    });

    it('when the claim that asked is refused, the others read them', async () => {
      const { runs, asked } = counting();
      const { spec, tasks, now } = await admitRun(runs, TWO_JOBS);
      const [a, b] = tasks as [JobTask, JobTask];
      const [refused, claimed] = await Promise.all([
        runs.claimJob({ ...a, token: 'nope' }, now, LEASE),
        runs.claimJob(b, now, LEASE),
      ]);
      expect(refused).toEqual({ kind: 'stale' });
      expect(asked).toEqual([true, false]);
      expect(claimed).toMatchObject({ kind: 'claimed', spec: JSON.stringify(spec) });
      // Known from then on.
      expect(await runs.claimJob(a, now, LEASE)).toMatchObject({ kind: 'claimed' });
      expect(asked).toEqual([true, false, false]);
    });
  });
});

describe('commitStep and renewLease (lua/commit-step.lua, lua/renew-lease.lua)', () => {
  const record = (status: string) => `{"status":"${status}","attempt":1}`;

  it('a finished step and the next one started: both records, one stream entry, the lease moved; a resent commit writes nothing again', async () => {
    const { redis, runs, keys, jobs } = setUp();
    const { runId, tasks, now } = await admitRun(runs, ONE_JOB);
    const task = tasks[0] as JobTask;
    const claim = await runs.claimJob(task, now, LEASE);
    if (claim.kind !== 'claimed') throw new Error(claim.kind);
    const k = keys(runId);
    const entries = await redis.xlen(k.events);
    const commit = [k.run, k.jobs, k.steps, k.events, now + 10, 'j', claim.fence, now + 10 + LEASE]
      .concat(['0', 's', record('succeeded'), 'step.succeeded', '{}'])
      .concat(['1', 's2', record('running'), 'commit-1']);
    expect(await redis.commitStep(...commit)).toBe(1);
    expect(await redis.hmget(k.steps, 'j#0', 'j#1')).toEqual([
      record('succeeded'),
      record('running'),
    ]);
    expect((await jobs(runId))['lease:j']).toBe(String(now + 10 + LEASE));
    expect(await redis.xlen(k.events)).toBe(entries + 1);
    const events = (await runs.readEvents(TENANT, runId, undefined, 100)).map((e) => e.fields);
    expect(events.slice(-2)).toEqual([
      { type: 'step.succeeded', at: String(now + 10), job: 'j', step: 's', data: '{}' },
      { type: 'step.started', at: String(now + 10), job: 'j', step: 's2' },
    ]);
    await redis.hset(k.steps, 'j#1', 'overwritten?');
    expect(await redis.commitStep(...commit)).toBe(1);
    expect(await redis.hget(k.steps, 'j#1')).toBe('overwritten?');
    expect(await redis.xlen(k.events)).toBe(entries + 1);
  });

  it('refuses a stale fence, writing nothing; says cancelling once the run is being cancelled', async () => {
    const { redis, runs, keys, jobs } = setUp();
    const { runId, tasks, now } = await admitRun(runs, ONE_JOB);
    const task = tasks[0] as JobTask;
    const claim = await runs.claimJob(task, now, LEASE);
    if (claim.kind !== 'claimed') throw new Error(claim.kind);
    const before = await jobs(runId);
    const started = { index: 1, stepKey: 's2', record: record('running') };
    expect(await runs.commitStep(task, '7', now + 10, LEASE, undefined, started)).toBe('stale');
    expect(await runs.renewLease(task, '7', now + 10, LEASE)).toBe('stale');
    expect(await jobs(runId)).toEqual(before);
    expect(await redis.hget(keys(runId).steps, 'j#1')).toBeNull();
    expect(await runs.renewLease(task, claim.fence, now + 20, LEASE)).toBe('ok');
    expect((await jobs(runId))['lease:j']).toBe(String(now + 20 + LEASE));
    await redis.hset(keys(runId).jobs, 'run:cancel', '1');
    expect(await runs.commitStep(task, claim.fence, now + 30, LEASE, undefined, started)).toBe(
      'cancelling',
    );
    expect(await runs.renewLease(task, claim.fence, now + 40, LEASE)).toBe('cancelling');
    expect((await jobs(runId))['lease:j']).toBe(String(now + 40 + LEASE));
  });
});
