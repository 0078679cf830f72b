import { FlowlineError } from '../errors.js';
import { actionExecutor } from './action.js';
import type { StepExecutor } from './executor.js';
import { httpExecutor } from './http.js';
import { shellExecutor } from './shell.js';

export { actionExecutor } from './action.js';
export {
  abortError,
  type Capability,
  requireCapability,
  type StepExecutor,
  StepFailedError,
  type StepOutputs,
  type StepRequest,
} from './executor.js';
export { createHttpExecutor, httpExecutor } from './http.js';
export { shellExecutor } from './shell.js';
export { runWithTimeout } from './timeout.js';

/** Kinds in the spec whose executors are not written yet (they suspend the job). */
const NOT_IMPLEMENTED = /^(sleep|approval|builtin:approval|signal|workflow:.+|lambda:.+)$/;

const SUPPORTED =
  'http, shell (builtin:shell), action:<name>, sleep, approval, signal, workflow:<name>, lambda:<function>';

function failing(error: () => FlowlineError): StepExecutor {
  return {
    run: () => Promise.reject(error()),
  };
}

/**
 * The executor for a step's raw `uses`. Never throws: a kind that cannot run yields an
 * executor whose `run` rejects (NOT_IMPLEMENTED for spec kinds not built yet,
 * VALIDATION for unknown ones), so the engine has one failure path.
 */
export function executorFor(uses: string): StepExecutor {
  if (uses === 'http') return httpExecutor;
  if (uses === 'shell' || uses === 'builtin:shell') return shellExecutor;
  if (/^action:.+/.test(uses)) return actionExecutor;
  if (NOT_IMPLEMENTED.test(uses)) {
    return failing(
      () => new FlowlineError('NOT_IMPLEMENTED', `'${uses}' steps are not implemented yet`),
    );
  }
  return failing(
    () => new FlowlineError('VALIDATION', `unknown step kind '${uses}'; supported: ${SUPPORTED}`),
  );
}
