import type { JobStatus } from '../../expr/index.js';
import type { HookName } from '../../spec/schema.js';

/** What a step's committed record says, as far as replay reads it. */
export interface RecordedStep {
  status: string;
  /** The job attempt that wrote it. */
  attempt: number;
}

/**
 * What a claim does with a step it reaches:
 * - `reuse`: an earlier invocation committed its result, which stands (the step does not run);
 * - `pass`: a hook for the other outcome; nothing is recorded for it;
 * - `resume`: the job waits at this step; the wait goes on from its record;
 * - `run`: run it (again, for a step a crash or an earlier attempt left unfinished).
 */
export type StepReplay = 'reuse' | 'pass' | 'resume' | 'run';

/**
 * Steps are replayed, never run twice once done: every success is kept across
 * attempts (a retried job does not redo what worked); anything else this same
 * attempt finished is kept too (a checkpoint or a redelivery resumes the job), but a
 * step `running` when its invocation died runs again. A later attempt reruns what an
 * earlier one failed, skipped or cancelled.
 *
 * A waiting step is resumed even in a later attempt (a crash after the wake): the
 * decision, the sleep's end and the child run stay the ones already made.
 */
export function replayStep(
  recorded: RecordedStep | undefined,
  attempt: number,
  hook: HookName | undefined,
  status: JobStatus,
): StepReplay {
  if (recorded && isKept(recorded, attempt)) return 'reuse';
  if (hook === 'onSuccess' && status !== 'success') return 'pass';
  if (hook === 'onFailure' && status !== 'failure') return 'pass';
  return recorded?.status === 'waiting' ? 'resume' : 'run';
}

function isKept(recorded: RecordedStep, attempt: number): boolean {
  if (recorded.status === 'succeeded') return true;
  return (
    recorded.attempt === attempt && recorded.status !== 'running' && recorded.status !== 'waiting'
  );
}

/**
 * The `if` a step is run under: its own, else `post` and `onFailure` steps run after a
 * failure too (`always()`), and the others only while the job succeeds (no condition).
 */
export function stepCondition(
  own: string | undefined,
  hook: HookName | undefined,
): string | undefined {
  return own ?? (hook === 'post' || hook === 'onFailure' ? 'always()' : undefined);
}
