import type { ExprContext } from './context.js';
import { FUNCTIONS } from './functions.js';
import type { Node } from './parser.js';
import { compare, isPrimitive, looseEquals, toNumber, toText, truthy } from './values.js';

/** Returned by the readers for a key that is not there (as opposed to a null value). */
const MISSING = Symbol('missing');

// Reading these could reach Object.prototype or a constructor; they read as null even
// when present as own keys (e.g. from fromJSON), so no expression can walk prototypes.
const BLOCKED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Arrays made by the object filter (`.*`, `[*]`). GitHub applies a property or index
 * read on such an array to each element, keeping what exists — so `needs.*.result` is
 * every needed job's result — where a plain array has no properties. They stay plain
 * arrays everywhere else (functions, toJSON, outputs).
 */
const filtered = new WeakSet<unknown[]>();

function filteredArray(items: unknown[]): unknown[] {
  filtered.add(items);
  return items;
}

/** The values an object filter collects from one value: an object's values, an array's items. */
function valuesOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return [...value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value)
    .filter(([key]) => !BLOCKED_KEYS.has(key))
    .map(([, v]) => v ?? null);
}

function wildcard(object: unknown): unknown[] {
  if (Array.isArray(object) && filtered.has(object)) return filteredArray(object.flatMap(valuesOf));
  return filteredArray(valuesOf(object));
}

/** `read` applied to each element of a filtered array that is an object or array and has the key. */
function eachElement(items: unknown[], read: (item: unknown) => unknown): unknown[] {
  const out: unknown[] = [];
  for (const item of items) {
    if (typeof item !== 'object' || item === null) continue;
    const value = read(item);
    if (value !== MISSING) out.push(value);
  }
  return filteredArray(out);
}

/**
 * Property read for `.key` and `['key']`: own properties of non-array objects only,
 * exact key first, then a case-insensitive match (GitHub contexts are case-insensitive).
 * Anything missing, or any read on null/primitives/arrays, yields null; it never throws.
 */
export function readProperty(object: unknown, key: string): unknown {
  if (Array.isArray(object) && filtered.has(object)) {
    return eachElement(object, (item) => ownProperty(item, key));
  }
  const value = ownProperty(object, key);
  return value === MISSING ? null : value;
}

function ownProperty(object: unknown, key: string): unknown {
  if (
    BLOCKED_KEYS.has(key) ||
    typeof object !== 'object' ||
    object === null ||
    Array.isArray(object)
  ) {
    return MISSING;
  }
  const record = object as Record<string, unknown>;
  if (Object.hasOwn(record, key)) return record[key] ?? null;
  const folded = key.toLowerCase();
  const match = Object.keys(record).find((k) => k.toLowerCase() === folded && !BLOCKED_KEYS.has(k));
  return match === undefined ? MISSING : (record[match] ?? null);
}

/**
 * `[i]`, as GitHub's IndexHelper: on arrays the index is converted to a number and
 * floored (`['1']`, `[1.7]` → element 1; NaN or negative → null); on objects a
 * primitive index is converted to text (`[1]` → key '1'). Object indexes → null.
 * On a filtered array it applies to each element.
 */
function readIndex(object: unknown, index: unknown): unknown {
  if (Array.isArray(object) && filtered.has(object)) {
    return eachElement(object, (item) => indexOne(item, index));
  }
  const value = indexOne(object, index);
  return value === MISSING ? null : value;
}

function indexOne(object: unknown, index: unknown): unknown {
  if (Array.isArray(object)) {
    const i = Math.floor(toNumber(index));
    return i >= 0 && i < object.length ? (object[i] ?? null) : MISSING;
  }
  return isPrimitive(index) ? ownProperty(object, toText(index)) : MISSING;
}

/** Evaluates a parsed expression. Pure apart from the function calls, which are pure too. */
export function evaluateNode(node: Node, ctx: ExprContext): unknown {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'context':
      // node.name comes from a fixed list (CONTEXT_NAMES), never from user text.
      return ctx[node.name] ?? null;
    case 'property':
      return readProperty(evaluateNode(node.object, ctx), node.key);
    case 'index':
      return readIndex(evaluateNode(node.object, ctx), evaluateNode(node.index, ctx));
    case 'wildcard':
      return wildcard(evaluateNode(node.object, ctx));
    case 'not':
      return !truthy(evaluateNode(node.operand, ctx));
    case 'logical': {
      // Like GitHub (and JS): the deciding operand itself is returned, not a boolean,
      // and the right side is only evaluated when needed.
      const left = evaluateNode(node.left, ctx);
      if (node.op === '&&') return truthy(left) ? evaluateNode(node.right, ctx) : left;
      return truthy(left) ? left : evaluateNode(node.right, ctx);
    }
    case 'compare': {
      const left = evaluateNode(node.left, ctx);
      const right = evaluateNode(node.right, ctx);
      if (node.op === '==') return looseEquals(left, right);
      if (node.op === '!=') return !looseEquals(left, right);
      const order = compare(left, right);
      if (order === undefined) return false;
      if (node.op === '<') return order < 0;
      if (node.op === '<=') return order <= 0;
      if (node.op === '>') return order > 0;
      return order >= 0;
    }
    case 'call': {
      // The parser only builds calls to names in FUNCTIONS, with a valid arity.
      const fn = FUNCTIONS.get(node.name);
      if (!fn) throw new Error(`unreachable: unknown function ${node.name}`);
      const args = node.args.map((arg) => () => evaluateNode(arg, ctx));
      return fn.call(args, ctx, node.pos);
    }
  }
}
