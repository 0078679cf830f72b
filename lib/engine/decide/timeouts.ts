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
