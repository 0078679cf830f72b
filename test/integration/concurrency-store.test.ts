import { describe, expect, it } from 'vitest';
import { createConcurrencyStore } from '../../lib/store/concurrency-store.js';
import { connectRedis } from '../../lib/store/scripts.js';
import { newRedis, redisUrl, uniquePrefix } from '../support/stack.js';

/** The slot scripts (acquireSlot, releaseSlot) on the real Redis, one group per test. */
function store() {
  const redis = connectRedis(redisUrl());
  newRedis(); // registers cleanup of the file's clients
  return { slots: createConcurrencyStore(redis, uniquePrefix()), redis };
}

describe('acquireSlot / releaseSlot', () => {
  it('grants up to `limit` holders and lines the rest up in arrival order', async () => {
    const { slots } = store();
    expect(await slots.acquire('t', 'g', 'a', 2, 1)).toEqual({ granted: true });
    expect(await slots.acquire('t', 'g', 'b', 2, 2)).toEqual({ granted: true });
    expect(await slots.acquire('t', 'g', 'c', 2, 3)).toEqual({
      granted: false,
      position: 1,
      holders: ['a', 'b'],
      ahead: [],
    });
    expect(await slots.acquire('t', 'g', 'd', 2, 4)).toMatchObject({ granted: false, position: 2 });
    // Asked for (cancelInProgress), the members ahead come with the holders, in line order.
    await slots.acquire('t', 'g', 'e', 2, 5);
    expect(await slots.acquire('t', 'g', 'e', undefined, 6, true)).toEqual({
      granted: false,
      position: 3,
      holders: ['a', 'b'],
      ahead: ['c', 'd'],
    });
  });

  it('is idempotent: a holder asking again is granted, a waiter keeps its place', async () => {
    const { slots } = store();
    await slots.acquire('t', 'g', 'a', 1, 1);
    await slots.acquire('t', 'g', 'b', 1, 2);
    await slots.acquire('t', 'g', 'c', 1, 3);
    expect(await slots.acquire('t', 'g', 'a', 1, 4)).toEqual({ granted: true });
    expect(await slots.acquire('t', 'g', 'c', undefined, 5)).toMatchObject({ position: 2 });
    expect(await slots.acquire('t', 'g', 'b', undefined, 6)).toMatchObject({ position: 1 });
  });

  it('a release grants the freed slot to the head of the line, once', async () => {
    const { slots } = store();
    await slots.acquire('t', 'g', 'a', 1, 1);
    await slots.acquire('t', 'g', 'b', 1, 2);
    await slots.acquire('t', 'g', 'c', 1, 3);
    expect(await slots.release('t', 'g', 'a', 4)).toEqual(['b']);
    // The same release again (a replay after a lost reply) answers the same grants
    // and grants nothing more.
    expect(await slots.release('t', 'g', 'a', 5)).toEqual(['b']);
    expect(await slots.peek('t', 'g', 'c')).toEqual({ position: 1, holders: ['b'] });
    expect(await slots.acquire('t', 'g', 'b', undefined, 6)).toEqual({ granted: true });
    expect(await slots.peek('t', 'g', 'c')).toEqual({ position: 1, holders: ['b'] });
  });

  it('a waiter that leaves the line frees its place without taking a slot', async () => {
    const { slots } = store();
    await slots.acquire('t', 'g', 'a', 1, 1);
    await slots.acquire('t', 'g', 'b', 1, 2);
    await slots.acquire('t', 'g', 'c', 1, 3);
    expect(await slots.release('t', 'g', 'b', 4)).toEqual([]);
    expect(await slots.peek('t', 'g', 'c')).toEqual({ position: 1, holders: ['a'] });
    expect(await slots.release('t', 'g', 'a', 5)).toEqual(['c']);
  });

  it('a raised limit grants as many waiters as it frees room for', async () => {
    const { slots } = store();
    await slots.acquire('t', 'g', 'a', 1, 1);
    await slots.acquire('t', 'g', 'b', 1, 2);
    await slots.acquire('t', 'g', 'c', 1, 3);
    await slots.acquire('t', 'g', 'd', 3, 4); // a newer revision with limit 3
    expect(await slots.release('t', 'g', 'a', 5)).toEqual(['b', 'c', 'd']);
  });
});
