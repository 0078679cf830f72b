import { FlowlineError } from '../errors.js';

/**
 * A bad `${{ }}` expression: a syntax error found when checking a spec, or a failure
 * while evaluating one (e.g. `fromJSON` of invalid JSON). `position` is the 0-based
 * offset in the string the caller passed, so the spec validator can point at it.
 */
export class ExpressionError extends FlowlineError {
  override readonly name = 'ExpressionError';
  constructor(
    message: string,
    readonly position?: number,
    options?: { cause?: unknown },
  ) {
    super(
      'EXPRESSION_ERROR',
      position === undefined ? message : `${message} at position ${position}`,
      options,
    );
  }
}
