import type { JobTask } from '../../queue/message.js';
import type { ClaimResult } from '../../store/run-store.js';
import type { StepLog } from './commit-step.js';
import type { ExecuteDeps } from './deps.js';
import type { JobSecrets } from './secrets.js';

export type Claimed = Extract<ClaimResult, { kind: 'claimed' }>;

/** One claimed job in this invocation: what every part of the executor works on. */
export interface JobRun {
  deps: ExecuteDeps;
  task: JobTask;
  claim: Claimed;
  now: () => number;
  /** What is left of this invocation (ms). */
  remainingMs: () => number;
  /** Aborted with CANCELLED on a cancel, with FenceLost on a takeover (heartbeat.ts). */
  stop: AbortSignal;
  secrets: JobSecrets;
  /** The job's step commits, and the result carried to the next write. */
  steps: StepLog;
}
