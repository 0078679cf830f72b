import type { Redis } from 'ioredis';

/**
 * Every key under `prefix` and everything stored in it, as one text: what a leak
 * test searches for a raw value. Reads each type as such (DUMP may compress).
 */
export async function dumpKeys(redis: Redis, prefix: string): Promise<string> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  const parts = await Promise.all(
    keys.sort().map(async (key) => {
      const type = await redis.type(key);
      const value =
        type === 'string'
          ? await redis.get(key)
          : type === 'hash'
            ? await redis.hgetall(key)
            : type === 'list'
              ? await redis.lrange(key, 0, -1)
              : type === 'set'
                ? await redis.smembers(key)
                : type === 'zset'
                  ? await redis.zrange(key, 0, -1, 'WITHSCORES')
                  : type === 'stream'
                    ? await redis.xrange(key, '-', '+')
                    : `(${type})`;
      return `${key} ${JSON.stringify(value)}`;
    }),
  );
  return parts.join('\n');
}
