import { FlowlineError } from '../../errors.js';
import { log } from '../../log.js';
import type { JobTask } from '../../queue/message.js';
import type { RunStore } from '../../store/run-store.js';

/** Thrown when a newer claim took the job over: stop at once, commit nothing more. */
export class FenceLost extends Error {
  override readonly name = 'FenceLost';
}

export interface Heartbeat {
  /** Aborted with CANCELLED when the run is being cancelled, with FenceLost when the job was taken over. */
  signal: AbortSignal;
  stop(): void;
}

/**
 * Renew the job's lease every third of its length while steps run, so a long
 * step keeps its claim, and learn of a cancel or a takeover between commits.
 */
export function startHeartbeat(
  runs: RunStore,
  task: JobTask,
  fence: string,
  leaseMs: number,
  now: () => number,
): Heartbeat {
  const controller = new AbortController();
  const beat = async () => {
    try {
      const state = await runs.renewLease(task, fence, now(), leaseMs);
      if (state === 'cancelling')
        controller.abort(new FlowlineError('CANCELLED', 'the run was cancelled'));
      if (state === 'stale')
        controller.abort(new FenceLost(`job ${task.jobKey} was claimed by a newer attempt`));
    } catch (err) {
      // A missed beat is not fatal: the lease has two more thirds to go.
      log.warn({ err, runId: task.runId, job: task.jobKey }, 'lease renewal failed');
    }
  };
  const timer = setInterval(() => void beat(), Math.max(50, Math.floor(leaseMs / 3)));
  return {
    signal: controller.signal,
    stop: () => clearInterval(timer),
  };
}
