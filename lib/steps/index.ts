import { FlowlineError } from '../errors.js';
import { actionExecutor } from './action.js';
import type { StepExecutor, StepRequest } from './executor.js';
import { httpExecutor } from './http.js';
import { type Capability, type ExecutorKind, parseUses, stepKind, type UsesKind } from './kinds.js';
import { unconfiguredLambdaExecutor } from './lambda.js';
import { shellExecutor } from './shell.js';

// No executor is re-exported here: callers dispatch through executorFor (EXECUTORS).
export {
  abortError,
  type StepExecutor,
  StepFailedError,
  type StepOutputs,
  type StepRequest,
} from './executor.js';
export { CAPABILITIES, type Capability, STEP_KINDS } from './kinds.js';
export { runWithTimeout } from './timeout.js';

/**
 * The executor of each kind kinds.ts says an executor runs. The executors are small
 * and imported with this dispatcher (only the execute function loads it); what is big
 * behind them loads at its first step: undici (http.ts), the Lambda SDK
 * (lambda-client.ts), the runner's request schema (local-runner.ts). An `import()` of
 * each executor cost execute's cold start more than their code: every module an
 * executor shared with the handler went into a chunk of its own, one more file read at
 * init for each (11 files instead of 4; bench/README.md, cold start).
 */
export const EXECUTORS: Readonly<Record<ExecutorKind, StepExecutor>> = {
  http: httpExecutor,
  shell: shellExecutor,
  action: actionExecutor,
  // The app gives its own (with its Lambda client): executorFor's `own.lambda`.
  lambda: unconfiguredLambdaExecutor,
};

/** An executor whose every run rejects with `error()`: a kind that cannot run here. */
export function failing(error: () => FlowlineError): StepExecutor {
  return {
    run: () => Promise.reject(error()),
  };
}

/** Fails with CAPABILITY_DENIED unless `capability` was granted: before any I/O, or any load of what the executor uses. */
export function requireCapability(req: StepRequest, capability: Capability): void {
  if (!req.capabilities.has(capability)) {
    throw new FlowlineError(
      'CAPABILITY_DENIED',
      `'${req.uses}' steps need the '${capability}' capability, which this workflow is not granted`,
    );
  }
}

/**
 * The executor for a step's raw `uses`, from the step-kind table (kinds.ts): it checks
 * the kind's capability, then runs the kind's executor. Never throws: a
 * kind that cannot run yields an executor whose `run` rejects (VALIDATION for unknown
 * kinds, INTERNAL for the waits and child runs the engine runs itself), so the engine
 * has one failure path.
 *
 * `own`: executors that replace a kind's default, e.g. the app's for `lambda:` steps
 * (they need its Lambda client) and `shell` steps (its runner); without them, shell
 * runs in this process's sandbox.
 */
export function executorFor(
  uses: string,
  own: Partial<Record<UsesKind, StepExecutor | undefined>> = {},
): StepExecutor {
  const ref = parseUses(uses);
  if (typeof ref === 'string') return failing(() => new FlowlineError('VALIDATION', ref));
  const { kind } = ref;
  const { capability } = stepKind(kind);
  if (!isExecutorKind(kind)) {
    // lib/engine/waits.ts, child-run.ts: these suspend the job, which no executor can do.
    return failing(() => new FlowlineError('INTERNAL', `'${uses}' steps are run by the engine`));
  }
  const given = own[kind];
  return {
    async run(req) {
      if (capability) requireCapability(req, capability);
      return (given ?? EXECUTORS[kind]).run(req);
    },
  };
}

const isExecutorKind = (kind: UsesKind): kind is ExecutorKind =>
  stepKind(kind).runBy === 'executor';
