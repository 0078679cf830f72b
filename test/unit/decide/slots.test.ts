import { describe, expect, it } from 'vitest';
import {
  afterGrant,
  mayHoldJobSlot,
  releasedBy,
  SLOT_RULES,
  type SlotAction,
  type SlotEvent,
  type SlotScope,
  settleEvent,
  slotAction,
} from '../../../lib/engine/decide/slots.js';

/** SPEC.md "Concurrency": kept while waiting, released when it finishes. One row per rule. */
const TABLE: [SlotEvent, SlotScope, SlotAction][] = [
  ['job-finished', 'job', 'release'],
  ['job-finished', 'run', 'hold'],
  ['job-retrying', 'job', 'hold'],
  ['job-retrying', 'run', 'hold'],
  ['job-suspended', 'job', 'hold'],
  ['job-suspended', 'run', 'hold'],
  ['job-checkpointed', 'job', 'hold'],
  ['job-checkpointed', 'run', 'hold'],
  ['run-cancelling', 'job', 'hold'],
  ['run-cancelling', 'run', 'hold'],
  ['run-ended', 'job', 'release'],
  ['run-ended', 'run', 'release'],
  ['granted-to-ended', 'job', 'release'],
  ['granted-to-ended', 'run', 'release'],
];

describe('slot rules', () => {
  it.each(TABLE)('%s: a %s-level slot is %s', (event, scope, action) => {
    expect(slotAction(event, scope)).toBe(action);
  });

  it('the table above covers every rule', () => {
    const rules = Object.entries(SLOT_RULES).flatMap(([event, byScope]) =>
      Object.entries(byScope).map(([scope, action]) => [event, scope, action]),
    );
    expect(rules.sort()).toEqual([...TABLE].sort());
  });

  it.each([
    ['job-finished', 'job'],
    ['job-retrying', 'none'],
    ['job-suspended', 'none'],
    ['job-checkpointed', 'none'],
    ['run-cancelling', 'none'],
    ['run-ended', 'all'],
  ] as const)('%s frees %s of the run’s memberships', (event, freed) => {
    expect(releasedBy(event)).toBe(freed);
  });

  it.each([
    ['retrying', false, 'job-retrying'],
    ['finished', false, 'job-finished'],
    ['retrying', true, 'run-ended'],
    ['finished', true, 'run-ended'],
  ] as const)('a settle %s (run ended: %s) is %s', (settled, runEnded, event) => {
    expect(settleEvent(settled, runEnded)).toBe(event);
  });

  it.each([
    ['job', 'waiting', 'hold'],
    ['job', 'running', 'hold'],
    ['job', 'queued', 'hold'],
    ['job', 'succeeded', 'release'],
    ['job', 'failed', 'release'],
    ['job', 'skipped', 'release'],
    ['job', 'cancelled', 'release'],
    ['job', '', 'release'],
    ['run', 'queued', 'hold'],
    ['run', 'running', 'hold'],
    ['run', 'waiting', 'hold'],
    ['run', 'cancelled', 'release'],
    ['run', null, 'release'],
  ] as const)('a grant to a %s member now %s: %s', (scope, status, action) => {
    expect(afterGrant(scope, status)).toBe(action);
  });

  it('a job may hold a slot when it has `concurrency` or its spec is unknown (a dead letter)', () => {
    expect(mayHoldJobSlot({ concurrency: { group: 'g' } })).toBe(true);
    expect(mayHoldJobSlot(undefined)).toBe(true);
    expect(mayHoldJobSlot({})).toBe(false);
  });
});
