/**
 * When a job attempt's `timeoutMs` runs out (ms; Infinity without one).
 *
 * `timeoutFrom` is the attempt's first start, kept in Redis (claim-job.ts), so a
 * checkpoint or a redelivery does not restart the clock. Time spent waiting (a
 * sleep, an approval, a signal, a child run, a concurrency slot) moves it later:
 * each wait has its own timeout, and a job waiting a day for an approval would
 * otherwise always end in TIMEOUT. So `timeoutMs` bounds the time a job works, as
 * GitHub's `timeout-minutes` bounds the time a job runs. A new attempt (a retry) is
 * a new try with its own clock.
 */
export function jobDeadline(timeoutFrom: number, timeoutMs: number | undefined): number {
  return timeoutMs === undefined ? Number.POSITIVE_INFINITY : timeoutFrom + timeoutMs;
}

/**
 * Past the job's deadline (it ran out before a checkpoint or a wait) no new step
 * starts, even one so fast that a zero timeout would not stop it.
 */
export function jobTimedOut(now: number, deadline: number): boolean {
  return now >= deadline;
}

/**
 * The time a step (all its tries) may take from now: what the invocation has left
 * before its safety margin, and what the job has left before its deadline.
 */
export function stepBudgetMs(
  at: { now: number; deadline: number },
  invocation: { remainingMs: number; safetyMarginMs: number },
): number {
  return Math.min(invocation.remainingMs - invocation.safetyMarginMs, at.deadline - at.now);
}

/**
 * One try of a step: its own `timeoutMs`, cut to what the step has left before
 * `stepDeadline` (never below 0); undefined when nothing bounds it.
 */
export function tryTimeoutMs(
  stepTimeoutMs: number | undefined,
  stepDeadline: number,
  now: number,
): number | undefined {
  const ms = Math.max(0, Math.min(stepTimeoutMs ?? Number.POSITIVE_INFINITY, stepDeadline - now));
  return Number.isFinite(ms) ? ms : undefined;
}
