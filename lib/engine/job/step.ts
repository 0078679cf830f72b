import { FlowlineError, toErrorRecord } from '../../errors.js';
import {
  type ExprContext,
  ExpressionError,
  evaluateCondition,
  evaluateDeep,
} from '../../expr/index.js';
import { StepFailedError } from '../../steps/executor.js';
import { toEnv } from '../decide/job-context.js';
import type { PlannedStep } from '../decide/plan.js';
import { stepCondition } from '../decide/step-replay.js';
import { jobTimedOut } from '../decide/timeouts.js';
import type { Suspension } from '../decide/waits.js';
import type { StepRecord } from '../model.js';
import { actionStep } from './action-step.js';
import { CommitUnknown } from './commit-step.js';
import { FenceLost } from './heartbeat.js';
import type { JobRun } from './job-run.js';
import { type JobScope, unique } from './prepare.js';
import type { JobProgress } from './progress.js';
import { stepRecord } from './step-record.js';
import { type SuspendingStep, waitStep } from './wait-step.js';

export type StepEnd =
  | { kind: 'finished'; record: StepRecord }
  | { kind: 'suspend'; suspension: Suspension };

export interface StepAt {
  /** Its record, when the job already waits at this step (replay said `resume`). */
  waiting: StepRecord | undefined;
  /** The job's deadline (decide/timeouts.ts). */
  deadline: number;
  /** Set for a wait or a child run. */
  suspends: SuspendingStep | undefined;
}

/**
 * Run one step: its env and `if`, then the action, the wait or the child run. Any
 * error becomes the step's failed (or cancelled) record; only a takeover
 * (FenceLost) or a step write of unknown outcome (CommitUnknown) goes up, and the
 * job stops where it is.
 */
export async function runOneStep(
  run: JobRun,
  scope: JobScope,
  progress: JobProgress,
  ps: PlannedStep,
  at: StepAt,
): Promise<StepEnd> {
  const { now, secrets } = run;
  const { step } = ps;
  const byClaim = run.steps.startedByClaim(ps.index);
  const startedAt = at.waiting?.startedAt ?? byClaim ?? new Date(now()).toISOString();
  let tries = 1;
  const record = (status: StepRecord['status'], extra: Partial<StepRecord> = {}) =>
    stepRecord(ps, run.task.attempt, status, { tries, startedAt, ...extra });
  const finished = (status: StepRecord['status'], extra: Partial<StepRecord>): StepEnd => ({
    kind: 'finished',
    record: record(status, { finishedAt: new Date(now()).toISOString(), ...extra }),
  });
  try {
    const names = step.secrets ? unique(scope.secretNames, step.secrets) : scope.secretNames;
    const { ctx, env } = stepContext(scope, progress, ps, await secrets.fetch(names));
    if (!at.waiting && !evaluateCondition(stepCondition(step.if, ps.hook), ctx)) {
      return finished('skipped', { tries: 0, startedAt: null, finishedAt: startedAt });
    }
    if (!at.waiting && jobTimedOut(now(), at.deadline)) {
      throw new FlowlineError('TIMEOUT', 'the job exceeded its timeoutMs');
    }
    if (at.suspends) {
      const w = evaluateDeep(step.with ?? {}, ctx) as Record<string, unknown>;
      const { waiting, suspends: kind } = at;
      const wait = await waitStep(run, { ps, kind, with: w, ctx, waiting, record, names });
      // waitingFor and the signal name are stored and sent as events.
      if (wait.kind === 'suspend')
        return { kind: 'suspend', suspension: secrets.mask(wait.suspension) };
      return finished('succeeded', { outputs: secrets.mask(wait.outputs) });
    }
    const onTry = (n: number) => {
      tries = n;
    };
    const { deadline } = at;
    const outputs = await actionStep(run, {
      spec: scope.spec,
      ps,
      ctx,
      env,
      deadline,
      record,
      onTry,
      startedByClaim: byClaim !== undefined,
    });
    return finished('succeeded', { outputs: secrets.mask(outputs) });
  } catch (err) {
    // A takeover, or a step write of unknown outcome: the job stops where it is.
    if (err instanceof FenceLost || err instanceof CommitUnknown) throw err;
    if (run.stop.reason instanceof FenceLost) throw run.stop.reason;
    const outputs = err instanceof StepFailedError && err.outputs ? secrets.mask(err.outputs) : {};
    const error = toErrorRecord(err);
    // An expression that fails here names its step too: the run's error repeats the message.
    if (err instanceof ExpressionError) error.message = `step '${ps.key}': ${error.message}`;
    const masked = secrets.mask(error);
    return finished(masked.code === 'CANCELLED' ? 'cancelled' : 'failed', {
      outputs,
      error: masked,
    });
  }
}

/** What a step's expressions see: the job's scope, the steps before it, its secrets and env. */
function stepContext(
  scope: JobScope,
  progress: JobProgress,
  ps: PlannedStep,
  secrets: Record<string, string>,
): { ctx: ExprContext; env: Record<string, string> } {
  const { steps, status } = progress;
  if (!ps.step.env) {
    const env = { ...scope.env };
    return { ctx: { ...scope.base, env, steps, secrets, status }, env };
  }
  const reads = { ...scope.base, env: scope.env, steps, secrets };
  const own = evaluateDeep(ps.step.env, reads) as Record<string, unknown>;
  const env = { ...scope.env, ...toEnv(own) };
  return { ctx: { ...reads, env, status }, env };
}
