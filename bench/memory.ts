import './support/env.js';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startFlowline } from './support/engines.js';
import { allShapes } from './support/shapes.js';
import { runMain, startLocalSqs, startRedis } from './support/stack.js';
import { fixed, table } from './support/table.js';

/**
 * Redis memory per job of finished runs (DESIGN.md: at most 1 KB once its run has
 * ended), for the shapes of the quality bar:
 *
 *   node --import tsx bench/memory.ts [--runs 50]
 *
 * For each shape: `runs` runs to the end, then MEMORY USAGE (SAMPLES 0: every
 * element counted) summed over the keys those runs left, divided by their jobs,
 * against the bound; and every key's TTL (each must expire, none past the
 * retention). The keys are the run's own (`{runId}` hash tag); the tenant index and
 * the engine's global keys are reported apart, per run.
 */
const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' } } });
const RUNS = Number(values.runs);
/** DESIGN.md's bound: Redis per job once its run has ended. */
const BOUND_BYTES = 1024;

await runMain(async (cleanup) => {
  const redis = await startRedis(cleanup, { appendonly: false });
  const sqs = await startLocalSqs(cleanup);
  const engine = await startFlowline(redis.url, sqs);
  cleanup.add('flowline', () => engine.close());
  const client = new Redis(redis.url);
  cleanup.add('redis client', async () => void client.disconnect());

  const seen = new Set<string>();
  const rows: string[][] = [];
  for (const shape of allShapes()) {
    await engine.run(shape, RUNS);
    const keys = (await scanAll(client, 'fl:bench:{run_*')).filter((k) => !seen.has(k));
    for (const k of keys) seen.add(k);
    let bytes = 0;
    const byKind = new Map<string, number>();
    // Every key expires, none past the retention (DESIGN.md: nothing kept past it).
    let maxTtl = 0;
    let noTtl = 0;
    for (const key of keys) {
      const used = Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
      bytes += used;
      const kind = key.slice(key.lastIndexOf(':') + 1);
      byKind.set(kind, (byKind.get(kind) ?? 0) + used);
      const ttl = await client.pttl(key);
      if (ttl < 0) noTtl++;
      else maxTtl = Math.max(maxTtl, ttl);
    }
    const jobs = RUNS * shape.jobs.length;
    rows.push([
      shape.name,
      String(RUNS),
      fixed(bytes / jobs, 0),
      bytes / jobs <= BOUND_BYTES ? 'yes' : 'NO',
      [...byKind].map(([k, b]) => `${k} ${fixed(b / jobs, 0)}`).join(', '),
      noTtl > 0 ? `${noTtl} keys without` : `≤ ${fixed(maxTtl / 86_400_000, 1)} d`,
    ]);
  }
  const index = Number(await client.call('MEMORY', 'USAGE', 'fl:{bench}:runs', 'SAMPLES', '0'));
  console.log(
    table(['shape', 'runs', 'bytes/job', '≤ 1 KB', 'by key (bytes/job)', 'TTL (every key)'], rows),
  );
  console.log(`\ntenant run index: ${fixed(index / (RUNS * allShapes().length), 0)} bytes/run`);
});

async function scanAll(client: Redis, match: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return out;
}
