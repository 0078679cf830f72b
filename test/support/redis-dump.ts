import { type RedisClient, scanKeys } from '../../lib/store/redis-client.js';
import { isStreamDump, streamDumpEntries } from '../../lib/store/stream-dump.js';

/**
 * Every key under `prefix` and everything stored in it, as one text: what a leak
 * test searches for a raw value. Reads each type as such (DUMP may compress).
 */
export async function dumpKeys(redis: RedisClient, prefix: string): Promise<string> {
  const keys = await scanKeys(redis, `${prefix}:*`);
  const parts = await Promise.all(
    keys.sort().map(async (key) => {
      const type = await redis.type(key);
      const value =
        type === 'string'
          ? await redis.get(key)
          : type === 'hash'
            ? await hashText(redis, key)
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

/** A hash's fields; a finished run's archived events (a stream's DUMP, compressed) as their entries. */
async function hashText(redis: RedisClient, key: string): Promise<Record<string, string>> {
  const out = await redis.hgetall(key);
  const log = out.eventLog === undefined ? null : await redis.hgetBuffer(key, 'eventLog');
  if (log && isStreamDump(log)) out.eventLog = JSON.stringify(streamDumpEntries(log));
  return out;
}
