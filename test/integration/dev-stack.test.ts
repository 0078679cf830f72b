import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisServer } from '../../scripts/processes.js';
import { apiKeyPairs } from '../../scripts/stack.js';

/** What `npm run dev` promises a user (README "Local state and keys"). */

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function valueAfter(dataDir: string, write?: (r: Redis) => Promise<unknown>) {
  const server = await startRedisServer({ dataDir });
  const redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    if (write) await write(redis);
    return await redis.get('flowline:probe');
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

describe('the local stack', () => {
  it('keeps its private Redis data (append-only file) across a restart in its data dir', async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), 'flowline-dev-')), 'redis');
    dirs.push(dataDir);
    expect(await valueAfter(dataDir, (r) => r.set('flowline:probe', 'kept'))).toBe('kept');
    expect(await readdir(dataDir)).toContain('appendonlydir');
    // A restart on the same dir reads it back; an emptied dir (--fresh) starts empty.
    expect(await valueAfter(dataDir)).toBe('kept');
    await rm(dataDir, { recursive: true, force: true });
    expect(await valueAfter(dataDir)).toBeNull();
  });

  it('reads the keys of FLOWLINE_API_KEYS to add to its own', () => {
    expect(apiKeyPairs('acme:k1, acme/ci:k2,,')).toEqual(['acme:k1', 'acme/ci:k2']);
    expect(apiKeyPairs(undefined)).toEqual([]);
  });
});
