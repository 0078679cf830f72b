/**
 * `uses:` of a step names what runs it. The kinds, their spellings and the parser live
 * in the step-kind table, lib/steps/kinds.ts; this module keeps the spec's import path.
 */
export { parseUses, SUPPORTED_USES, type UsesKind, type UsesRef } from '../steps/kinds.js';
