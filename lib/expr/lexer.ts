import { ExpressionError } from './errors.js';

export type Punct =
  | '('
  | ')'
  | '['
  | ']'
  | '.'
  | ','
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
  '!',
  '<',
  '>',
];

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isIdentStart = (c: string | undefined) =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_');
// GitHub allows `-` inside names (`steps.build-image.outputs`); there is no minus operator,
// so `a-b` is never ambiguous.
const isIdentPart = (c: string | undefined) => isIdentStart(c) || isDigit(c) || c === '-';

// Anchored (sticky) so matching starts exactly at the cursor. Hex and octal follow the
// JavaScript spelling, which is also what GitHub accepts.
const NUMBER = /0[xX][0-9a-fA-F]+|0[oO][0-7]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

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
    } else if (c === "'" || c === '"') {
      i = readString(src, i, end, tokens);
    } else if (isDigit(c) || (c === '-' && (isDigit(src[i + 1]) || src[i + 1] === '.'))) {
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

function unexpectedChar(c: string): string {
  if (c === '=') return "unexpected '=' (use '==' to compare)";
  if (c === '&' || c === '|') return `unexpected '${c}' (use '${c}${c}')`;
  if (c === '-') return "unexpected '-' (there is no arithmetic)";
  if (c === '$')
    return "unexpected '$' (expressions cannot nest, and a bare condition cannot contain one)";
  return `unexpected character '${c}'`;
}

/** A quote inside a string is written twice ('it''s'), GitHub style; no backslash escapes. */
function readString(src: string, start: number, end: number, out: Token[]): number {
  const quote = src.charAt(start);
  let value = '';
  let i = start + 1;
  while (i < end) {
    const c = src.charAt(i);
    if (c === quote) {
      if (src[i + 1] === quote && i + 1 < end) {
        value += quote;
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

function readNumber(src: string, start: number, end: number, out: Token[]): number {
  const negative = src.charAt(start) === '-';
  NUMBER.lastIndex = negative ? start + 1 : start;
  const match = NUMBER.exec(src);
  const stop = match ? NUMBER.lastIndex : start + 1;
  // `12abc`, `1.`, `0x` glued to letters: reject rather than silently split into two tokens.
  if (!match || stop > end || isIdentPart(src[stop]) || (src[stop] === '.' && stop < end)) {
    throw new ExpressionError('invalid number', start);
  }
  const magnitude = Number(match[0]);
  out.push({ kind: 'number', value: negative ? -magnitude : magnitude, pos: start });
  return stop;
}
