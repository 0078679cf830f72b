import { ExpressionError } from './errors.js';
import { parseNumber } from './values.js';

export type Punct =
  | '('
  | ')'
  | '['
  | ']'
  | '.'
  | ','
  | '*'
  | '!'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '&&'
  | '||';

export type Token =
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'ident'; value: string; pos: number }
  | { kind: 'punct'; value: Punct; pos: number }
  | { kind: 'eof'; pos: number };

// Longest match first so `<=` is not read as `<` then `=`.
const PUNCTS: readonly Punct[] = [
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '(',
  ')',
  '[',
  ']',
  '.',
  ',',
  '*',
  '!',
  '<',
  '>',
];

// After these a `.` starts a number (`(.5`, `== -.5`), anywhere else it is a property access.
const BEFORE_NUMBER: ReadonlySet<Punct> = new Set([
  ',',
  '(',
  '[',
  '!',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '&&',
  '||',
]);

const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isIdentStart = (c: string | undefined) =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_');
// GitHub allows `-` inside names (`steps.build-image.outputs`); there is no minus operator,
// so `a-b` is never ambiguous.
const isIdentPart = (c: string | undefined) => isIdentStart(c) || isDigit(c) || c === '-';
// Where a number or name ends (the runner's TestTokenBoundary).
const isBoundary = (c: string | undefined) =>
  c !== undefined && (/[()[\],.!<>=&|]/.test(c) || isSpace(c));

/**
 * Splits `src[start, end)` into tokens. Positions are offsets into the whole `src`, so
 * an error inside the third `${{ }}` of a long string still points at the right place.
 */
export function tokenize(src: string, start = 0, end = src.length): Token[] {
  const tokens: Token[] = [];
  let i = start;
  while (i < end) {
    const c = src.charAt(i);
    if (isSpace(c)) {
      i++;
    } else if (c === "'") {
      i = readString(src, i, end, tokens);
    } else if (isDigit(c) || c === '-' || c === '+' || (c === '.' && numberMayStart(tokens))) {
      i = readNumber(src, i, end, tokens);
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < end && isIdentPart(src[j])) j++;
      tokens.push({ kind: 'ident', value: src.slice(i, j), pos: i });
      i = j;
    } else {
      const punct = PUNCTS.find((p) => src.startsWith(p, i) && i + p.length <= end);
      if (!punct) throw new ExpressionError(unexpectedChar(c), i);
      tokens.push({ kind: 'punct', value: punct, pos: i });
      i += punct.length;
    }
  }
  tokens.push({ kind: 'eof', pos: end });
  return tokens;
}

function numberMayStart(tokens: Token[]): boolean {
  const last = tokens.at(-1);
  return last === undefined || (last.kind === 'punct' && BEFORE_NUMBER.has(last.value));
}

function unexpectedChar(c: string): string {
  if (c === '=') return "unexpected '=' (use '==' to compare)";
  if (c === '&' || c === '|') return `unexpected '${c}' (use '${c}${c}')`;
  if (c === '"') return `unexpected '"' (strings take single quotes: 'text', and '' for a quote)`;
  if (c === '$')
    return "unexpected '$' (expressions cannot nest, and a bare condition cannot contain one)";
  return `unexpected character '${c}'`;
}

/** A quote inside a string is written twice ('it''s'), GitHub style; no backslash escapes. */
function readString(src: string, start: number, end: number, out: Token[]): number {
  let value = '';
  let i = start + 1;
  while (i < end) {
    const c = src.charAt(i);
    if (c === "'") {
      if (src[i + 1] === "'" && i + 1 < end) {
        value += "'";
        i += 2;
        continue;
      }
      out.push({ kind: 'string', value, pos: start });
      return i + 1;
    }
    value += c;
    i++;
  }
  throw new ExpressionError('unterminated string', start);
}

/**
 * As the runner reads numbers: from a digit, sign or leading `.` up to the next
 * boundary (a `.` does not end it), then the whole text must parse (values.ts
 * parseNumber): `12ab`, `1.2.3` and `-0xff` are errors, `+1`, `.5`, `1.` are not.
 */
function readNumber(src: string, start: number, end: number, out: Token[]): number {
  let i = start + 1;
  while (i < end && (!isBoundary(src[i]) || src[i] === '.')) i++;
  const text = src.slice(start, i);
  const value = parseNumber(text);
  if (Number.isNaN(value)) {
    if (text === '-' || text === '+') {
      throw new ExpressionError(`unexpected '${text}' (there is no arithmetic)`, start);
    }
    throw new ExpressionError(`invalid number '${text}'`, start);
  }
  out.push({ kind: 'number', value, pos: start });
  return i;
}
