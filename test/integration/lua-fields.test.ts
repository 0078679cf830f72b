import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runKeys } from '../../lib/store/keys.js';
import { resolveScript } from '../../lib/store/lua/loader.js';
import { defineScript } from '../../lib/store/scripts.js';
import { newRedis, uniquePrefix } from '../support/stack.js';

/**
 * includes/fields.lua, the transition cache every settle goes through: what a
 * transition reads back of its own writes, and what one flush() writes (one HSET and
 * at most one HDEL per hash, one stream entry), on a real Redis. The scripts here
 * include it as the engine's do; each returns what it saw, as JSON.
 */
const LUA_DIR = join(import.meta.dirname, '../../lib/store/lua');
const HEADER =
  '--[[\n  probe: fields.lua at work\n  Input:\n    KEYS[1] run hash\n    KEYS[2] jobs hash\n    KEYS[3] steps hash\n    KEYS[4] events stream\n]]\n--- @include "fields"\n';

/** Runs `body` after fields.lua on a fresh run's keys; the commands it ran on them, by MONITOR. */
async function probe(body: string, seed: Record<string, string> = {}) {
  const redis = newRedis();
  const k = runKeys(uniquePrefix(), 'acme', 'run_fields');
  if (Object.keys(seed).length > 0) await redis.hset(k.jobs, seed);
  const read = (path: string) =>
    path === 'probe.lua' ? `${HEADER}${body}\n` : readFileSync(join(LUA_DIR, path), 'utf8');
  defineScript(redis, 'probe', resolveScript('probe.lua', read));
  const run = (redis as unknown as { probe: (...a: string[]) => Promise<string> }).probe;
  // Other test files share the server: only commands on this run's keys count.
  const monitor = await (redis as Redis).monitor();
  const commands: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0] !== 'evalsha' && args.some((a) => a === k.jobs || a === k.events)) {
      commands.push(String(args[0]).toLowerCase());
    }
  });
  const seen = JSON.parse(
    await run.call(redis, k.run, k.jobs, k.steps, k.events, '1000'),
  ) as unknown;
  await redis.ping();
  await new Promise((r) => setTimeout(r, 50));
  monitor.disconnect();
  const calls = (cmd: string) => commands.filter((c) => c === cmd).length;
  return {
    seen,
    jobs: await redis.hgetall(k.jobs),
    events: await redis.xrange(k.events, '-', '+'),
    calls,
  };
}

describe('fields.lua: a transition reads its own writes, flush writes them once', () => {
  it('a field written twice reads back its last value and is written once, in first-write order', async () => {
    const { seen, jobs, calls } = await probe(
      `put(jobsKey, 'a', 'one')
put(jobsKey, 'b', 2)
put(jobsKey, 'a', 'three')
local seen = {get(jobsKey, 'a'), get(jobsKey, 'b')}
flush()
return cjson.encode(seen)`,
    );
    expect(seen).toEqual(['three', '2']);
    expect(jobs).toEqual({ a: 'three', b: '2' });
    expect(calls('hset')).toBe(1);
    expect(calls('hdel')).toBe(0);
  });

  it('a read field keeps its written value; a deleted one reads nil and is deleted; a field known absent is not deleted', async () => {
    const { seen, jobs, calls } = await probe(
      `read(jobsKey, {'x', 'y', 'gone'})
put(jobsKey, 'x', 'new')
read(jobsKey, {'x', 'z'})
del(jobsKey, 'y')
del(jobsKey, 'gone')
local seen = {get(jobsKey, 'x'), get(jobsKey, 'y') == nil, get(jobsKey, 'z'), incr(jobsKey, 'n', 5)}
flush()
return cjson.encode(seen)`,
      { x: 'old', y: 'kept?', z: 'zed', n: '1' },
    );
    expect(seen).toEqual(['new', true, 'zed', 6]);
    expect(jobs).toEqual({ x: 'new', z: 'zed', n: '6' });
    // HMGET x y gone, then z alone (x is written): two reads; y deleted, 'gone' not.
    expect(calls('hmget')).toBe(2);
    expect(calls('hdel')).toBe(1);
  });

  it('allFields: stored fields as the transition sees them, then those written and not stored', async () => {
    const { seen } = await probe(
      `put(jobsKey, 'b', 'B2')
del(jobsKey, 'c')
put(jobsKey, 'd', 'D')
put(jobsKey, 'e', 'E')
del(jobsKey, 'e')
local seen = allFields(jobsKey)
flush()
return cjson.encode(seen)`,
      { a: 'A', b: 'B', c: 'C' },
    );
    expect(seen).toEqual(['a', 'A', 'b', 'B2', 'd', 'D']);
  });

  it('after a flush a field read and then written reads back as written (a transition may go on)', async () => {
    const { seen, calls } = await probe(
      `read(jobsKey, {'a', 'b'})
put(jobsKey, 'a', 'A2')
del(jobsKey, 'b')
flush()
local seen = {get(jobsKey, 'a'), get(jobsKey, 'b') == nil}
return cjson.encode(seen)`,
      { a: 'A', b: 'B' },
    );
    expect(seen).toEqual(['A2', true]);
    // Read again from Redis, where the flush put them.
    expect(calls('hget')).toBe(2);
  });

  it('a second flush writes only what came after the first, events included', async () => {
    const { jobs, events, calls } = await probe(
      `put(jobsKey, 'a', '1')
emit('job.queued', 'j1', '{"attempt":1}')
flush()
put(jobsKey, 'b', '2')
emit('run.waiting')
flush()
return cjson.encode({})`,
    );
    expect(jobs).toEqual({ a: '1', b: '2' });
    expect(calls('hset')).toBe(2);
    expect(events.map(([, fields]) => fields)).toEqual([
      ['at', '1000', 'type', 'job.queued', 'job', 'j1', 'data', '{"attempt":1}'],
      ['at', '1000', 'type', 'run.waiting'],
    ]);
  });
});
