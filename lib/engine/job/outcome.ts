import type { ErrorRecord } from '../../errors.js';
import type { Job } from '../../spec/schema.js';
import type { FinishedStep } from '../../store/run-store.js';
import type { Suspension } from '../decide/waits.js';
import type { JobOutcome } from '../model.js';

/** How a claimed job's invocation ended. */
export type Ending =
  | {
      kind: 'done';
      outcome: JobOutcome;
      job: Job | undefined;
      /** The last step's result, not yet written: the finish (or retry) script writes it. */
      last?: FinishedStep;
    }
  /** The next step would not fit in this invocation: requeue the job. */
  | { kind: 'checkpoint' }
  | { kind: 'suspend'; suspension: Suspension }
  /** A newer claim took the job over: write nothing more. */
  | { kind: 'lost' };

export const CANCELLED: ErrorRecord = { code: 'CANCELLED', message: 'the run was cancelled' };

export function failed(error: ErrorRecord): JobOutcome {
  return { status: 'failed', outputs: {}, error };
}

export function cancelled(): JobOutcome {
  return { status: 'cancelled', outputs: {}, error: { ...CANCELLED } };
}
