import type { ExprContext } from './context.js';
import { ExpressionError } from './errors.js';
import { foldCase, isPrimitive, looseEquals, toText } from './values.js';

export interface FunctionDef {
  /** Canonical spelling, for messages. */
  name: string;
  minArgs: number;
  maxArgs: number;
  /** `pos` is where the call starts, so runtime failures point at it. */
  call(args: unknown[], ctx: ExprContext, pos: number): unknown;
}

export const STATUS_FUNCTIONS: ReadonlySet<string> = new Set([
  'success',
  'failure',
  'always',
  'cancelled',
]);

const status = (ctx: ExprContext) => ctx.status ?? 'success';

/** `{{` and `}}` are literal braces; `{N}` is argument N; anything else is an error, as in GitHub. */
function format(args: unknown[], pos: number): string {
  const [template, ...values] = args;
  const src = toText(template);
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const c = src.charAt(i);
    if (c === '{' && src[i + 1] === '{') {
      out += '{';
      i++;
    } else if (c === '}' && src[i + 1] === '}') {
      out += '}';
      i++;
    } else if (c === '{') {
      const close = src.indexOf('}', i);
      const digits = close === -1 ? '' : src.slice(i + 1, close);
      if (!/^\d+$/.test(digits)) {
        throw new ExpressionError(`format: invalid placeholder in '${src}'`, pos);
      }
      const index = Number(digits);
      if (index >= values.length) {
        throw new ExpressionError(
          `format: '{${index}}' has no argument (got ${values.length})`,
          pos,
        );
      }
      out += toText(values[index]);
      i = close;
    } else if (c === '}') {
      throw new ExpressionError(`format: unmatched '}' in '${src}' (write '}}')`, pos);
    } else {
      out += c;
    }
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

function contains(search: unknown, item: unknown): boolean {
  if (Array.isArray(search)) return search.some((element) => looseEquals(element, item));
  if (!isPrimitive(search) || !isPrimitive(item)) return false;
  return foldCase(toText(search)).includes(foldCase(toText(item)));
}

function affix(value: unknown, part: unknown, end: boolean): boolean {
  if (!isPrimitive(value) || !isPrimitive(part)) return false;
  const v = foldCase(toText(value));
  const p = foldCase(toText(part));
  return end ? v.endsWith(p) : v.startsWith(p);
}

function join(value: unknown, separator: unknown): string {
  if (!Array.isArray(value)) return isPrimitive(value) ? toText(value) : '';
  return value.map(toText).join(separator === undefined ? ',' : toText(separator));
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
    def('contains', 2, 2, ([search, item]) => contains(search, item)),
    def('startsWith', 2, 2, ([value, part]) => affix(value, part, false)),
    def('endsWith', 2, 2, ([value, part]) => affix(value, part, true)),
    def('format', 1, Number.POSITIVE_INFINITY, (args, _, pos) => format(args, pos)),
    def('join', 1, 2, ([value, separator]) => join(value, separator)),
    def('toJSON', 1, 1, ([value], _, pos) => toJSON(value, pos)),
    def('fromJSON', 1, 1, ([value], _, pos) => fromJSON(value, pos)),
  ].map((f) => [f.name.toLowerCase(), f]),
);
