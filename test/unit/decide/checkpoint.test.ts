import { describe, expect, it } from 'vitest';
import { shouldCheckpoint } from '../../../lib/engine/decide/checkpoint.js';

describe('shouldCheckpoint: does the next step fit in this invocation?', () => {
  // 10 s left, a 1 s safety margin, 2 s assumed for a step without timeoutMs.
  const at = {
    remainingMs: 10_000,
    safetyMarginMs: 1000,
    minStepBudgetMs: 2000,
    ranHere: true,
    now: 0,
    deadline: Number.POSITIVE_INFINITY,
  };
  const action = { timeoutMs: undefined, suspends: false };
  it.each([
    { case: 'the minimum budget fits', step: action, at, checkpoint: false },
    {
      case: 'its timeoutMs fits exactly',
      step: { ...action, timeoutMs: 9000 },
      at,
      checkpoint: false,
    },
    {
      case: 'its timeoutMs does not fit',
      step: { ...action, timeoutMs: 9001 },
      at,
      checkpoint: true,
    },
    {
      case: 'the minimum budget does not fit',
      step: action,
      at: { ...at, remainingMs: 2999 },
      checkpoint: true,
    },
    {
      case: 'nothing ran here yet (a step always runs)',
      step: { ...action, timeoutMs: 60_000 },
      at: { ...at, ranHere: false },
      checkpoint: false,
    },
    {
      case: 'a wait takes no time here',
      step: { timeoutMs: 60_000, suspends: true },
      at,
      checkpoint: false,
    },
    {
      case: 'the job deadline comes first: it needs no more',
      step: { ...action, timeoutMs: 60_000 },
      at: { ...at, now: 1000, deadline: 5000 },
      checkpoint: false,
    },
    {
      case: 'past the job deadline (it will fail TIMEOUT here)',
      step: action,
      at: { ...at, remainingMs: 500, now: 6000, deadline: 5000 },
      checkpoint: false,
    },
  ])('$case → $checkpoint', ({ step, at, checkpoint }) => {
    expect(shouldCheckpoint(step, at)).toBe(checkpoint);
  });
});
