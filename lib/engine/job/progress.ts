import { type ErrorRecord, toErrorRecord } from '../../errors.js';
import { type ExprContext, evaluateDeep, type JobStatus } from '../../expr/index.js';
import { resultOf } from '../decide/job-context.js';
import type { PlannedStep } from '../decide/plan.js';
import type { JobOutcome, StepRecord } from '../model.js';
import { failed } from './outcome.js';
import type { JobScope } from './prepare.js';
import type { JobSecrets } from './secrets.js';

/** What a job's steps so far add up to: `steps.<key>` for later steps, and the job's status. */
export class JobProgress {
  readonly steps: NonNullable<ExprContext['steps']> = {};
  /** What `success()` / `failure()` see; a failed step fails the job unless `continueOnError`. */
  status: JobStatus = 'success';
  private error: ErrorRecord | null = null;

  add(ps: PlannedStep, record: Pick<StepRecord, 'status' | 'outputs' | 'error'>): void {
    this.steps[ps.key] = { outputs: record.outputs, outcome: resultOf(record.status) };
    if (record.status === 'failed' && !ps.step.continueOnError) {
      this.status = 'failure';
      this.error = record.error;
    }
  }

  /** The job's outcome once every step is through: its failure, or its `outputs:`. */
  outcome(scope: JobScope, secrets: JobSecrets): JobOutcome {
    if (this.status === 'failure') {
      return failed(this.error ?? { code: 'STEP_FAILED', message: 'a step failed' });
    }
    if (!scope.job.outputs) return { status: 'succeeded', outputs: {}, error: null };
    try {
      const ctx = { ...scope.base, env: scope.env, steps: this.steps };
      const outputs = evaluateDeep(scope.job.outputs, ctx) as Record<string, unknown>;
      return { status: 'succeeded', outputs: secrets.mask(outputs), error: null };
    } catch (err) {
      return failed(secrets.mask(toErrorRecord(err)));
    }
  }
}
