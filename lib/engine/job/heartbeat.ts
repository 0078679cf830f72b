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
  return new LeaseRenewal(runs, task, fence, leaseMs, now);
}

/**
 * One per claimed job, so its methods live on the prototype and the timer is handed
 * the instance: no closures per job.
 */
class LeaseRenewal implements Heartbeat {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly runs: RunStore,
    private readonly task: JobTask,
    private readonly fence: string,
    private readonly leaseMs: number,
    private readonly now: () => number,
  ) {
    this.timer = setInterval(beat, Math.max(50, Math.floor(leaseMs / 3)), this);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async renew(): Promise<void> {
    const { task } = this;
    try {
      const state = await this.runs.renewLease(task, this.fence, this.now(), this.leaseMs);
      if (state === 'cancelling')
        this.controller.abort(new FlowlineError('CANCELLED', 'the run was cancelled'));
      if (state === 'stale')
        this.controller.abort(new FenceLost(`job ${task.jobKey} was claimed by a newer attempt`));
    } catch (err) {
      // A missed beat is not fatal: the lease has two more thirds to go.
      log.warn({ err, runId: task.runId, job: task.jobKey }, 'lease renewal failed');
    }
  }
}

function beat(renewal: LeaseRenewal): void {
  void renewal.renew();
}
