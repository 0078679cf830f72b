/**
 * The `${{ }}` expression language (SPEC.md "Expressions"): a hand-written lexer and
 * recursive-descent parser plus a tree-walking evaluator. Never `eval`/`Function`;
 * property reads see own properties only; length and nesting are capped.
 */
export { type ContextReferences, referencedContexts } from './analyze.js';
export { checkCondition, evaluateCondition, usesStatusFunction } from './condition.js';
export type { ExprContext, JobStatus } from './context.js';
export { ExpressionError } from './errors.js';
export { MAX_DEPTH, MAX_EXPRESSION_BYTES, MAX_NESTING } from './parser.js';
export { checkTemplate, evaluate, evaluateDeep } from './template.js';
