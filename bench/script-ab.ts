/**
 * A script change against a baseline, on one recording, in one run: the commands of
 * one recorded run of each shape (bench/support/recorded-runs.ts) are replayed
 * `--rounds` times on a quiet redis-server, alternately with this tree's scripts and
 * with a baseline's (a JSON file of SCRIPT_SOURCES, name → source: dump it from the
 * commit to compare against, see below), each EVALSHA sent to the same script of the
 * other set. Per script and set: µs per call from SLOWLOG (every command logged,
 * execution only, back to back: warm caches, no INFO between requests), and whether
 * both sets answered every request alike and left the same data (stream ids and the
 * archived event log's clocks aside).
 *
 *   git show <base>:lib/store/lua/scripts.generated.ts > lib/store/lua/scripts.generated.ts
 *   node --import tsx -e "import('./lib/store/scripts.ts').then(m => require('fs')
 *     .writeFileSync('/tmp/base.json', JSON.stringify(m.SCRIPT_SOURCES)))"
 *   git checkout lib/store/lua/scripts.generated.ts
 *   node --import tsx bench/script-ab.ts --base /tmp/base.json [--rounds 30]
 *   AB_DETAIL=finishJob node ...   # also this tree's median µs of each call of it, in order
 *
 * The recording is made with this tree's scripts: a change of a script's arguments
 * makes the baseline answer differently (reported), not a fair comparison.
 */
import './support/env.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { SCRIPT_SOURCES } from '../lib/store/scripts.js';
import { type Recorded, recordRuns } from './support/recorded-runs.js';
import { scriptName } from './support/redis-meter.js';
import { runMain } from './support/stack.js';
import { fixed, percentile, table } from './support/table.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '30' }, base: { type: 'string' } },
});
const ROUNDS = Number(values.rounds);
if (!values.base) throw new Error('--base <SCRIPT_SOURCES JSON> is required');
const BASE = JSON.parse(readFileSync(values.base, 'utf8')) as Record<string, string>;
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

/** name → [this tree's sha, the baseline's sha]. */
const pairs = new Map<string, [string, string]>();
for (const [name, src] of Object.entries(SCRIPT_SOURCES)) {
  const base = BASE[name];
  if (base) pairs.set(name, [sha1(src), sha1(base)]);
}

type Sample = { name: string; us: number; last: boolean };

/** One replay of a recording with one set's scripts: µs per EVALSHA, replies, and the data left. */
async function replayOnce(
  redis: Redis,
  commands: Recorded[],
  set: 0 | 1,
): Promise<{ samples: Sample[]; replies: string[]; data: string }> {
  await redis.flushall();
  await redis.slowlog('RESET');
  const replies: string[] = [];
  const names: string[] = [];
  for (const c of commands) {
    let args = c.args as string[];
    const name = c.name === 'evalsha' ? scriptName(String(args[0])) : undefined;
    if (name && pairs.has(name))
      args = [(pairs.get(name) as [string, string])[set], ...args.slice(1)];
    if (name) names.push(name);
    const reply = await redis.call(c.name, ...args).catch((e: Error) => `ERR ${e.message}`);
    replies.push(`${c.name} ${name ?? ''} ${JSON.stringify(reply)}`);
  }
  const log = (await redis.slowlog('GET', -1)) as [number, number, number, string[]][];
  const samples: Sample[] = [];
  const evals = log.filter((e) => e[3][0]?.toLowerCase() === 'evalsha').reverse();
  const lastOf = new Map<string, number>();
  evals.forEach((e, i) => {
    const name = names[i] ?? '?';
    lastOf.set(name, i);
    samples.push({ name, us: e[2], last: false });
  });
  for (const i of lastOf.values()) (samples[i] as Sample).last = true;
  return { samples, replies, data: await dump(redis) };
}

// The archived event log's parts that follow the server's clock: row ids and `at` offsets.
const US = String.fromCharCode(31);
const CLOCK_ID = new RegExp(`\\d+-\\d+${US}`, 'g');
const CLOCK_AT = new RegExp(`${US}-?\\d+${US}`, 'g');

/** Every key's data, stream ids and clocks left out (they follow the server's clock). */
async function dump(redis: Redis): Promise<string> {
  const keys = (await redis.keys('*')).sort();
  const out: string[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === 'hash') {
      const h = await redis.hgetall(key);
      // A stream's DUMP (the run-end archive's other form) holds its clock-made ids: left out.
      if (h.eventLog?.includes('\u0000')) delete h.eventLog;
      else if (h.eventLog) h.eventLog = h.eventLog.replace(CLOCK_ID, '').replace(CLOCK_AT, US);
      out.push(`${key} ${JSON.stringify(Object.entries(h).sort())}`);
    } else if (type === 'stream') {
      const entries = await redis.xrange(key, '-', '+');
      out.push(`${key} ${JSON.stringify(entries.map((e) => e[1]))}`);
    } else if (type === 'zset') {
      out.push(`${key} ${JSON.stringify(await redis.zrange(key, 0, -1))}`);
    } else if (type === 'set') {
      out.push(`${key} ${JSON.stringify((await redis.smembers(key)).sort())}`);
    } else out.push(`${key} ${type}`);
  }
  return out.join('\n');
}

await runMain(async (cleanup) => {
  const { runs, replay } = await recordRuns(cleanup);
  for (const src of Object.values(SCRIPT_SOURCES)) await replay.script('LOAD', src);
  for (const name of pairs.keys()) await replay.script('LOAD', BASE[name] as string);
  await replay.config('SET', 'slowlog-log-slower-than', '0');
  await replay.config('SET', 'slowlog-max-len', '100000');
  const changed = [...pairs].filter(([, [a, b]]) => a !== b).map(([n]) => n);
  console.log(`scripts that differ from the baseline: ${changed.join(', ') || 'none'}`);
  for (const { shape, commands } of runs) {
    const per: Sample[][] = [[], []];
    let differs = '';
    for (let round = 0; round < ROUNDS; round++) {
      const order: (0 | 1)[] = round % 2 ? [1, 0] : [0, 1];
      const got: { replies: string[]; data: string }[] = [];
      for (const set of order) {
        const r = await replayOnce(replay, commands, set);
        per[set]?.push(...r.samples);
        got[set] = r;
      }
      if (!differs && got[0] && got[1]) {
        const i = got[0].replies.findIndex((r, j) => r !== got[1]?.replies[j]);
        if (i >= 0) differs = `reply ${i}: ${got[0].replies[i]} vs ${got[1].replies[i]}`;
        else if (got[0].data !== got[1].data) {
          const a = got[0].data.split('\n');
          const b = got[1].data.split('\n');
          const j = a.findIndex((l, k) => l !== b[k]);
          differs = `data: ${a[j]}\n   vs ${b[j]}`;
        }
      }
    }
    const names = [...new Set(per[0]?.map((s) => s.name))];
    if (process.env.AB_DETAIL) {
      const fin = (per[0] ?? []).filter((s) => s.name === process.env.AB_DETAIL);
      const n = fin.length / ROUNDS;
      const byIndex = Array.from({ length: n }, (_, i) =>
        fin.filter((_, j) => j % n === i).map((s) => s.us),
      );
      console.log(byIndex.map((u, i) => `${i}:${fixed(percentile(u, 50))}`).join(' '));
    }
    const rows: string[][] = [];
    for (const name of names) {
      const stat = (set: 0 | 1, pick: (s: Sample) => boolean) => {
        const us = (per[set] ?? []).filter((s) => s.name === name && pick(s)).map((s) => s.us);
        if (us.length === 0) return '–';
        return `${fixed(percentile(us, 50))} / ${fixed(us.reduce((a, b) => a + b, 0) / us.length)}`;
      };
      const all = () => true;
      rows.push([
        name,
        stat(0, all),
        stat(1, all),
        stat(0, (s) => !s.last),
        stat(1, (s) => !s.last),
      ]);
    }
    console.log(
      `\n### ${shape.name}: ${shape.jobs.length} jobs, ${ROUNDS} rounds per set; ${differs ? `DIFFERS ${differs}` : 'replies and data identical'}`,
    );
    console.log(
      table(
        [
          'script',
          'this tree µs med / mean',
          'baseline',
          'this tree, last call left out',
          'baseline',
        ],
        rows,
      ),
    );
  }
});
