/**
 * `uses:` of a step names what runs it. The kinds, their spellings and the one parser
 * are in the step-kind table, lib/steps/kinds.ts; this re-export is only for the engine
 * files that still import it from here (lib/engine/execute-job.ts, waits.ts): point
 * them at lib/steps/kinds.js and delete this file once their moves have landed.
 */
export { parseUses, SUPPORTED_USES, type UsesKind, type UsesRef } from '../steps/kinds.js';
