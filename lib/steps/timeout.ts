import { FlowlineError } from '../errors.js';
import type { StepExecutor, StepOutputs, StepRequest } from './executor.js';

/** setTimeout fires at once for delays past 2^31-1 ms (~24.8 days): treat those as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function cancelledError(parent: AbortSignal): FlowlineError {
  const reason: unknown = parent.reason;
  // A caller that aborts with its own FlowlineError (a job or run timeout) keeps its code.
  if (reason instanceof FlowlineError) return reason;
  return new FlowlineError('CANCELLED', 'step cancelled', { cause: reason });
}

/**
 * Runs one step with its own AbortSignal, aborted after `timeoutMs` (TIMEOUT) or when
 * `parentSignal` aborts (CANCELLED, or the parent's FlowlineError reason). Rejects at
 * that moment even if the executor ignores the signal: the step is then abandoned, its
 * late result dropped. The signal's `reason` is the same error, so executors can
 * rethrow it (`abortError(signal)`).
 */
export async function runWithTimeout(
  executor: StepExecutor,
  req: Omit<StepRequest, 'signal'>,
  timeoutMs: number | undefined,
  parentSignal?: AbortSignal,
): Promise<StepOutputs> {
  if (parentSignal?.aborted) throw cancelledError(parentSignal);
  const controller = new AbortController();
  const { signal } = controller;
  // Only this function aborts the step's signal (the executor gets the signal, not the
  // controller): each way it does rejects `aborted` too, with no listener on its own signal.
  let reject: (reason: unknown) => void = () => {};
  const aborted = new Promise<never>((_, r) => {
    reject = r;
  });
  const abort = (reason: unknown) => {
    controller.abort(reason);
    reject(reason);
  };
  const onParentAbort = () => {
    if (parentSignal) abort(cancelledError(parentSignal));
  };
  parentSignal?.addEventListener('abort', onParentAbort, { once: true });
  const timer =
    timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS
      ? setTimeout(
          () =>
            abort(new FlowlineError('TIMEOUT', `step timed out after ${Math.max(0, timeoutMs)}ms`)),
          Math.max(0, timeoutMs),
        )
      : undefined;

  try {
    const budget = timer === undefined ? {} : { timeoutMs: Math.max(0, timeoutMs ?? 0) };
    return await Promise.race([executor.run({ ...req, ...budget, signal }), aborted]);
  } catch (err) {
    // Whatever the executor threw on its way out (AbortError, a killed process),
    // the step's error is why it was aborted.
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
    parentSignal?.removeEventListener('abort', onParentAbort);
  }
}
