/**
 * Coercions shared by operators and functions, following GitHub Actions
 * (docs "Evaluate expressions in workflows and actions" → Operators):
 *
 * - Falsy: `false`, `0`, `-0`, `NaN`, `''`, `null`. Everything else (incl. `[]`, `{}`) is truthy.
 * - `==`: same kind → strings compare case-insensitively, numbers/booleans by value,
 *   `null == null`, arrays/objects only when they are the same instance.
 *   Different kinds → both converted to numbers (null → 0, true → 1, false → 0,
 *   string → Number(trimmed) with '' → 0 and junk → NaN, array/object → NaN);
 *   NaN equals nothing, not even NaN.
 * - `< <= > >=`: the same conversions; strings order case-insensitively by code unit;
 *   anything involving NaN or two distinct objects is false.
 */

export type Kind = 'null' | 'boolean' | 'number' | 'string' | 'object';

export function kindOf(value: unknown): Kind {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
    default:
      return 'object';
  }
}

export const isPrimitive = (value: unknown): boolean => kindOf(value) !== 'object';

export function truthy(value: unknown): boolean {
  switch (kindOf(value)) {
    case 'null':
      return false;
    case 'boolean':
      return value as boolean;
    case 'number': {
      const n = Number(value);
      return n !== 0 && !Number.isNaN(n);
    }
    case 'string':
      return value !== '';
    default:
      return true;
  }
}

export function toNumber(value: unknown): number {
  switch (kindOf(value)) {
    case 'null':
      return 0;
    case 'boolean':
      return value ? 1 : 0;
    case 'number':
      return Number(value);
    case 'string':
      // Number() already trims and maps '' to 0, and accepts 0x/0o/exponents like GitHub.
      return Number(value as string);
    default:
      return Number.NaN;
  }
}

/**
 * Text form used for interpolation and by string functions: null → '', booleans and
 * numbers as JavaScript prints them, arrays/objects as compact JSON.
 */
export function toText(value: unknown): string {
  switch (kindOf(value)) {
    case 'null':
      return '';
    case 'string':
      return value as string;
    case 'boolean':
    case 'number':
      return String(value);
    default:
      return JSON.stringify(value) ?? '';
  }
}

// Ordinal ignore-case, as GitHub's comparer does: fold both sides the same way.
export const foldCase = (s: string): string => s.toUpperCase();

/** <0, 0, >0, or undefined when the two values cannot be ordered (NaN, distinct objects). */
export function compare(a: unknown, b: unknown): number | undefined {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === kb) {
    if (ka === 'null') return 0;
    if (ka === 'string') {
      const fa = foldCase(a as string);
      const fb = foldCase(b as string);
      return fa < fb ? -1 : fa > fb ? 1 : 0;
    }
    if (ka === 'object') return a === b ? 0 : undefined;
  }
  const na = toNumber(a);
  const nb = toNumber(b);
  if (Number.isNaN(na) || Number.isNaN(nb)) return undefined;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

export const looseEquals = (a: unknown, b: unknown): boolean => compare(a, b) === 0;
