import { FlowlineError } from '../errors.js';
import type { StepExecutor, StepRequest } from './executor.js';
import { type Capability, type ExecutorKind, parseUses, stepKind, type UsesKind } from './kinds.js';

// No executor is re-exported here: importing the dispatcher must not load any (EXECUTORS).
export {
  abortError,
  type StepExecutor,
  StepFailedError,
  type StepOutputs,
  type StepRequest,
} from './executor.js';
export { CAPABILITIES, type Capability, STEP_KINDS } from './kinds.js';
export { runWithTimeout } from './timeout.js';

/** `load` once: later calls share the first promise (a settled one once loaded). */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load().catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    return loaded;
  };
}

/**
 * The executor of each kind kinds.ts says an executor runs, imported at its first step:
 * a function that never runs an http step never loads the http executor (nor undici).
 * Loaded once: an `import()` resolves its specifier again on every call (through
 * the module loader, and its hooks under tsx), which was work on every step.
 */
export const EXECUTORS: Readonly<Record<ExecutorKind, () => Promise<StepExecutor>>> = {
  http: once(() => import('./http.js').then((m) => m.httpExecutor)),
  shell: once(() => import('./shell.js').then((m) => m.shellExecutor)),
  action: once(() => import('./action.js').then((m) => m.actionExecutor)),
  // The app gives its own (with its Lambda client): executorFor's `own.lambda`.
  lambda: once(() => import('./lambda.js').then((m) => m.unconfiguredLambdaExecutor)),
};

function failing(error: () => FlowlineError): StepExecutor {
  return {
    run: () => Promise.reject(error()),
  };
}

/** Fails with CAPABILITY_DENIED unless `capability` was granted: before any I/O, or any loading. */
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
 * the kind's capability, then loads the kind's executor at first use. Never throws: a
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
      return (given ?? (await EXECUTORS[kind]())).run(req);
    },
  };
}

const isExecutorKind = (kind: UsesKind): kind is ExecutorKind =>
  stepKind(kind).runBy === 'executor';
