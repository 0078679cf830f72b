/**
 * What a run's end costs in Redis, per run, and what the ended run leaves. One
 * recorded run of each shape (bench/support/recorded-runs.ts) is replayed `--rounds`
 * times on a quiet redis-server; every finishJob is timed alone (CONFIG RESETSTAT
 * before it, INFO commandstats after: execution only). The run's end is the last
 * finishJob less a median finish; the commands inside the ending call are listed
 * (µs and calls per run). After the replay: MEMORY USAGE (SAMPLES 0) of the run's
 * keys per job, and their TTL. With `--base` (a JSON file of SCRIPT_SOURCES, as for
 * bench/script-ab.ts) the rounds alternate between this tree's scripts and the
 * baseline's, in one run, and the events and run document read back are compared.
 *
 *   node --import tsx bench/run-end.ts [--rounds 20] [--base /tmp/base.json]
 */
import './support/env.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { SCRIPT_SOURCES } from '../lib/store/scripts.js';
import { streamDumpEntries } from '../lib/store/stream-dump.js';
import { type Recorded, recordRuns } from './support/recorded-runs.js';
import { commandstats, scriptName } from './support/redis-meter.js';
import { runMain } from './support/stack.js';
import { fixed, percentile, table } from './support/table.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '20' }, base: { type: 'string' } },
});
const ROUNDS = Number(values.rounds);
const BASE = values.base
  ? (JSON.parse(readFileSync(values.base, 'utf8')) as Record<string, string>)
  : undefined;
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

/** name → the sha of each set: [this tree, baseline]. */
const shas = new Map<string, string[]>();
for (const [name, src] of Object.entries(SCRIPT_SOURCES)) {
  shas.set(name, BASE?.[name] ? [sha1(src), sha1(BASE[name])] : [sha1(src)]);
}
const SETS = BASE ? [0, 1] : [0];
const SET_NAMES = ['this tree', 'baseline'];

interface Round {
  /** µs of each finishJob but the last. */
  finishes: number[];
  /** µs of the run-ending finishJob, and of each command inside it. */
  end: number;
  inner: Map<string, { calls: number; usec: number }>;
  /** Bytes per key kind left by the run (MEMORY USAGE), its TTL, what it reads back as. */
  bytes: Map<string, number>;
  ttl: number;
  readBack: string;
}

async function replayOnce(redis: Redis, commands: Recorded[], set: number): Promise<Round> {
  await redis.flushall();
  let last = -1;
  commands.forEach((c, i) => {
    if (c.name === 'evalsha' && scriptName(String(c.args[0])) === 'finishJob') last = i;
  });
  const round: Round = {
    finishes: [],
    end: 0,
    inner: new Map(),
    bytes: new Map(),
    ttl: 0,
    readBack: '',
  };
  for (const [i, c] of commands.entries()) {
    let args = c.args as string[];
    const name = c.name === 'evalsha' ? scriptName(String(args[0])) : undefined;
    const sha = name ? shas.get(name)?.[set] : undefined;
    if (sha) args = [sha, ...args.slice(1)];
    const timed = name === 'finishJob';
    if (timed) await redis.config('RESETSTAT');
    await redis.call(c.name, ...args).catch(() => undefined);
    if (!timed) continue;
    const stats = commandstats(String(await redis.info('commandstats')));
    const self = stats.get('evalsha')?.usec ?? 0;
    if (i !== last) {
      round.finishes.push(self);
      continue;
    }
    round.end = self;
    stats.delete('evalsha');
    stats.delete('config|resetstat');
    round.inner = stats;
  }
  const keys = (await redis.keys('*{run_*')).sort();
  for (const key of keys) {
    const kind = key.slice(key.lastIndexOf(':') + 1);
    const used = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    round.bytes.set(kind, (round.bytes.get(kind) ?? 0) + used);
  }
  round.ttl = keys.length ? Math.min(...(await Promise.all(keys.map((k) => redis.pttl(k))))) : -2;
  round.readBack = await readBack(redis, keys);
  return round;
}

/** The run's hashes (eventLog aside) and events (archived or not; ids follow the clock: left out), as text. */
async function readBack(redis: Redis, keys: string[]): Promise<string> {
  const out: string[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    const at = key.slice(key.lastIndexOf(':'));
    if (type === 'hash') {
      const h = await redis.hgetall(key);
      delete h.eventLog;
      out.push(`${at} ${JSON.stringify(Object.entries(h).sort())}`);
      const log = at === ':run' ? await redis.hgetBuffer(key, 'eventLog') : null;
      if (log) out.push(`events ${JSON.stringify(streamDumpEntries(log).map((e) => e[1]))}`);
    } else if (type === 'stream') {
      out.push(`events ${JSON.stringify((await redis.xrange(key, '-', '+')).map((e) => e[1]))}`);
    } else out.push(`${at} ${type}`);
  }
  return out.join('\n');
}

await runMain(async (cleanup) => {
  const { runs, replay } = await recordRuns(cleanup);
  for (const src of Object.values(SCRIPT_SOURCES)) await replay.script('LOAD', src);
  for (const src of Object.values(BASE ?? {})) await replay.script('LOAD', src);
  const rows: string[][] = [];
  const details: string[] = [];
  for (const { shape, commands } of runs) {
    const per: Round[][] = SETS.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      for (const set of r % 2 ? [...SETS].reverse() : SETS) {
        per[set]?.push(await replayOnce(replay, commands, set));
      }
    }
    const jobs = shape.jobs.length;
    for (const set of SETS) {
      const rounds = per[set] as Round[];
      const end = percentile(
        rounds.map((r) => r.end),
        50,
      );
      const finish = percentile(
        rounds.flatMap((r) => r.finishes),
        50,
      );
      const first = rounds[0] as Round;
      const bytes = [...first.bytes.values()].reduce((a, b) => a + b, 0);
      rows.push([
        shape.name,
        SET_NAMES[set] as string,
        fixed(end),
        fixed(finish),
        fixed(end - finish),
        fixed((end - finish) / jobs, 1),
        fixed(bytes / jobs),
        [...first.bytes].map(([k, b]) => `${k} ${fixed(b / jobs)}`).join(', '),
        first.ttl > 0 ? `${fixed(first.ttl / 86_400_000, 1)} d` : String(first.ttl),
      ]);
      const inner = new Map<string, { calls: number; usec: number }>();
      for (const r of rounds) {
        for (const [k, v] of r.inner) {
          const t = inner.get(k) ?? { calls: 0, usec: 0 };
          t.calls += v.calls;
          t.usec += v.usec;
          inner.set(k, t);
        }
      }
      details.push(
        `${shape.name}, ${SET_NAMES[set]}: inside the ending call (µs / calls per run): ${[...inner]
          .sort((a, b) => b[1].usec - a[1].usec)
          .map(([k, v]) => `${k} ${fixed(v.usec / ROUNDS)}/${fixed(v.calls / ROUNDS)}`)
          .join(', ')}`,
      );
    }
    if (BASE) {
      const a = (per[0] as Round[])[0]?.readBack;
      const b = (per[1] as Round[])[0]?.readBack;
      const al = a?.split('\n') ?? [];
      const bl = b?.split('\n') ?? [];
      const at = al.findIndex((l, i) => l !== bl[i]);
      const cut = (l = '') => (l.length > 300 ? `${l.slice(0, 300)}…` : l);
      details.push(
        `${shape.name}: hashes and events left ${at < 0 ? 'identical' : `DIFFER:\n  ${cut(al[at])}\n  vs ${cut(bl[at])}`}`,
      );
    }
  }
  console.log(
    table(
      [
        'shape',
        'scripts',
        'ending finish µs',
        'median finish',
        'run end µs/run',
        'per job',
        'bytes/job',
        'by key',
        'TTL',
      ],
      rows,
    ),
  );
  console.log(`\n${details.join('\n')}`);
});
