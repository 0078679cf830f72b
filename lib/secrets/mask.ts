/** What a secret value is replaced with wherever it would appear. */
export const MASK = '***';

export interface Masker {
  /** A copy of `value` with every secret replaced by `***` in its strings (keys included). */
  mask<T>(value: T): T;
  maskText(text: string): string;
  /** Whether some string (or number, or key) under `value` carries a secret, in any form. */
  reveals(value: unknown): boolean;
  /** A copy of `err` (same prototype and code, `outputs` and `cause` masked too). */
  maskError<E>(err: E): E;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Percent-encodes what WHATWG URL parsing encodes in a path (space " # < > ? ` { } and non-ASCII). */
const urlPathForm = (value: string): string =>
  value.replace(/[\s"#<>?`{}]|[^\x20-\x7e]+/gu, (c) => encodeURIComponent(c));

/** A lone surrogate cannot be URL-encoded (URIError); such a value has no encoded form. */
function encoded(encode: (value: string) => string, value: string): string {
  try {
    return encode(value);
  } catch {
    return value;
  }
}

/**
 * The forms a value takes on its way into outputs: as is, escaped inside a JSON
 * string (a secret with a quote or newline in a serialised body), URL-encoded in
 * each way an error may echo a URL (encodeURIComponent, `+` for a space as forms
 * and URLSearchParams write it, encodeURI, WHATWG path encoding). Case-folded
 * forms (a URL host is lower-cased) are matched by the case-insensitive pattern.
 */
function variants(value: string): string[] {
  const component = encoded(encodeURIComponent, value);
  return [
    value,
    // Full case mappings that simple case folding misses (ß → SS).
    value.toUpperCase(),
    value.toLowerCase(),
    JSON.stringify(value).slice(1, -1),
    component,
    component.replace(/%20/g, '+'),
    new URLSearchParams([['', value]]).toString().slice(1),
    encoded(encodeURI, value),
    encoded(urlPathForm, value),
  ];
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function define(target: object, key: PropertyKey, value: unknown): void {
  // defineProperty, not assignment: a `__proto__` key stays a key.
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * A pure masker for the given secret values (empty ones ignored). Matching ignores
 * case. Longer values are matched first, so a secret that contains another is
 * masked whole. Numbers whose
 * text contains a secret become the masked string. Class instances other than
 * arrays, plain objects and errors are returned as they are.
 */
export function createMasker(values: string[]): Masker {
  const needles = [...new Set(values.filter((v) => v !== '').flatMap(variants))].sort(
    (a, b) => b.length - a.length,
  );
  if (needles.length === 0) {
    return { mask: (v) => v, maskText: (t) => t, maskError: (e) => e, reveals: () => false };
  }
  const pattern = new RegExp(needles.map(escapeRegExp).join('|'), 'giu');
  const maskText = (text: string): string => text.replace(pattern, MASK);

  function walk(value: unknown, seen: WeakMap<object, unknown>): unknown {
    if (typeof value === 'string') return maskText(value);
    if (typeof value === 'number' || typeof value === 'bigint') {
      const text = String(value);
      const masked = maskText(text);
      return masked === text ? value : masked;
    }
    if (typeof value !== 'object' || value === null) return value;
    const done = seen.get(value);
    if (done !== undefined) return done;
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      seen.set(value, out);
      for (const item of value) out.push(walk(item, seen));
      return out;
    }
    if (value instanceof Error) {
      const copy: object = Object.create(Object.getPrototypeOf(value) as object | null);
      seen.set(value, copy);
      for (const key of Reflect.ownKeys(value)) {
        const d = Object.getOwnPropertyDescriptor(value, key);
        // Read through accessors (V8 may expose `stack` as one): the copy gets data.
        Object.defineProperty(copy, key, {
          value: walk(Reflect.get(value, key), seen),
          enumerable: d?.enumerable ?? false,
          writable: true,
          configurable: true,
        });
      }
      return copy;
    }
    if (!isPlainObject(value)) return value;
    const out: object = Object.getPrototypeOf(value) === null ? Object.create(null) : {};
    seen.set(value, out);
    for (const [key, item] of Object.entries(value)) define(out, maskText(key), walk(item, seen));
    return out;
  }

  const probe = new RegExp(pattern.source, 'iu');
  function carries(value: unknown, seen: WeakSet<object>): boolean {
    if (typeof value === 'string') return probe.test(value);
    if (typeof value === 'number' || typeof value === 'bigint') return probe.test(String(value));
    if (typeof value !== 'object' || value === null || seen.has(value)) return false;
    seen.add(value);
    if (Array.isArray(value)) return value.some((item) => carries(item, seen));
    return Object.entries(value).some(([key, item]) => probe.test(key) || carries(item, seen));
  }

  return {
    mask: <T>(value: T): T => walk(value, new WeakMap()) as T,
    maskText,
    maskError: <E>(err: E): E => walk(err, new WeakMap()) as E,
    reveals: (value: unknown): boolean => carries(value, new WeakSet()),
  };
}
