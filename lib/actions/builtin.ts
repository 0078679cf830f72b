import { setTimeout as sleep } from 'node:timers/promises';
import { FlowlineError } from '../errors.js';
import { abortError, StepFailedError } from '../steps/executor.js';
import type { ActionFn } from './model.js';

/** `action:echo`: outputs are its `with`. */
export const echo: ActionFn = (w) => ({ ...w });

/** `action:fail`: fails with `with.message` (code STEP_FAILED). */
export const fail: ActionFn = (w) => {
  throw new StepFailedError(typeof w.message === 'string' ? w.message : 'failed');
};

/** `action:noop`: outputs `{}`. */
export const noop: ActionFn = () => ({});

/** `action:sleep-ms`: waits `with.ms` milliseconds inside the invocation, honouring cancel. */
export const sleepMs: ActionFn = async (w, ctx) => {
  const ms = w.ms ?? 0;
  if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
    throw new FlowlineError('VALIDATION', "action sleep-ms: 'with.ms' must be a number ≥ 0");
  }
  try {
    await sleep(ms, undefined, { signal: ctx.signal });
  } catch (err) {
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    throw err;
  }
  return { sleptMs: ms };
};

export const builtinActions: Readonly<Record<string, ActionFn>> = {
  echo,
  fail,
  noop,
  'sleep-ms': sleepMs,
};
