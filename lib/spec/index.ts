/** The workflow spec (SPEC.md): schema, loading, static checks. */

export {
  parseUses,
  SUPPORTED_USES,
  type UsesKind,
  type UsesRef,
} from '../steps/kinds.js';
export { canonicalJson } from './canonical-json.js';
export { checkExpressionSyntax, checkSpec, stepId } from './check.js';
export { constantComparisonWarnings } from './comparison-warnings.js';
export { loadSpec, type SpecInput, specDigest } from './load.js';
export {
  expandMatrix,
  type MatrixCombination,
  type MatrixValue,
  matrixJobKey,
  matrixSize,
} from './matrix.js';
export { formatPath, parsePath } from './path.js';
export { HOOK_NAMES } from './placed-steps.js';
export {
  type Concurrency,
  ConcurrencySchema,
  type HookName,
  type Hooks,
  type InputDef,
  InputDefSchema,
  type Job,
  JobSchema,
  jsonType,
  LIMITS,
  type Permissions,
  type Retries,
  RetriesSchema,
  type Step,
  StepSchema,
  type Strategy,
  type Triggers,
  type Workflow,
  type WorkflowInput,
  WorkflowSchema,
} from './schema.js';
