import { FlowlineError } from '../errors.js';
import { actionExecutor } from './action.js';
import type { StepExecutor } from './executor.js';
import { httpExecutor } from './http.js';
import { unconfiguredLambdaExecutor } from './lambda.js';
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
export { createLambdaExecutor, functionNameCandidates } from './lambda.js';
export { createLambdaClient, type LambdaInvoker } from './lambda-client.js';
export { createShellExecutor, shellExecutor } from './shell.js';
export { runWithTimeout } from './timeout.js';

const SUPPORTED =
  'http, shell (builtin:shell), action:<name>, sleep, approval, signal, workflow:<name>, lambda:<function>';

function failing(error: () => FlowlineError): StepExecutor {
  return {
    run: () => Promise.reject(error()),
  };
}

/**
 * The executor for a step's raw `uses`. Never throws: a kind that cannot run yields an
 * executor whose `run` rejects (VALIDATION for unknown kinds, INTERNAL for the waits
 * the engine runs itself), so the engine has one failure path.
 */
/**
 * `own`: the app's executors of `lambda:` steps (they need its Lambda client) and of
 * `shell` steps (its runner); without them, shell runs in this process's sandbox.
 */
export function executorFor(
  uses: string,
  own: { lambda?: StepExecutor | undefined; shell?: StepExecutor | undefined } = {},
): StepExecutor {
  if (uses === 'http') return httpExecutor;
  if (uses === 'shell' || uses === 'builtin:shell') return own.shell ?? shellExecutor;
  if (/^action:.+/.test(uses)) return actionExecutor;
  if (/^lambda:.+/.test(uses)) return own.lambda ?? unconfiguredLambdaExecutor;
  if (/^(sleep|approval|builtin:approval|signal|workflow:.+)$/.test(uses)) {
    // lib/engine/waits.ts, child-run.ts: these suspend the job, which no executor can do.
    return failing(() => new FlowlineError('INTERNAL', `'${uses}' steps are run by the engine`));
  }
  return failing(
    () => new FlowlineError('VALIDATION', `unknown step kind '${uses}'; supported: ${SUPPORTED}`),
  );
}
