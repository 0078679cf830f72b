/**
 * Coercions shared by operators and functions, as GitHub Actions defines them (docs
 * "Evaluate expressions in workflows and actions" → Operators, and actions/runner's
 * EvaluationResult / ExpressionUtility, which implement them):
 *
 * - Falsy: `false`, `0`, `-0`, `NaN`, `''`, `null`. Everything else (incl. `[]`, `{}`) is truthy.
 * - `==`: same kind → strings compare case-insensitively (ordinal), numbers and booleans
 *   by value, `null == null`, arrays/objects only when they are the same instance.
 *   Different kinds → null and booleans become numbers (0, 1/0), then a number against a
 *   string turns the string into a number (parseNumber); any other mix is unequal.
 *   NaN equals nothing, not even NaN.
 * - `< <= > >=`: the same conversions; strings order case-insensitively by code unit;
 *   anything involving NaN, arrays or objects is false (`<=`/`>=` are `<`/`>` or `==`).
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

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const OCTAL = /^0o[0-7]+$/;

/**
 * Text → number as actions/runner's ExpressionUtility.ParseNumber: trimmed; '' → 0;
 * decimal with optional sign, point and exponent (`+1`, `.5`, `1.`, `-2.99e-2`);
 * `0x…` and `0o…` (lower-case prefix, no sign) as a 32-bit integer, so `0xffffffff` is
 * -1 and anything wider is NaN; `Infinity` (signed or not); anything else NaN. Number
 * literals in expressions are read with the same rules.
 */
export function parseNumber(text: string): number {
  const s = text.trim();
  if (s === '') return 0;
  if (DECIMAL.test(s)) return Number(s);
  if (HEX.test(s)) return int32(Number.parseInt(s.slice(2), 16));
  if (OCTAL.test(s)) return int32(Number.parseInt(s.slice(2), 8));
  if (s === 'Infinity' || s === '+Infinity') return Number.POSITIVE_INFINITY;
  if (s === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number.NaN;
}

/** .NET's Int32 parsing of hex/octal digits: at most 32 bits, the top bit being the sign. */
function int32(value: number): number {
  if (value > 0xffffffff) return Number.NaN;
  return value > 0x7fffffff ? value - 0x1_0000_0000 : value;
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
      return parseNumber(value as string);
    default:
      return Number.NaN;
  }
}

/**
 * A number as text the way the runner prints it, .NET's `ToString("G15")`: at most 15
 * significant digits, trailing zeros dropped, scientific notation (`1E+15`, `1E-05`)
 * when the exponent is 15 or more or -5 or less; `-0` prints as `0`.
 */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return 'Infinity';
  if (n === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (n === 0) return '0';
  const [mantissa = '', exp = '0'] = n.toExponential(14).split('e');
  const exponent = Number(exp);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace(/[-.]/g, '').replace(/0+$/, '');
  if (exponent >= 15 || exponent < -4) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const e = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${digits[0]}${fraction}E${exponent < 0 ? '-' : '+'}${e}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Text form used for interpolation and by string functions (the runner's
 * ConvertToString): null → '', booleans `true`/`false`, numbers per formatNumber,
 * arrays → `Array`, objects → `Object` (use toJSON() for their content).
 */
export function toText(value: unknown): string {
  switch (kindOf(value)) {
    case 'null':
      return '';
    case 'string':
      return value as string;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return formatNumber(Number(value));
    default:
      return Array.isArray(value) ? 'Array' : 'Object';
  }
}

// Ordinal ignore-case (.NET's OrdinalIgnoreCase, which GitHub uses): each character is
// upper-cased on its own by the simple Unicode mapping. A character whose upper case is
// longer (ß → SS) stays as it is, and dotless ı does not become I (GitHub's conformance
// data: 'ı' != 'I', 'i' != 'İ').
const NON_ASCII = /[^ -~\t\n\r]/;
export function foldCase(s: string): string {
  if (!NON_ASCII.test(s)) return s.toUpperCase();
  let out = '';
  for (const c of s) {
    const upper = c === 'ı' ? c : c.toUpperCase();
    out += [...upper].length === 1 ? upper : c;
  }
  return out;
}

/** <0, 0, >0, or undefined when the two values cannot be ordered (NaN, objects, mixed kinds). */
export function compare(a: unknown, b: unknown): number | undefined {
  let ka = kindOf(a);
  let kb = kindOf(b);
  // Null and booleans become numbers first; then a number meets a string as numbers.
  if (ka !== kb && (ka === 'null' || ka === 'boolean')) {
    a = toNumber(a);
    ka = 'number';
  }
  if (ka !== kb && (kb === 'null' || kb === 'boolean')) {
    b = toNumber(b);
    kb = 'number';
  }
  if (ka !== kb && ka === 'number' && kb === 'string') {
    b = toNumber(b);
    kb = 'number';
  }
  if (ka !== kb && ka === 'string' && kb === 'number') {
    a = toNumber(a);
    ka = 'number';
  }
  if (ka !== kb) return undefined;
  switch (ka) {
    case 'null':
      return 0;
    case 'string': {
      const fa = foldCase(a as string);
      const fb = foldCase(b as string);
      return fa < fb ? -1 : fa > fb ? 1 : 0;
    }
    case 'object':
      return a === b ? 0 : undefined;
    default: {
      const na = Number(a);
      const nb = Number(b);
      if (Number.isNaN(na) || Number.isNaN(nb)) return undefined;
      return na < nb ? -1 : na > nb ? 1 : 0;
    }
  }
}

export const looseEquals = (a: unknown, b: unknown): boolean => compare(a, b) === 0;
