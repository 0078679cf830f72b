import './support/env.js';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startFlowline } from './support/engines.js';
import { fanOut } from './support/shapes.js';
import { runMain, startLocalSqs, startRedis } from './support/stack.js';
import { fixed, table } from './support/table.js';

/**
 * Retention soak (DESIGN.md: nothing kept past retention): `--jobs` jobs in fan-out runs (1→100→1)
 * with a retention of `--retention-s` seconds, printing Redis
 * used_memory and the key count after each batch. Memory must level off once runs
 * expire as fast as they are made, not grow with the jobs run.
 *
 *   node --import tsx bench/retention-soak.ts [--jobs 100000] [--retention-s 5] [--batch 10]
 */
const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    'retention-s': { type: 'string', default: '5' },
    batch: { type: 'string', default: '10' },
  },
});
const JOBS = Number(values.jobs);
const RETENTION_MS = Number(values['retention-s']) * 1000;
const BATCH = Number(values.batch);

await runMain(async (cleanup) => {
  const redis = await startRedis(cleanup, { appendonly: false });
  const sqs = await startLocalSqs(cleanup);
  // No quota or rate in the way of the soak itself.
  const engine = await startFlowline(redis.url, sqs, {
    retentionMs: RETENTION_MS,
    submitRate: 1e6,
    submitBurst: 1e6,
  });
  cleanup.add('flowline', () => engine.close());
  const client = new Redis(redis.url);
  cleanup.add('redis client', async () => void client.disconnect());
  const shape = fanOut();
  const perBatch = BATCH * shape.jobs.length;
  const rows: string[][] = [];
  const t0 = Date.now();
  const base = await usedMemory(client);
  for (let done = 0; done < JOBS; ) {
    await engine.run(shape, BATCH);
    done += perBatch;
    if (rows.length === 0 || done % (perBatch * 10) === 0 || done >= JOBS) {
      const used = await usedMemory(client);
      rows.push([
        String(done),
        fixed((Date.now() - t0) / 1000, 0),
        fixed((used - base) / 1024, 0),
        String(await client.dbsize()),
      ]);
      console.error(rows.at(-1)?.join('\t'));
    }
  }
  console.log(
    `retention ${RETENTION_MS / 1000} s, fan-out 1→100→1, ${BATCH} runs a batch\n` +
      table(['jobs run', 's', 'used_memory − start (KiB)', 'keys'], rows),
  );
});

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}
