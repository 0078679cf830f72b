/**
 * Readers of single environment variables, for config.ts: each turns the raw
 * value (undefined when unset) into a typed value or the reasons it is malformed.
 * Hand-written rather than zod: config is parsed at every cold start, and zod's
 * import and schema construction were ~5 % of a handler's init (bench/cold-start.ts).
 * The reasons read as zod's English messages did (users and tests know them).
 */
export type Read<T> = { ok: true; value: T } | { ok: false; reasons: string[] };
export type Reader<T> = (raw: string | undefined) => Read<T>;

const ok = <T>(value: T): Read<T> => ({ ok: true, value });
const bad = (...reasons: string[]): Read<never> => ({ ok: false, reasons });

/** Unset is `fallback` (not checked, like zod's default); set goes through `reader`. */
export function withDefault<T>(reader: Reader<T>, fallback: T): Reader<T> {
  return (raw) => (raw === undefined ? ok(fallback) : reader(raw));
}

/** Unset is undefined; set goes through `reader`. */
export function optional<T>(reader: Reader<T>): Reader<T | undefined> {
  return (raw) => (raw === undefined ? ok(undefined) : reader(raw));
}

/** What an unset required variable reads as. */
const missing = (expected: 'string' | 'number') =>
  bad(`Invalid input: expected ${expected}, received undefined`);

/** Any string; unset is malformed. Wrap in `optional`/`withDefault` otherwise. */
export const text: Reader<string> = (raw) => (raw === undefined ? missing('string') : ok(raw));

/** An absolute URL; surrounding blanks and inner tabs/newlines are dropped (as URL parsing does). */
export const url: Reader<string> = (raw) => {
  if (raw === undefined) return missing('string');
  const trimmed = raw.trim();
  return URL.canParse(trimmed) ? ok(trimmed.replace(/[\t\n\r]/g, '')) : bad('Invalid URL');
};

/** A URL whose scheme must match `scheme`; `why` says what it must start with. */
export function urlWithScheme(scheme: RegExp, why: string): Reader<string> {
  return (raw) => {
    const read = url(raw);
    const schemeOk = scheme.test(read.ok ? read.value : (raw ?? ''));
    if (read.ok) return schemeOk ? read : bad(why);
    return schemeOk ? read : bad(...read.reasons, why);
  };
}

/** One of `values`. */
export function oneOf<const V extends string>(values: readonly V[]): Reader<V> {
  return (raw) => {
    if (raw === undefined) return missing('string');
    return (values as readonly string[]).includes(raw)
      ? ok(raw as V)
      : bad(`Invalid option: expected one of ${values.map((v) => `"${v}"`).join('|')}`);
  };
}

/** Comma-separated items, each trimmed, empty ones dropped. */
export const list: Reader<string[]> = (raw) => {
  if (raw === undefined) return missing('string');
  return ok(
    raw
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
};

/** A finite number by `Number(raw)` (so '1e3', '0x10', ' 7 ' are numbers, and '' is 0). */
function finite(raw: string): Read<number> {
  const n = Number(raw);
  return Number.isFinite(n) ? ok(n) : bad(`Invalid input: expected number, received ${n}`);
}

/** A number above 0 (fractions allowed). */
export const positive: Reader<number> = (raw) => {
  if (raw === undefined) return missing('number');
  const read = finite(raw);
  if (!read.ok) return read;
  return read.value > 0 ? read : bad('Too small: expected number to be >0');
};

/** A safe integer of at least `min` (0: nonnegative, 1: positive). */
export function integer(min: 0 | 1): Reader<number> {
  return (raw) => {
    if (raw === undefined) return missing('number');
    const read = finite(raw);
    if (!read.ok) return read;
    const n = read.value;
    if (!Number.isInteger(n)) return bad('Invalid input: expected int, received number');
    const reasons: string[] = [];
    if (n > Number.MAX_SAFE_INTEGER)
      reasons.push(`Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}`);
    if (n < Number.MIN_SAFE_INTEGER)
      reasons.push(`Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}`);
    if (min === 0 ? n < 0 : n <= 0)
      reasons.push(`Too small: expected number to be ${min === 0 ? '>=0' : '>0'}`);
    return reasons.length === 0 ? read : bad(...reasons);
  };
}

/**
 * Reads every variable of `readers` from `env`: the values, or every malformed
 * variable with its reasons (in the order of `readers`).
 */
export function readEnv<R extends Record<string, Reader<unknown>>>(
  readers: R,
  env: Record<string, string | undefined>,
):
  | { ok: true; values: { [K in keyof R]: R[K] extends Reader<infer T> ? T : never } }
  | { ok: false; problems: { variable: string; reason: string }[] } {
  const values: Record<string, unknown> = {};
  const problems: { variable: string; reason: string }[] = [];
  for (const [variable, reader] of Object.entries(readers)) {
    const read = reader(env[variable]);
    if (read.ok) values[variable] = read.value;
    else for (const reason of read.reasons) problems.push({ variable, reason });
  }
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, values: values as { [K in keyof R]: R[K] extends Reader<infer T> ? T : never } };
}
