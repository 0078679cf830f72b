import { describe, expect, it } from 'vitest';
import {
  jobDeadline,
  jobTimedOut,
  stepBudgetMs,
  tryTimeoutMs,
} from '../../../lib/engine/decide/timeouts.js';

describe('jobDeadline: timeoutMs counts from the attempt’s first start', () => {
  it.each([
    { from: 1_000, timeoutMs: 60_000, deadline: 61_000 },
    { from: 1_000, timeoutMs: 0, deadline: 1_000 },
    { from: 1_000, timeoutMs: undefined, deadline: Number.POSITIVE_INFINITY },
  ])('from $from with timeoutMs $timeoutMs → $deadline', ({ from, timeoutMs, deadline }) => {
    expect(jobDeadline(from, timeoutMs)).toBe(deadline);
  });
});

describe('jobTimedOut: no new step starts past the deadline', () => {
  it.each([
    { now: 999, deadline: 1000, out: false },
    { now: 1000, deadline: 1000, out: true },
    { now: 5000, deadline: Number.POSITIVE_INFINITY, out: false },
  ])('at $now, deadline $deadline → $out', ({ now, deadline, out }) => {
    expect(jobTimedOut(now, deadline)).toBe(out);
  });
});

describe('stepBudgetMs: what a step may take, all tries included', () => {
  const invocation = { remainingMs: 30_000, safetyMarginMs: 5_000 };
  it.each([
    { case: 'the invocation ends first', now: 0, deadline: 60_000, ms: 25_000 },
    { case: 'the job deadline comes first', now: 50_000, deadline: 60_000, ms: 10_000 },
    { case: 'no job timeout', now: 0, deadline: Number.POSITIVE_INFINITY, ms: 25_000 },
  ])('$case → $ms', ({ now, deadline, ms }) => {
    expect(stepBudgetMs({ now, deadline }, invocation)).toBe(ms);
  });
});

describe('tryTimeoutMs: one try of a step', () => {
  it.each([
    { case: 'its own timeout fits', own: 1000, deadline: 10_000, now: 0, ms: 1000 },
    { case: 'cut to what the step has left', own: 5000, deadline: 10_000, now: 8000, ms: 2000 },
    { case: 'none of its own', own: undefined, deadline: 10_000, now: 8000, ms: 2000 },
    { case: 'never below 0', own: 5000, deadline: 10_000, now: 12_000, ms: 0 },
    {
      case: 'nothing bounds it',
      own: undefined,
      deadline: Number.POSITIVE_INFINITY,
      now: 0,
      ms: undefined,
    },
  ])('$case → $ms', ({ own, deadline, now, ms }) => {
    expect(tryTimeoutMs(own, deadline, now)).toBe(ms);
  });
});
