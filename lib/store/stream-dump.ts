import { crc64 } from './crc64.js';

/**
 * The entries of a stream from its `DUMP` (Redis' serialization of the key), read
 * without a Redis: how a finished run's archived events are read back
 * (lua/includes/end-run.lua keeps the DUMP of the run's events stream in one field
 * of the run hash: the stream's own compact form, LZF-compressed, made in C, where
 * building rows from XRANGE in Lua cost 10–15 µs per job and more bytes).
 *
 * A DUMP is `<RDB type><object><RDB version: 2 bytes><CRC64: 8 bytes>` (checked). A stream
 * (types 15, 19, 21: Redis 5 to 7.2+, which differ only after the entries) is its
 * radix tree's nodes, each a 16-byte master id and a listpack of entries, then
 * counters and consumer groups that are not read here. Formats: Redis' rdb.c,
 * listpack.c and t_stream.c.
 */

/** One stream entry: its id and its field/value list, as XRANGE gives them. */
export type StreamEntry = [id: string, fields: string[]];

const STREAM_TYPES = new Set([15, 19, 21]);

/**
 * Whether `blob` is a stream's DUMP (an archive written as text starts with a digit or
 * `[`). Another binary first byte is a DUMP this reader does not know (a stream encoding
 * of a later Redis or Valkey): an error, not text to misread.
 */
export function isStreamDump(blob: Buffer): boolean {
  const type = blob[0] as number;
  if (blob.length > 10 && STREAM_TYPES.has(type)) return true;
  if (type < 0x20) throw new Error(`archived events: a DUMP of unknown type ${type}`);
  return false;
}

/**
 * Every entry of the dumped stream, in order (deleted entries left out). A DUMP whose
 * CRC64 does not match (a byte changed in Redis' memory or on the way) is an error,
 * not events made up from the wrong bytes.
 */
export function streamDumpEntries(blob: Buffer): StreamEntry[] {
  if (!isStreamDump(blob)) throw new Error('not the DUMP of a stream');
  if (!crc64(blob.subarray(0, blob.length - 8)).equals(blob.subarray(blob.length - 8)))
    throw new Error('archived events: the DUMP’s CRC64 does not match its bytes');
  const rdb = new RdbReader(blob.subarray(0, blob.length - 10), 1);
  const nodes = rdb.length();
  const out: StreamEntry[] = [];
  for (let n = 0; n < nodes; n++) {
    const master = rdb.string();
    if (master.length !== 16) throw new Error('stream DUMP: a node key is not a 16-byte id');
    readNode(master.readBigUInt64BE(0), master.readBigUInt64BE(8), rdb.string(), out);
  }
  return out;
}

/** The entries of one node's listpack (t_stream.c: master entry, then each entry). */
function readNode(ms: bigint, seq: bigint, listpack: Buffer, out: StreamEntry[]): void {
  const lp = new ListpackReader(listpack);
  const count = Number(lp.next());
  const deleted = Number(lp.next());
  const masterFields: string[] = [];
  for (let i = Number(lp.next()); i > 0; i--) masterFields.push(lp.next());
  lp.next(); // the master entry's terminator
  for (let e = 0; e < count + deleted; e++) {
    const flags = Number(lp.next());
    const id = `${ms + BigInt(lp.next())}-${seq + BigInt(lp.next())}`;
    const fields: string[] = [];
    if (flags & SAME_FIELDS) {
      for (const field of masterFields) fields.push(field, lp.next());
    } else {
      for (let i = Number(lp.next()); i > 0; i--) fields.push(lp.next(), lp.next());
    }
    lp.next(); // lp-count, for walking backwards
    if (!(flags & DELETED)) out.push([id, fields]);
  }
}

const DELETED = 1;
const SAME_FIELDS = 2;

/** rdb.c's length and string encodings. */
class RdbReader {
  constructor(
    private readonly buf: Buffer,
    private at: number,
  ) {}

  /** A length, or with `special` an encoding's number (the top two bits 11). */
  private lengthOrEncoding(): { value: number; special: boolean } {
    const b = this.byte();
    switch (b >> 6) {
      case 0:
        return { value: b & 0x3f, special: false };
      case 1:
        return { value: ((b & 0x3f) << 8) | this.byte(), special: false };
      case 3:
        return { value: b & 0x3f, special: true };
    }
    if (b === 0x80) {
      const v = this.buf.readUInt32BE(this.at);
      this.at += 4;
      return { value: v, special: false };
    }
    if (b === 0x81) {
      const v = Number(this.buf.readBigUInt64BE(this.at));
      this.at += 8;
      return { value: v, special: false };
    }
    throw new Error(`stream DUMP: unknown length byte ${b}`);
  }

  length(): number {
    const { value, special } = this.lengthOrEncoding();
    if (special) throw new Error('stream DUMP: an encoded value where a length was expected');
    return value;
  }

  /** A string: verbatim, LZF-compressed, or an integer (as its decimal text). */
  string(): Buffer {
    const { value, special } = this.lengthOrEncoding();
    if (!special) return this.take(value);
    if (value === 0) return Buffer.from(String(this.buf.readInt8(this.skip(1))));
    if (value === 1) return Buffer.from(String(this.buf.readInt16LE(this.skip(2))));
    if (value === 2) return Buffer.from(String(this.buf.readInt32LE(this.skip(4))));
    if (value === 3) {
      const compressed = this.length();
      const length = this.length();
      return lzfDecompress(this.take(compressed), length);
    }
    throw new Error(`stream DUMP: unknown string encoding ${value}`);
  }

  private byte(): number {
    if (this.at >= this.buf.length) throw new Error('stream DUMP: truncated');
    return this.buf[this.at++] as number;
  }

  private skip(n: number): number {
    const at = this.at;
    this.at += n;
    return at;
  }

  private take(n: number): Buffer {
    if (this.at + n > this.buf.length) throw new Error('stream DUMP: truncated');
    return this.buf.subarray(this.skip(n), this.at);
  }
}

/** LZF (liblzf, as Redis compresses RDB strings). */
export function lzfDecompress(input: Buffer, length: number): Buffer {
  // A back reference of 2 or 3 bytes stands for at most 264: a longer claim is corrupt
  // (and must not size the buffer).
  if (length > input.length * 132) throw new Error('stream DUMP: corrupt LZF length');
  const out = Buffer.alloc(length);
  let ip = 0;
  let op = 0;
  while (ip < input.length) {
    const ctrl = input[ip++] as number;
    if (ctrl < 32) {
      // A literal run of ctrl + 1 bytes.
      if (ip + ctrl + 1 > input.length || op + ctrl + 1 > length) {
        throw new Error('stream DUMP: corrupt LZF data');
      }
      input.copy(out, op, ip, ip + ctrl + 1);
      ip += ctrl + 1;
      op += ctrl + 1;
      continue;
    }
    // A back reference: len + 2 bytes from `ref`, byte by byte (they may overlap).
    let len = ctrl >> 5;
    if (len === 7) len += input[ip++] as number;
    let ref = op - ((ctrl & 0x1f) << 8) - 1 - (input[ip++] as number);
    if (ref < 0 || op + len + 2 > length) throw new Error('stream DUMP: corrupt LZF data');
    for (let i = 0; i < len + 2; i++) out[op++] = out[ref++] as number;
  }
  if (op !== length) throw new Error('stream DUMP: LZF data of the wrong length');
  return out;
}

/** listpack.c's entries, each read as its text (integers as decimal). */
class ListpackReader {
  private at = 6; // total bytes (4) and element count (2)

  constructor(private readonly lp: Buffer) {}

  next(): string {
    const lp = this.lp;
    const start = this.at;
    const b = lp[start] as number;
    let value: string;
    let size: number;
    if (b < 0x80) {
      value = String(b);
      size = 1;
    } else if (b >> 6 === 2) {
      size = 1 + (b & 0x3f);
      value = lp.toString('utf8', start + 1, start + size);
    } else if (b >> 5 === 6) {
      const v = ((b & 0x1f) << 8) | (lp[start + 1] as number);
      value = String(v >= 1 << 12 ? v - (1 << 13) : v);
      size = 2;
    } else if (b >> 4 === 14) {
      const len = ((b & 0x0f) << 8) | (lp[start + 1] as number);
      value = lp.toString('utf8', start + 2, start + 2 + len);
      size = 2 + len;
    } else if (b === 0xf0) {
      const len = lp.readUInt32LE(start + 1);
      value = lp.toString('utf8', start + 5, start + 5 + len);
      size = 5 + len;
    } else if (b === 0xf1) {
      value = String(lp.readInt16LE(start + 1));
      size = 3;
    } else if (b === 0xf2) {
      value = String(lp.readIntLE(start + 1, 3));
      size = 4;
    } else if (b === 0xf3) {
      value = String(lp.readInt32LE(start + 1));
      size = 5;
    } else if (b === 0xf4) {
      value = lp.readBigInt64LE(start + 1).toString();
      size = 9;
    } else {
      throw new Error(`stream DUMP: listpack entry of encoding ${b} (or past its end)`);
    }
    // The entry's back length: its size again, in 1 to 5 bytes.
    this.at = start + size + backlenBytes(size);
    return value;
  }
}

function backlenBytes(size: number): number {
  if (size <= 127) return 1;
  if (size < 16383) return 2;
  if (size < 2097151) return 3;
  if (size < 268435455) return 4;
  return 5;
}
