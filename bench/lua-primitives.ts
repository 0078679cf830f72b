/**
 * What Lua costs inside Redis: µs per EVALSHA of small scripts that each repeat one
 * primitive 2,000 times (a number made a string, a string concatenation, a table, a
 * redis.call), on a private redis-server; min over 5 windows of 200 calls
 * (INFO commandstats usec_per_call). The per-op figure is the script's less the empty
 * loop's, over 2,000. It is the price list behind bench/script-cpu.ts: a script's
 * time follows the Lua values it creates, more than the Redis commands it runs.
 *
 *   node --import tsx bench/lua-primitives.ts
 */
import './support/env.js';
import { Redis } from 'ioredis';
import { runMain, startRedis } from './support/stack.js';
import { fixed, table } from './support/table.js';

const N = 2000;
const ARGS = Array.from({ length: N }, (_, i) => `k${i}`);
const PRIMITIVES: [string, string][] = [
  ['empty loop', 'local x = 0 for i = 1, N do x = x + i end'],
  ['number → string (tostring)', 'local x for i = 1, N do x = tostring(i) end'],
  [
    "number → string (string.format('%d'))",
    "local x for i = 1, N do x = string.format('%d', i) end",
  ],
  ["concat, new string ('s:' .. ARGV[i])", "for i = 1, N do x = 's:' .. ARGV[i] end"],
  [
    "concat, same string ('a' .. 'b')",
    "local x local a, b = 'a', 'b' for i = 1, N do x = a .. b end",
  ],
  ['table {i, s}', "local x for i = 1, N do x = {i, 's'} end"],
  ['t[#t + 1] = v', "local t = {} for i = 1, N do t[#t + 1] = 'v' end"],
  ['t[i] = v', "local t = {} for i = 1, N do t[i] = 'v' end"],
  ['closure', 'local x for i = 1, N do x = function() return i end end'],
  ["redis.call('HGET', k, f)", "for i = 1, N do redis.call('HGET', KEYS[1], 'f') end"],
  [
    "redis.call('HMGET', k, 10 fields)",
    "for i = 1, N do redis.call('HMGET', KEYS[1], 'f', 'a', 'b', 'c', 'd', 'e', 'g', 'h', 'j', 'l') end",
  ],
  ['cjson.encode({1, "a", {}})', "for i = 1, N do cjson.encode({1, 'a', {}}) end"],
  ['redis.sha1hex(short)', "for i = 1, N do redis.sha1hex('k:1') end"],
];

await runMain(async (cleanup) => {
  const server = await startRedis(cleanup, { appendonly: false });
  const redis = new Redis(server.port, '127.0.0.1');
  cleanup.add('client', async () => redis.disconnect());
  await redis.hset('h', 'f', 'v');
  const usPerCall = async (body: string) => {
    const src = `local N = ${N}\nlocal x\n${body}\nreturn 1`;
    const sha = (await redis.script('LOAD', src)) as string;
    let best = Number.POSITIVE_INFINITY;
    for (let rep = 0; rep < 5; rep++) {
      await redis.config('RESETSTAT');
      for (let i = 0; i < 200; i++) await redis.evalsha(sha, 1, 'h', ...ARGS);
      const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(
        String(await redis.info('commandstats')),
      );
      if (m) best = Math.min(best, Number(m[2]) / Number(m[1]));
    }
    return best;
  };
  // Every script gets the same 2,000 distinct ARGV (the concatenation test's operands): the base.
  const base = await usPerCall('');
  const rows: (string | number)[][] = [];
  for (const [name, body] of PRIMITIVES) {
    const us = await usPerCall(body);
    rows.push([name, fixed(us, 0), fixed(((us - base) * 1000) / N, 0)]);
  }
  console.log(`Base script (2,000 ARGV, no work): ${fixed(base, 0)} µs per call`);
  console.log(table(['primitive ×2,000', 'µs per call', 'ns per op (less the base)'], rows));
});
