import type { ExprContext } from './context.js';
import { ExpressionError } from './errors.js';
import { foldCase, isPrimitive, looseEquals, toText } from './values.js';

/**
 * An argument, evaluated when the function asks for it: as in GitHub's runner,
 * `case()` evaluates only up to the matching branch, `format()` only the arguments
 * its string uses, `join()` its separator only for two or more items.
 */
export type Arg = () => unknown;

export interface FunctionDef {
  /** Canonical spelling, for messages. */
  name: string;
  minArgs: number;
  maxArgs: number;
  /** `pos` is where the call starts, so runtime failures point at it. */
  call(args: Arg[], ctx: ExprContext, pos: number): unknown;
}

export const STATUS_FUNCTIONS: ReadonlySet<string> = new Set([
  'success',
  'failure',
  'always',
  'cancelled',
]);

/** GitHub functions flowline leaves out on purpose, with the reason (README "Expressions"). */
export const UNAVAILABLE_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  [
    'hashfiles',
    'hashFiles() is not available in flowline: steps have no workspace of files to hash',
  ],
]);

const status = (ctx: ExprContext) => ctx.status ?? 'success';

/** A format string cut into text and argument numbers (`{N}`), as the runner reads it. */
type FormatPart = string | number;

/**
 * `{{` and `}}` are literal braces, `{N}` is argument N (0-255); anything else —
 * a lone brace, `{x}`, format specifiers like `{0:x}` — is invalid, as in GitHub.
 * Returns the problem as text instead of the parts when the string is invalid.
 */
function parseFormat(src: string): FormatPart[] | string {
  const parts: FormatPart[] = [];
  let text = '';
  for (let i = 0; i < src.length; i++) {
    const c = src.charAt(i);
    if ((c === '{' || c === '}') && src[i + 1] === c) {
      text += c;
      i++;
    } else if (c === '{') {
      const match = /^\{(\d+)\}/.exec(src.slice(i));
      const index = match ? Number(match[1]) : Number.NaN;
      if (!match || index > 255)
        return `format: invalid placeholder in '${src}' (write {N}, or {{ for a brace)`;
      if (text) parts.push(text);
      text = '';
      parts.push(index);
      i += match[0].length - 1;
    } else if (c === '}') {
      return `format: unmatched '}' in '${src}' (write '}}')`;
    } else {
      text += c;
    }
  }
  if (text) parts.push(text);
  return parts;
}

function tooFew(index: number, count: number): string {
  return `format: '{${index}}' has no argument (got ${count})`;
}

/** For the parser: the problem with a literal format string given `count` arguments. */
export function checkFormatLiteral(src: string, count: number): string | undefined {
  const parts = parseFormat(src);
  if (typeof parts === 'string') return parts;
  const index = parts.find((p): p is number => typeof p === 'number' && p >= count);
  return index === undefined ? undefined : tooFew(index, count);
}

function format([template, ...values]: Arg[], pos: number): string {
  const parts = parseFormat(toText(template?.()));
  if (typeof parts === 'string') throw new ExpressionError(parts, pos);
  const cache = new Map<number, string>();
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const value = values[part];
    if (!value) throw new ExpressionError(tooFew(part, values.length), pos);
    if (!cache.has(part)) cache.set(part, toText(value()));
    out += cache.get(part);
  }
  return out;
}

/**
 * Drops `__proto__` keys: JSON.parse keeps them as own data properties, harmless here,
 * but a later Object.assign/spread by a caller would turn them into a prototype swap.
 */
function fromJSON(value: unknown, pos: number): unknown {
  try {
    return JSON.parse(toText(value), (key, v) => (key === '__proto__' ? undefined : v));
  } catch (err) {
    throw new ExpressionError(`fromJSON: invalid JSON (${(err as Error).message})`, pos, {
      cause: err,
    });
  }
}

function toJSON(value: unknown, pos: number): string {
  try {
    return JSON.stringify(value ?? null, null, 2) ?? 'null';
  } catch (err) {
    throw new ExpressionError(`toJSON: ${(err as Error).message}`, pos, { cause: err });
  }
}

/** An array: an element loosely equal to `item`; text: a case-insensitive substring. */
function contains(search: unknown, item: Arg): boolean {
  if (Array.isArray(search)) {
    const wanted = item();
    return search.some((element) => looseEquals(wanted, element));
  }
  if (!isPrimitive(search)) return false;
  const part = item();
  return isPrimitive(part) && foldCase(toText(search)).includes(foldCase(toText(part)));
}

function affix(value: unknown, part: Arg, end: boolean): boolean {
  if (!isPrimitive(value)) return false;
  const p = part();
  if (!isPrimitive(p)) return false;
  const v = foldCase(toText(value));
  const f = foldCase(toText(p));
  return end ? v.endsWith(f) : v.startsWith(f);
}

/** Items as text; a separator that is not a primitive (or none) falls back to `,`. */
function join(value: unknown, separator: Arg | undefined): string {
  if (!Array.isArray(value)) return isPrimitive(value) ? toText(value) : '';
  if (value.length < 2) return value.map(toText).join('');
  const given = separator?.();
  return value.map(toText).join(given !== undefined && isPrimitive(given) ? toText(given) : ',');
}

/** `case(pred1, val1, …, default)`: the value of the first true predicate; each must be a boolean. */
function caseOf(args: Arg[], pos: number): unknown {
  for (let i = 0; i + 1 < args.length; i += 2) {
    const predicate = args[i]?.();
    if (typeof predicate !== 'boolean') {
      throw new ExpressionError(
        `case: predicate ${i / 2 + 1} must be a boolean, got ${predicate === null ? 'null' : Array.isArray(predicate) ? 'an array' : typeof predicate}`,
        pos,
      );
    }
    if (predicate) return args[i + 1]?.();
  }
  return args.at(-1)?.();
}

const def = (
  name: string,
  minArgs: number,
  maxArgs: number,
  call: FunctionDef['call'],
): FunctionDef => ({
  name,
  minArgs,
  maxArgs,
  call,
});

/** Keyed by lower-case name: function names are case-insensitive, as in GitHub. */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(
  [
    def('success', 0, 0, (_, ctx) => status(ctx) === 'success'),
    def('failure', 0, 0, (_, ctx) => status(ctx) === 'failure'),
    def('cancelled', 0, 0, (_, ctx) => status(ctx) === 'cancelled'),
    def('always', 0, 0, () => true),
    def('contains', 2, 2, ([search, item]) => contains(search?.(), item as Arg)),
    def('startsWith', 2, 2, ([value, part]) => affix(value?.(), part as Arg, false)),
    def('endsWith', 2, 2, ([value, part]) => affix(value?.(), part as Arg, true)),
    // 255 parameters at most, the format string included, as GitHub's runner.
    def('format', 1, 255, (args, _, pos) => format(args, pos)),
    def('join', 1, 2, ([value, separator]) => join(value?.(), separator)),
    def('toJSON', 1, 1, ([value], _, pos) => toJSON(value?.(), pos)),
    def('fromJSON', 1, 1, ([value], _, pos) => fromJSON(value?.(), pos)),
    def('case', 3, Number.POSITIVE_INFINITY, (args, _, pos) => caseOf(args, pos)),
  ].map((f) => [f.name.toLowerCase(), f]),
);
