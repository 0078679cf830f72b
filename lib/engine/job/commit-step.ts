import { FlowlineError } from '../../errors.js';
import type { JobTask } from '../../queue/message.js';
import type { FinishedStep, StepCommit } from '../../store/run-store.js';
import type { ExecuteDeps } from './deps.js';
import { FenceLost } from './heartbeat.js';

/**
 * The commit-step transition, and the carry of unsaved step results: a finished
 * step's result waits here for the job's next write (the next step's start, or the
 * job's finish), which carries it: one round trip less per step.
 *
 * Every write renews the lease and checks the fence: a stale fence throws
 * FenceLost (a newer claim holds the job), and a start or a retried try refused
 * because the run is being cancelled throws CANCELLED.
 */
export class StepLog {
  private unsaved: FinishedStep | undefined;

  constructor(
    private readonly deps: Pick<ExecuteDeps, 'runs' | 'config'>,
    private readonly task: JobTask,
    private readonly fence: string,
    private readonly now: () => number,
  ) {}

  /** Record a step's start (a `running` or `waiting` record), with the carried result. */
  async start(started: StepCommit): Promise<void> {
    const state = await this.commit(this.unsaved, started);
    this.unsaved = undefined;
    if (state === 'cancelling') throw cancelling();
  }

  /** Record a failed try about to be tried again, with its `step.retrying` event. */
  async retrying(step: FinishedStep): Promise<void> {
    if ((await this.commit(step, undefined)) === 'cancelling') throw cancelling();
  }

  /** Carry a finished step's result to the next write (writing the one carried before, if any). */
  async finished(step: FinishedStep): Promise<void> {
    await this.flush();
    this.unsaved = step;
  }

  /** Write the carried result alone: the job checkpoints or suspends, no finish will carry it. */
  async flush(): Promise<void> {
    if (!this.unsaved) return;
    await this.commit(this.unsaved, undefined);
    this.unsaved = undefined;
  }

  /** The carried result, handed to the finish (or retry) script, which writes it. */
  take(): FinishedStep | undefined {
    const done = this.unsaved;
    this.unsaved = undefined;
    return done;
  }

  private async commit(
    done: FinishedStep | undefined,
    started: StepCommit | undefined,
  ): Promise<'ok' | 'cancelling'> {
    const { runs, config } = this.deps;
    const state = await runs.commitStep(
      this.task,
      this.fence,
      this.now(),
      config.leaseMs,
      done,
      started,
    );
    if (state === 'stale') {
      throw new FenceLost(`job ${this.task.jobKey} was claimed by a newer attempt`);
    }
    return state;
  }
}

const cancelling = () => new FlowlineError('CANCELLED', 'the run was cancelled');
