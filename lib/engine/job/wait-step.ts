import type { ErrorCode } from '../../errors.js';
import type { ExprContext } from '../../expr/index.js';
import type { Step } from '../../spec/schema.js';
import { StepFailedError, type StepOutputs } from '../../steps/executor.js';
import { parseUses } from '../../steps/kinds.js';
import type { PlannedStep } from '../decide/plan.js';
import {
  decideWait,
  isWaitKind,
  resolutionFor,
  type Suspension,
  type WaitDecision,
  type WaitKind,
} from '../decide/waits.js';
import type { StepRecord } from '../model.js';
import { newRunId, type Trigger } from '../run/admit.js';
import { type ChildStep, childOutcome, startChild } from '../run/child-run.js';
import type { JobRun } from './job-run.js';
import { grantable, secretLeak } from './secrets.js';
import { startedStep } from './step-record.js';

/** A step that suspends its job instead of running here: a wait, or a child run. */
export type SuspendingStep = { waits: WaitKind } | { child: string };

export function suspendingStep(step: Step): SuspendingStep | undefined {
  const uses = parseUses(step.uses);
  if (typeof uses === 'string') return undefined;
  if (isWaitKind(uses.kind)) return { waits: uses.kind };
  if (uses.kind === 'workflow') return { child: uses.name as string };
  return undefined;
}

export interface WaitAt {
  ps: PlannedStep;
  kind: SuspendingStep;
  /** The step's `with`, evaluated. */
  with: Record<string, unknown>;
  ctx: ExprContext;
  /** Its record, when the job already waits at this step. */
  waiting: StepRecord | undefined;
  /** The step's record as it stands, `extra` over it. */
  record: (status: StepRecord['status'], extra?: Partial<StepRecord>) => StepRecord;
  /** The secret names this step may read, and so may grant a child run. */
  names: string[];
}

/**
 * A wait or a child-run step: suspend the job (the step recorded `waiting` the first
 * time, so the next claim goes on from it), or the step's outputs once the wait is
 * over. A failed wait throws, as a failed step does.
 */
export async function waitStep(
  run: JobRun,
  at: WaitAt,
): Promise<{ kind: 'suspend'; suspension: Suspension } | { kind: 'done'; outputs: StepOutputs }> {
  const { ps, waiting } = at;
  const resolution = waiting ? resolutionFor(run.claim.resolved, ps.index) : undefined;
  const recordWaiting = async (extra: Partial<StepRecord>) => {
    if (!waiting) await run.steps.start(startedStep(at.record('waiting', extra), ps));
  };
  let decision: WaitDecision | ChildStep;
  if ('waits' in at.kind) {
    const wait = decideWait({
      kind: at.kind.waits,
      stepKey: ps.key,
      with: at.with,
      recorded: waiting?.wait,
      resolution,
      now: run.now(),
    });
    if (wait.kind === 'suspend') await recordWaiting({ wait: wait.wait });
    decision = wait;
  } else {
    // The child's id is recorded before the child is started, so a crash in
    // between starts the same child on the next claim (admission is idempotent).
    // A child run is written to Redis: its inputs must not carry a value (checked
    // before anything is recorded), and secrets go by name, read by the child itself.
    if (!resolution && run.secrets.masker.reveals(at.with.inputs)) {
      throw secretLeak("the child run's inputs");
    }
    const granted = grantable(at.with.secrets, at.names);
    const childRunId = String(waiting?.outputs.runId ?? newRunId(run.now()));
    await recordWaiting({ outputs: { runId: childRunId } });
    decision = resolution
      ? childOutcome(childRunId, resolution)
      : await startChild(
          run.deps,
          { task: run.task, trigger: at.ctx.trigger as Trigger, stepKey: ps.key },
          at.kind.child,
          { ...at.with, secrets: granted },
          childRunId,
          run.now(),
        );
  }
  if (decision.kind === 'fail') {
    const { message, code } = decision.error;
    throw new StepFailedError(message, decision.outputs, code as ErrorCode);
  }
  return decision;
}
