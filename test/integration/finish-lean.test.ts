import { describe, expect, it } from 'vitest';
import type { JobTask } from '../../lib/queue/message.js';
import type { RedisClient } from '../../lib/store/redis-client.js';
import { createRunStore, type JobEnd } from '../../lib/store/run-store.js';
import { SCRIPT_SOURCES, withScripts } from '../../lib/store/scripts.js';
import { admitRun } from '../support/admitted-run.js';
import { newRedis, uniquePrefix } from '../support/stack.js';

/**
 * finish-job.lua's common case (includes/finish-lean.lua: a success that only queues,
 * without the field cache) against its general path (includes/cascade.lua): every
 * finish of these runs is also run, from the same state and with the same arguments,
 * by a copy of the script whose common case is switched off; replies and the data
 * left (hashes, the events' fields; not the stream ids, made of the clock) must be the same.
 */
const noop = 'steps: [{ uses: action:noop }]';
const LEAN_CALL = 'local writes, n = finishLean(';
const GENERAL_ONLY = SCRIPT_SOURCES.finishJob.replace(
  LEAN_CALL,
  'local writes, n = nil and finishLean(',
);
/** Answers 'general' where the general path would begin: which finishes the common case took. */
const LEAN_ONLY = SCRIPT_SOURCES.finishJob.replace('\nreturn general()', "\nreturn 'general'");
const FINISH_KEYS = 5;

type Finish = (...args: string[]) => Promise<unknown>;

async function state(redis: RedisClient, keys: string[]): Promise<unknown[]> {
  return Promise.all(
    keys.map(async (key) => {
      const type = await redis.type(key);
      // The run end's archive of the stream holds its entries' ids, made of the clock.
      if (type === 'hash')
        return Object.entries(await redis.hgetall(key))
          .filter(([field]) => field !== 'eventLog')
          .sort();
      if (type === 'stream') return (await redis.xrange(key, '-', '+')).map((e) => e[1]);
      return type;
    }),
  );
}

/** Drives a run (each job ends as `ends` says, default succeeded); every finish compared. */
async function compareFinishes(jobs: string, ends: Record<string, JobEnd> = {}) {
  const scripts = withScripts(newRedis());
  // Its own connection for the copies and the state (auto-pipelined with the store's
  // commands, a DUMP's binary reply comes back mixed up with theirs).
  const redis = newRedis();
  const lean = (scripts as unknown as { finishJob: Finish }).finishJob.bind(scripts);
  const compared: { job: string; lean: boolean }[] = [];
  const finishJob: Finish = async (...args: string[]) => {
    const keys = args.slice(0, FINISH_KEYS);
    // The state before, to run each copy from: the three hashes and the stream (its ids too).
    const hashes = await Promise.all(keys.slice(0, 3).map((k) => redis.hgetall(k)));
    const stream = await redis.xrange(keys[3] as string, '-', '+');
    const restore = async () => {
      await redis.del(...keys.slice(0, 4));
      for (const [i, hash] of hashes.entries())
        if (Object.keys(hash).length > 0) await redis.hset(keys[i] as string, hash);
      for (const [id, fields] of stream) await redis.xadd(keys[3] as string, id, ...fields);
    };
    const general = await redis.eval(GENERAL_ONLY, FINISH_KEYS, ...args);
    const generalState = await state(redis, keys);
    await restore();
    const took = (await redis.eval(LEAN_ONLY, FINISH_KEYS, ...args)) !== 'general';
    await restore();
    const reply = await lean(...args);
    expect(reply).toEqual(general);
    expect(await state(redis, keys)).toEqual(generalState);
    compared.push({ job: args[FINISH_KEYS + 1] as string, lean: took });
    return reply;
  };
  // The store's client, its finishJob compared first (the client itself is left as it
  // is: ioredis' auto-pipelining calls its commands by name).
  const store = new Proxy(scripts, {
    get: (target, name) => {
      if (name === 'finishJob') return finishJob;
      const value = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const runs = createRunStore(store, uniquePrefix());
  const { tasks, now } = await admitRun(runs, jobs);
  while (tasks.length > 0) {
    const task = tasks.shift() as JobTask;
    const claim = await runs.claimJob(task, now, 60_000);
    if (claim.kind !== 'claimed') continue;
    const end = ends[task.jobKey] ?? 'succeeded';
    const error = end === 'failed' ? '{"code":"STEP_FAILED","message":"x"}' : '';
    const out = await runs.finishJob(task, claim.fence, end, '{"n":1}', error, now);
    if (!out) throw new Error(`finishJob of ${task.jobKey} was refused`);
    tasks.push(...out.ready);
  }
  return compared.map((c) => `${c.job}${c.lean ? '' : ' (general)'}`);
}

describe('finishJob: the common case and the general path agree', () => {
  it('compares real copies: each marker is found in the script', () => {
    // A marker no longer in finish-job.lua would leave a copy equal to the script, and
    // every comparison below would compare the script with itself.
    expect(GENERAL_ONLY).not.toBe(SCRIPT_SOURCES.finishJob);
    expect(LEAN_ONLY).not.toBe(SCRIPT_SOURCES.finishJob);
  });

  it('diamond: the fork queues two, the join one, the last ends the run', async () => {
    expect(
      await compareFinishes(
        `  a: { ${noop} }\n  b: { needs: a, ${noop} }\n  c: { needs: a, ${noop} }\n  d: { needs: [b, c], ${noop} }`,
      ),
    ).toEqual(['a', 'b', 'c', 'd (general)']);
  });

  it('fan-out with priorities and a custom if, then a join', async () => {
    const mids = ['m1', 'm2', 'm3', 'm4'];
    const jobs = [
      `  root: { ${noop} }`,
      ...mids.map(
        (m, i) => `  ${m}: { needs: root, priority: ${i % 2 ? 'high' : 'low'}, ${noop} }`,
      ),
      `  odd: { needs: root, if: '\${{ always() }}', ${noop} }`,
      `  join: { needs: [${mids.join(', ')}, odd], ${noop} }`,
    ].join('\n');
    expect(await compareFinishes(jobs)).toEqual([
      'root',
      'm1',
      'm2',
      'm3',
      'm4',
      'odd',
      'join (general)',
    ]);
  });

  it('a failure, the skips it sets off, and a success after it', async () => {
    const jobs = `  a: { ${noop} }\n  b: { needs: a, ${noop} }\n  c: { needs: b, ${noop} }\n  d: { ${noop} }\n  e: { needs: d, ${noop} }`;
    // a's failure and d's success that queues e: e ends the run.
    expect(await compareFinishes(jobs, { a: 'failed' })).toEqual([
      'a (general)',
      'd',
      'e (general)',
    ]);
  });

  it('a chain', async () => {
    const jobs = Array.from({ length: 6 }, (_, i) =>
      i === 0 ? `  j0: { ${noop} }` : `  j${i}: { needs: j${i - 1}, ${noop} }`,
    ).join('\n');
    expect(await compareFinishes(jobs)).toEqual(['j0', 'j1', 'j2', 'j3', 'j4', 'j5 (general)']);
  });
});
