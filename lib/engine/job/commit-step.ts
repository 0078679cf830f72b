import { FlowlineError } from '../../errors.js';
import type { JobTask } from '../../queue/message.js';
import type { Job } from '../../spec/schema.js';
import type { FinishedStep, StepCommit } from '../../store/run-store.js';
import type { ExecuteDeps } from './deps.js';
import { FenceLost } from './heartbeat.js';
import { plannedSteps } from './spec-cache.js';
import { finishedStep, stepRecord } from './step-record.js';

/**
 * The commit-step transition, and the carry of unsaved step results: a finished
 * step's result waits here for the job's next write (the next step's start, or the
 * job's finish), which carries it: one round trip less per step.
 *
 * Every write renews the lease and checks the fence: a stale fence throws
 * FenceLost (a newer claim holds the job), and a start or a retried try refused
 * because the run is being cancelled throws CANCELLED.
 *
 * The claim may have started the job's first step itself (claim-job.lua): its
 * `running` record is written, so the step's own start writes nothing, and a job
 * that ends before reaching it closes it as skipped.
 */
export class StepLog {
  private unsaved: FinishedStep | undefined;

  constructor(
    private readonly deps: Pick<ExecuteDeps, 'runs' | 'config'>,
    private readonly task: JobTask,
    private readonly fence: string,
    private readonly now: () => number,
    /** The step the claim started, until the job reaches it. */
    private claimStarted?: { index: number; startedAt: string },
  ) {}

  /** When the claim started this step: its start time (once; the start is written). */
  startedByClaim(index: number): string | undefined {
    if (this.claimStarted?.index !== index) return undefined;
    const { startedAt } = this.claimStarted;
    this.claimStarted = undefined;
    return startedAt;
  }

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

  /**
   * The carried result, handed to the finish (or retry) script, which writes it; or,
   * when the job ends before the step the claim started, that step closed as skipped.
   */
  take(job: Job | undefined): FinishedStep | undefined {
    const done = this.unsaved ?? this.notRun(job);
    this.unsaved = undefined;
    this.claimStarted = undefined;
    return done;
  }

  private notRun(job: Job | undefined): FinishedStep | undefined {
    const ps = job && this.claimStarted ? plannedSteps(job)[this.claimStarted.index] : undefined;
    if (!ps) return undefined;
    const at = new Date(this.now()).toISOString();
    const record = stepRecord(ps, this.task.attempt, 'skipped', {
      tries: 0,
      startedAt: null,
      finishedAt: at,
    });
    return finishedStep(record, ps);
  }

  private async commit(
    done: FinishedStep | undefined,
    started: StepCommit | undefined,
  ): Promise<'ok' | 'cancelling'> {
    const { runs, config } = this.deps;
    const state = await runs
      .commitStep(this.task, this.fence, this.now(), config.leaseMs, done, started)
      .catch((err: unknown) => {
        throw new CommitUnknown(this.task.jobKey, err);
      });
    if (state === 'stale') {
      throw new FenceLost(`job ${this.task.jobKey} was claimed by a newer attempt`);
    }
    return state;
  }
}

/**
 * A step write that got no answer (a command timeout, a lost connection): it may
 * have landed, and ioredis may still send it after a reconnect. So it is no step
 * failure, and the carried result must not be written again under a new commit id
 * (the same result twice in one attempt): the invocation stops, SQS delivers the
 * task again, and the reclaim reads what landed (runOneStep rethrows it).
 */
export class CommitUnknown extends Error {
  constructor(job: string, cause: unknown) {
    super(`a step write of job ${job} got no answer; it may have landed`, { cause });
    this.name = 'CommitUnknown';
  }
}

const cancelling = () => new FlowlineError('CANCELLED', 'the run was cancelled');
