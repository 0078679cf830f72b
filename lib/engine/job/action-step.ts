import { FlowlineError } from '../../errors.js';
import type { ExprContext } from '../../expr/index.js';
import type { Workflow } from '../../spec/schema.js';
import { failing } from '../../steps/index.js';
import type { PlannedStep } from '../decide/plan.js';
import { stepBudgetMs } from '../decide/timeouts.js';
import type { StepRecord } from '../model.js';
import type { JobRun } from './job-run.js';
import { runStep } from './run-step.js';
import { retryingStep, startedStep } from './step-record.js';

/**
 * Where a runner function is configured (AWS), a process that was not given its shell
 * executor (lib/step-executors.ts) must not fall back to running untrusted commands
 * in itself, next to the engine's credentials.
 */
const NO_RUNNER = failing(
  () =>
    new FlowlineError(
      'INTERNAL',
      'shell steps run in the runner function, which this process was not given',
    ),
);

export interface ActionAt {
  spec: Workflow;
  ps: PlannedStep;
  ctx: ExprContext;
  env: Record<string, string>;
  /** The job's deadline (decide/timeouts.ts). */
  deadline: number;
  /** The step's record as it stands, `extra` over it. */
  record: (status: StepRecord['status'], extra?: Partial<StepRecord>) => StepRecord;
  /** Told the try about to start (2, 3, …) after a failed one. */
  onTry: (n: number) => void;
  /** The claim wrote this step's start already (claim-job.lua). */
  startedByClaim: boolean;
}

/**
 * A step that runs here (`uses:` an action, http, lambda, shell…): its start is
 * committed first (carrying the last step's result), then it runs under what the
 * invocation and the job have left, each failed try that is retried committed too.
 */
export async function actionStep(run: JobRun, at: ActionAt): Promise<Record<string, unknown>> {
  const { deps, now } = run;
  const { ps } = at;
  if (!at.startedByClaim) await run.steps.start(startedStep(at.record('running'), ps));
  return runStep({
    task: run.task,
    step: ps,
    ctx: at.ctx,
    env: at.env,
    spec: at.spec,
    capabilities: deps.config.capabilities,
    timeoutMs: stepBudgetMs(
      { now: now(), deadline: at.deadline },
      { remainingMs: run.remainingMs(), safetyMarginMs: deps.config.safetyMarginMs },
    ),
    signal: run.stop,
    ...(deps.lambdaSteps ? { lambda: deps.lambdaSteps } : {}),
    onRetry: async (failedTry, err, delayMs) => {
      at.onTry(failedTry + 1);
      const error = run.secrets.mask(err);
      await run.steps.retrying(retryingStep(at.record('running'), ps, error, failedTry, delayMs));
    },
    ...(deps.shellSteps
      ? { shell: deps.shellSteps }
      : deps.config.runnerFunction
        ? { shell: NO_RUNNER }
        : {}),
  });
}
