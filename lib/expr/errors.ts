import { FlowlineError } from '../errors.js';

/**
 * A bad `${{ }}` expression: a syntax error found when checking a spec, or a failure
 * while evaluating one (e.g. `fromJSON` of invalid JSON). `position` is the 0-based
 * offset in the string the caller passed, so the spec validator can point at it;
 * the message gives it as a 1-based column (`at column 5`).
 */
export class ExpressionError extends FlowlineError {
  override readonly name = 'ExpressionError';
  /** The message without the place. */
  readonly detail: string;
  constructor(
    message: string,
    readonly position?: number,
    options?: { cause?: unknown },
  ) {
    super(
      'EXPRESSION_ERROR',
      position === undefined ? message : `${message} at column ${position + 1}`,
      options,
    );
    this.detail = message;
  }
}

/** Where `position` is in `src`: `column C`, or `line L, column C` in multi-line text. */
export function placeIn(src: string, position: number): string {
  const before = src.slice(0, position);
  const line = before.split('\n').length;
  const column = position - (before.lastIndexOf('\n') + 1) + 1;
  return line === 1 ? `column ${column}` : `line ${line}, column ${column}`;
}
