import type { ErrorRecord } from '../../errors.js';
import type { Retries } from '../../spec/schema.js';

/**
 * Errors that fail the same way on every attempt: retrying them only delays the
 * failure (bad input, missing capability or secret, unbuilt kinds, cancellation).
 */
const PERMANENT = new Set([
  'VALIDATION',
  'EXPRESSION_ERROR',
  'CAPABILITY_DENIED',
  'NOT_IMPLEMENTED',
  'SECRET_NOT_FOUND',
  'CANCELLED',
]);

export function isRetryable(error: ErrorRecord | null): boolean {
  return !error || !PERMANENT.has(error.code);
}

/**
 * The delay before the next attempt, or undefined when `attempt` (1-based, the one
 * that just failed) was the last: `max` counts retries after the first attempt.
 * exp: initial·2^(n-1); lin: initial·n; fixed: initial; capped at maxIntervalMs;
 * jitter draws uniformly from [delay/2, delay] so a burst of failures spreads out.
 */
export function retryDelayMs(
  policy: Retries | undefined,
  attempt: number,
  error: ErrorRecord | null,
  random: () => number = Math.random,
): number | undefined {
  if (!policy || attempt > policy.max || !isRetryable(error)) return undefined;
  const initial = policy.initialIntervalMs;
  const raw =
    policy.backoff === 'exp'
      ? initial * 2 ** (attempt - 1)
      : policy.backoff === 'lin'
        ? initial * attempt
        : initial;
  const capped = Math.min(raw, policy.maxIntervalMs ?? Number.POSITIVE_INFINITY);
  return Math.round(policy.jitter ? capped / 2 + random() * (capped / 2) : capped);
}

/**
 * A failed job attempt: when the next attempt is due, or undefined to give up (the
 * job fails). The next attempt is a new claim, queued with the backoff as its delay.
 */
export function nextAttempt(
  policy: Retries | undefined,
  attempt: number,
  error: ErrorRecord | null,
  now: number,
  random?: () => number,
): { dueAt: number; delayMs: number } | undefined {
  const delayMs = retryDelayMs(policy, attempt, error, random);
  return delayMs === undefined ? undefined : { dueAt: now + delayMs, delayMs };
}

/**
 * A failed try of a step (`failedTry` 1-based): the backoff before the next try in
 * this same invocation, or undefined to give up (the step fails): no retry left, the
 * job was stopped, or the next try would start after the step's time is over.
 */
export function nextTry(
  policy: Retries | undefined,
  failedTry: number,
  error: ErrorRecord | null,
  at: { now: number; deadline: number; stopped: boolean },
  random?: () => number,
): number | undefined {
  const delayMs = retryDelayMs(policy, failedTry, error, random);
  if (delayMs === undefined || at.stopped || at.now + delayMs >= at.deadline) return undefined;
  return delayMs;
}
