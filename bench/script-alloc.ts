/**
 * What each script allocates in Redis' Lua heap per call: a count that does not
 * depend on the machine's load (bench/README.md: a script's time follows the Lua
 * values it creates). The commands of one recorded run of each shape
 * (bench/support/recorded-runs.ts) are replayed once with every script wrapped so
 * the collector is stopped for the call and `collectgarbage('count')` read before and
 * after it (KEYS/ARGV and the reply's conversion are outside the count); with
 * `--base` (a JSON file of SCRIPT_SOURCES, see bench/script-ab.ts) once more with the
 * baseline's scripts. Each set is replayed twice and the second counted (a first call
 * may grow Lua's stack or string table for good; such growth can still land on any
 * call, so read a script's figure to ±10 %, the finish's differences are larger).
 *
 *   node --import tsx bench/script-alloc.ts [--base /tmp/base.json]
 */
import './support/env.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { SCRIPT_SOURCES } from '../lib/store/scripts.js';
import { type Recorded, recordRuns } from './support/recorded-runs.js';
import { scriptName } from './support/redis-meter.js';
import { runMain } from './support/stack.js';
import { fixed, percentile, table } from './support/table.js';

const { values } = parseArgs({ options: { base: { type: 'string' } } });
const BASE = values.base
  ? (JSON.parse(readFileSync(values.base, 'utf8')) as Record<string, string>)
  : undefined;

/** The script as a function called between a stopped collector's two heap counts. */
const counted = (src: string) =>
  `collectgarbage('stop') local __before = collectgarbage('count')
local __reply = {(function()
${src}
end)()}
local __kb = collectgarbage('count') - __before
collectgarbage('restart')
redis.call('RPUSH', '__alloc', __kb)
return unpack(__reply)`;

/** KB per call of each script, in call order, for one replay with one set of sources. */
async function replay(
  redis: Redis,
  commands: Recorded[],
  sources: Record<string, string>,
): Promise<Map<string, number[]>> {
  const shas = new Map<string, string>();
  for (const [name, src] of Object.entries(sources))
    shas.set(name, (await redis.script('LOAD', counted(src))) as string);
  await redis.flushall();
  const names: string[] = [];
  for (const c of commands) {
    let args = c.args as string[];
    const name = c.name === 'evalsha' ? scriptName(String(args[0])) : undefined;
    const sha = name && shas.get(name);
    if (name && sha) {
      args = [sha, ...args.slice(1)];
      names.push(name);
    }
    await redis.call(c.name, ...args).catch(() => undefined);
  }
  const kb = (await redis.lrange('__alloc', 0, -1)).map(Number);
  const per = new Map<string, number[]>();
  names.forEach((name, i) => {
    per.set(name, [...(per.get(name) ?? []), kb[i] ?? Number.NaN]);
  });
  return per;
}

await runMain(async (cleanup) => {
  const { runs, replay: redis } = await recordRuns(cleanup);
  for (const src of Object.values(SCRIPT_SOURCES)) await redis.script('LOAD', src);
  const summary = (kb: number[] | undefined) =>
    kb?.length
      ? `${fixed(percentile(kb, 50), 1)} / ${fixed(kb.reduce((a, b) => a + b, 0) / kb.length, 1)}`
      : '–';
  for (const { shape, commands } of runs) {
    // Each set twice, the second counted: a first call may grow Lua's stack for good.
    let tree = await replay(redis, commands, SCRIPT_SOURCES);
    let base = BASE ? await replay(redis, commands, BASE) : undefined;
    tree = await replay(redis, commands, SCRIPT_SOURCES);
    base = BASE ? await replay(redis, commands, BASE) : undefined;
    const rows = [...tree].map(([name, kb]) => [
      name,
      fixed(kb.length / shape.jobs.length, 2),
      summary(kb),
      ...(base ? [summary(base.get(name))] : []),
    ]);
    console.log(`\n### ${shape.name}: KB of Lua heap allocated per call (median / mean)`);
    console.log(table(['script', 'calls/job', 'this tree', ...(base ? ['baseline'] : [])], rows));
  }
});
