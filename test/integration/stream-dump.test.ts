import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { crc64 } from '../../lib/store/crc64.js';
import { isStreamDump, lzfDecompress, streamDumpEntries } from '../../lib/store/stream-dump.js';
import { newRedis, uniquePrefix } from '../support/stack.js';

/**
 * lib/store/stream-dump.ts against real Redis: a stream's DUMP read back without
 * Redis gives what XRANGE gives (how a finished run's events are read: the run's
 * end keeps its events stream's DUMP, lua/includes/end-run.lua).
 */
const redis = newRedis();
const key = `${uniquePrefix()}:{dump}:events`;
afterAll(() => redis.quit());

/** Seeded, so a failure names a stream that can be made again. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function roundTrip(): Promise<void> {
  const want = await redis.xrange(key, '-', '+');
  const blob = await redis.dumpBuffer(key);
  expect(blob && isStreamDump(blob)).toBe(true);
  expect(streamDumpEntries(blob as Buffer)).toEqual(want);
}

describe('a stream DUMP read without Redis', () => {
  it('gives XRANGE’s entries for the entries emit.lua writes, one node or many', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const next = random(seed);
      await redis.del(key);
      // 250 entries take three nodes (stream-node-max-entries 100).
      const entries = seed === 6 ? 250 : 1 + Math.floor(next() * 40);
      for (let i = 0; i < entries; i++) {
        const fields = ['at', String(1_796_210_017_212 + i)];
        for (let e = 0; e < 1 + Math.floor(next() * 4); e++) {
          fields.push('type', e % 2 ? 'job.succeeded' : 'step.started', 'job', `job-${i}·é`);
          if (next() < 0.5) fields.push('step', String(e));
          if (next() < 0.7) fields.push('data', `{"attempt":${i},"n":-${i * 1000}}`);
        }
        await redis.xadd(key, '*', ...fields);
      }
      await roundTrip();
    }
  });

  it('reads integers of every width, long and incompressible values, deleted and same-field entries', async () => {
    await redis.del(key);
    const numbers = ['0', '-1', '127', '128', '-4096', '4095', '32767', '-32768', '8388607'];
    numbers.push('2147483647', '-2147483648', '9007199254740993', '-9223372036854775808');
    await redis.xadd(key, '1-5', ...numbers.flatMap((n, i) => [`n${i}`, n]));
    // Same fields as the node's first entry: stored without the field names.
    await redis.xadd(key, '2-0', ...numbers.flatMap((_, i) => [`n${i}`, String(i)]));
    await redis.xadd(key, '3-0', 'long', 'x'.repeat(5000), 'text', 'y'.repeat(300));
    await redis.xadd(key, '4-0', 'random', randomBytes(200).toString('hex'));
    await redis.xadd(key, '5-0', 'gone', '1');
    await redis.xdel(key, '5-0');
    await redis.xadd(key, '6-0', 'last', '');
    await roundTrip();
  });

  it('tells a DUMP from the text archives of runs that ended before', () => {
    expect(isStreamDump(Buffer.from('0-0\x1frun.created\x1f\x1f\x1f\x1f'))).toBe(false);
    expect(isStreamDump(Buffer.from('[["1-0","run.created","","","",""]]'))).toBe(false);
    expect(() => streamDumpEntries(Buffer.from('[]'))).toThrow(/not the DUMP of a stream/);
    // A binary first byte that is no stream type this reader knows: an error, not text.
    expect(() => isStreamDump(Buffer.from([22, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))).toThrow(
      /DUMP of unknown type 22/,
    );
  });

  it('refuses a DUMP whose CRC64 does not match its bytes (crc64.ts is Redis’ CRC-64/Jones)', async () => {
    expect(
      Buffer.from(crc64(Buffer.from('123456789')))
        .reverse()
        .toString('hex'),
    ).toBe('e9c6d914c4b8d9ca');
    await redis.del(key);
    for (let i = 0; i < 20; i++) await redis.xadd(key, '*', 'at', String(i), 'type', 'job.queued');
    const blob = (await redis.dumpBuffer(key)) as Buffer;
    expect(streamDumpEntries(blob)).toHaveLength(20);
    // One byte of an entry, then one of the checksum itself.
    for (const at of [Math.floor(blob.length / 2), blob.length - 1]) {
      const changed = Buffer.from(blob);
      changed[at] = (changed[at] as number) ^ 0x01;
      expect(() => streamDumpEntries(changed)).toThrow(/CRC64 does not match/);
    }
  });

  it('refuses corrupt LZF data instead of sizing a buffer by it or copying past it', () => {
    expect(() => lzfDecompress(Buffer.from([0, 0x61]), 4_000_000_000)).toThrow(
      /corrupt LZF length/,
    );
    // A literal run of 4 bytes with 2 present, and one longer than the output.
    expect(() => lzfDecompress(Buffer.from([3, 0x61, 0x62]), 4)).toThrow(/corrupt LZF data/);
    expect(() => lzfDecompress(Buffer.from([3, 0x61, 0x62, 0x63, 0x64]), 2)).toThrow(
      /corrupt LZF data/,
    );
  });

  it('decompresses LZF literals and overlapping back references', () => {
    // "abcabcabcabc": the literal "abc", then 9 bytes from 3 back (overlapping).
    const compressed = Buffer.from([2, 0x61, 0x62, 0x63, (7 << 5) | 0, 0, 2]);
    expect(lzfDecompress(compressed, 12).toString()).toBe('abcabcabcabc');
    expect(() => lzfDecompress(compressed, 13)).toThrow(/wrong length/);
  });
});
