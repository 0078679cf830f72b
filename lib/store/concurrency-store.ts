import { decode } from './codes.js';
import { tenantKeys } from './keys.js';
import type { ScriptRedis } from './scripts.js';

export type SlotAnswer =
  | { granted: true }
  | { granted: false; position: number; holders: string[] };

/**
 * Concurrency groups: slots per tenant and group name, FIFO waiting lines. Each
 * call is one script on the tenant's slot (never a GET-then-SET of the holders).
 */
export function createConcurrencyStore(redis: ScriptRedis, prefix: string) {
  const keysOf = (tenant: string, group: string) => tenantKeys(prefix, tenant).group(group);
  return {
    /** `limit` undefined keeps the group's current limit (a re-check). */
    async acquire(
      tenant: string,
      group: string,
      member: string,
      limit: number | undefined,
      now: number,
    ): Promise<SlotAnswer> {
      const k = keysOf(tenant, group);
      const out = decode.acquireSlot(
        await redis.acquireSlot(k.holders, k.queue, k.meta, now, member, limit ?? ''),
      );
      if (out.kind === 'granted') return { granted: true };
      return { granted: false, position: out.position, holders: out.holders };
    },

    /** Leave the group (slot or line); returns the members granted the freed slots. */
    async release(tenant: string, group: string, member: string, now: number): Promise<string[]> {
      const k = keysOf(tenant, group);
      const out = decode.releaseSlot(
        await redis.releaseSlot(k.holders, k.queue, k.meta, k.released(member), now, member),
      );
      return out.granted;
    },

    /** The members waiting in line before `member`. */
    async ahead(tenant: string, group: string, member: string): Promise<string[]> {
      const k = keysOf(tenant, group);
      const rank = await redis.zrank(k.queue, member);
      return rank === null || rank === 0 ? [] : redis.zrange(k.queue, 0, rank - 1);
    },

    /** Where a member stands, for the run document: its place in line and who holds the slots. */
    async peek(
      tenant: string,
      group: string,
      member: string,
    ): Promise<{ position: number | null; holders: string[] }> {
      const k = keysOf(tenant, group);
      const [rank, holders] = await Promise.all([
        redis.zrank(k.queue, member),
        redis.zrange(k.holders, 0, -1),
      ]);
      return { position: rank === null ? null : rank + 1, holders };
    },
  };
}

export type ConcurrencyStore = ReturnType<typeof createConcurrencyStore>;
