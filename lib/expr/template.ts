import type { ExprContext } from './context.js';
import { ExpressionError, placeIn } from './errors.js';
import { evaluateNode } from './evaluate.js';
import { type Node, parseExpression } from './parser.js';
import { toText } from './values.js';

export const OPEN = '${{';
const CLOSE = '}}';

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'expr'; node: Node };

export interface Template {
  parts: TemplatePart[];
  /** Set when the string is one `${{ }}` with only whitespace around it: its value keeps its type. */
  whole?: Node;
}

// Specs are evaluated over and over (every step, every retry) with the same strings;
// parsed trees are immutable, so a bounded cache saves re-parsing. FIFO eviction is enough.
const CACHE_LIMIT = 1000;
const CACHE_MAX_KEY = 8192;
const cache = new Map<string, unknown>();

/** `key` must say what was parsed (`t:` template, `c:` condition) as well as the text. */
export function memo<T>(key: string, build: () => T): T {
  if (cache.has(key)) return cache.get(key) as T;
  const built = build();
  // Long strings (a whole shell script) are rarely repeated; keep the cache small.
  if (key.length > CACHE_MAX_KEY) return built;
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, built);
  return built;
}

/** Parses every `${{ }}` in `src`; throws ExpressionError with the offset of the problem. */
export function parseTemplate(src: string): Template {
  return memo(`t:${src}`, (): Template => {
    const parts: TemplatePart[] = [];
    let cursor = 0;
    for (let open = src.indexOf(OPEN); open !== -1; open = src.indexOf(OPEN, cursor)) {
      if (open > cursor) parts.push({ kind: 'text', text: src.slice(cursor, open) });
      const bodyStart = open + OPEN.length;
      const close = findClose(src, bodyStart, open);
      parts.push({ kind: 'expr', node: parseExpression(src, bodyStart, close) });
      cursor = close + CLOSE.length;
    }
    if (cursor < src.length) parts.push({ kind: 'text', text: src.slice(cursor) });
    const exprs = parts.filter((p) => p.kind === 'expr');
    const onlySpace = parts.every((p) => p.kind === 'expr' || p.text.trim() === '');
    const single = exprs.length === 1 && onlySpace ? exprs[0] : undefined;
    return single ? { parts, whole: single.node } : { parts };
  });
}

/** The `}}` ending an expression; one inside a quoted string ('a}}b') does not count. */
function findClose(src: string, from: number, open: number): number {
  let inString = false;
  let quoteStart = 0;
  for (let i = from; i < src.length; i++) {
    const c = src.charAt(i);
    if (inString) {
      // A doubled quote is an escaped quote; skip both halves.
      if (c === "'" && src[i + 1] === "'") i++;
      else if (c === "'") inString = false;
    } else if (c === "'") {
      inString = true;
      quoteStart = i;
    } else if (src.startsWith(CLOSE, i)) {
      return i;
    }
  }
  if (inString) throw new ExpressionError('unterminated string', quoteStart);
  throw new ExpressionError(`'${OPEN}' without a closing '${CLOSE}'`, open);
}

/**
 * Runs a parse of `src` and turns an ExpressionError into its message with the place
 * (`at column 12`, or `at line 3, column 5` in multi-line text); null when it parses.
 */
export function check(src: string, parse: () => unknown): string | null {
  try {
    parse();
    return null;
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return err.position === undefined
      ? err.message
      : `${err.detail} at ${placeIn(src, err.position)}`;
  }
}

/** Null when every `${{ }}` in `src` parses, else the error message (with its place). */
export function checkTemplate(src: string): string | null {
  return check(src, () => parseTemplate(src));
}

/**
 * No `${{ }}` → `src` unchanged; one `${{ }}` that is the whole (trimmed) string → its
 * value with its type; otherwise text with each value interpolated (null → '',
 * arrays/objects → compact JSON).
 */
export function evaluate(src: string, ctx: ExprContext): unknown {
  if (!src.includes(OPEN)) return src;
  const template = parseTemplate(src);
  if (template.whole) return evaluateIn(src, template.whole, ctx);
  let out = '';
  for (const part of template.parts) {
    out += part.kind === 'text' ? part.text : toText(evaluateIn(src, part.node, ctx));
  }
  return out;
}

/** Evaluates one node of `src`; a failure names the expression it happened in. */
export function evaluateIn(src: string, node: Node, ctx: ExprContext): unknown {
  try {
    return evaluateNode(node, ctx);
  } catch (err) {
    if (!(err instanceof ExpressionError) || err.position === undefined) throw err;
    throw new ExpressionError(`${err.detail} in ${quoteExpression(src, err.position)}`, undefined, {
      cause: err,
    });
  }
}

/** The `${{ }}` (or bare condition) around `position`, cut to a readable length. */
function quoteExpression(src: string, position: number): string {
  const open = src.lastIndexOf(OPEN, position);
  const close = src.indexOf(CLOSE, position);
  const text =
    open === -1 ? src.trim() : src.slice(open, close === -1 ? src.length : close + CLOSE.length);
  return `'${text.length > 200 ? `${text.slice(0, 200)}…` : text}'`;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/**
 * Evaluates every string inside arrays and plain objects (keys stay as written) and
 * returns new containers; the input is not modified. Other values pass through.
 */
export function evaluateDeep<T = unknown>(value: T, ctx: ExprContext): unknown {
  return deep(value, ctx, new Set());
}

function deep(value: unknown, ctx: ExprContext, ancestors: Set<object>): unknown {
  if (typeof value === 'string') return evaluate(value, ctx);
  if (!Array.isArray(value) && !isPlainObject(value)) return value;
  // YAML aliases can build cycles; fail clearly instead of overflowing the stack.
  if (ancestors.has(value))
    throw new ExpressionError('cannot evaluate a value that contains itself');
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => deep(item, ctx, ancestors));
    // fromEntries defines own properties, so a '__proto__' key stays a plain key.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deep(v, ctx, ancestors)]));
  } finally {
    ancestors.delete(value);
  }
}
