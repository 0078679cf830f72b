import { tenantKeys } from './keys.js';
import type { ScriptRedis } from './scripts.js';

export type Reservation =
  | { kind: 'fresh'; runId: string }
  | { kind: 'replay'; runId: string }
  | { kind: 'mismatch'; runId: string };

/**
 * Bind an idempotency key to a run id with SET NX (never GET-then-SET), so
 * concurrent duplicates agree on one run. The stored fingerprint tells a replay
 * of the same request from a different request reusing the key.
 */
export async function reserveIdempotencyKey(
  redis: ScriptRedis,
  prefix: string,
  args: {
    tenant: string;
    scope: string;
    key: string;
    runId: string;
    fingerprint: string;
    ttlS: number;
  },
): Promise<Reservation> {
  const redisKey = tenantKeys(prefix, args.tenant).idempotency(args.scope, args.key);
  const value = `${args.runId}|${args.fingerprint}`;
  const previous = await redis.set(redisKey, value, 'EX', args.ttlS, 'NX', 'GET');
  if (previous === null) return { kind: 'fresh', runId: args.runId };
  const bar = previous.indexOf('|');
  const runId = previous.slice(0, bar);
  // Our own value: ioredis replayed the SET after a lost reply (the run id is new per request).
  if (previous === value) return { kind: 'fresh', runId };
  return previous.slice(bar + 1) === args.fingerprint
    ? { kind: 'replay', runId }
    : { kind: 'mismatch', runId };
}
