import { describe, expect, it } from 'vitest';
import { jobDeadline } from '../../../lib/engine/decide/timeouts.js';

describe('jobDeadline', () => {
  it.each([
    { from: 1_000, timeoutMs: 60_000, deadline: 61_000 },
    { from: 1_000, timeoutMs: 0, deadline: 1_000 },
    { from: 1_000, timeoutMs: undefined, deadline: Number.POSITIVE_INFINITY },
  ])('from $from with timeoutMs $timeoutMs → $deadline', ({ from, timeoutMs, deadline }) => {
    expect(jobDeadline(from, timeoutMs)).toBe(deadline);
  });
});
