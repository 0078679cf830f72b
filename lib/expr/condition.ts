import type { ExprContext } from './context.js';
import { ExpressionError } from './errors.js';

import { type Node, parseExpression } from './parser.js';
import { check, evaluateIn, memo, OPEN, parseTemplate } from './template.js';
import { truthy } from './values.js';
import { callsStatusFunction } from './walk.js';

/**
 * An `if:` value: a bare expression (`a == b`) or a single `${{ }}` around the whole
 * value. Mixing text and `${{ }}` is rejected: GitHub would interpolate it into a
 * non-empty string that is always true, which is never what the author meant.
 * Returns undefined for an empty condition (the default, `success()`).
 */
export function parseCondition(src: string): Node | undefined {
  const trimmed = src.trim();
  if (trimmed === '') return undefined;
  if (!trimmed.startsWith(OPEN)) return memo(`c:${src}`, () => parseExpression(src));
  const template = parseTemplate(src);
  if (!template.whole) {
    throw new ExpressionError(
      `a condition must be a bare expression or one '${OPEN} }}' around the whole value`,
      src.indexOf(OPEN),
    );
  }
  return template.whole;
}

/** The same as checkTemplate for `if:` values, bare or wrapped. */
export function checkCondition(src: string): string | null {
  return check(src, () => parseCondition(src));
}

/** True if the condition calls success()/failure()/always()/cancelled(); false when empty. */
export function usesStatusFunction(src: string): boolean {
  const node = parseCondition(src);
  return node !== undefined && callsStatusFunction(node);
}

/**
 * Whether a job or step runs. Empty → `success()`. As in GitHub, a condition that
 * calls none of success()/failure()/always()/cancelled() means `success() && (expr)`,
 * so `if: inputs.deploy` does not run after a failure. The result is its truthiness.
 */
export function evaluateCondition(src: string | undefined, ctx: ExprContext): boolean {
  const node = parseCondition(src ?? '');
  const succeeding = (ctx.status ?? 'success') === 'success';
  if (!node) return succeeding;
  if (!succeeding && !callsStatusFunction(node)) return false;
  return truthy(evaluateIn(src ?? '', node, ctx));
}
