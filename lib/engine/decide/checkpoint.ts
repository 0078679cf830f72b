/**
 * The checkpoint budget: does the next step fit in what is left of this invocation?
 *
 * A job checkpoints (commits, requeues itself and ends the invocation) rather than
 * be killed by Lambda mid-step. A step needs its own `timeoutMs`, else the
 * configured minimum, and never more than the job has left before its deadline.
 * At least one step runs per invocation, so a step longer than any invocation cannot
 * requeue forever. A wait or a child run takes no time here: it suspends the job.
 */
export interface NextStep {
  /** The step's `timeoutMs`, when it has one. */
  timeoutMs: number | undefined;
  /** It suspends the job (a wait or a child run) instead of running here. */
  suspends: boolean;
}

export interface Invocation {
  remainingMs: number;
  safetyMarginMs: number;
  /** What a step without a `timeoutMs` is assumed to need. */
  minStepBudgetMs: number;
  /** A step already ran in this invocation. */
  ranHere: boolean;
  now: number;
  /** The job's deadline (decide/timeouts.ts). */
  deadline: number;
}

export function shouldCheckpoint(step: NextStep, at: Invocation): boolean {
  if (step.suspends || !at.ranHere) return false;
  const needed = Math.min(step.timeoutMs ?? at.minStepBudgetMs, at.deadline - at.now);
  return at.remainingMs - at.safetyMarginMs < needed;
}
