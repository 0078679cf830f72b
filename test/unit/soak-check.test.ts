import { describe, expect, it } from 'vitest';
import { checkRunEvents } from '../../bench/support/soak-check.js';

/** The soak's detector must see what it claims to: each fault, and no false alarm. */
const started = (job: string, attempt = 1) => ({
  type: 'job.started',
  job,
  data: `{"attempt":${attempt}}`,
});
const step = (type: string, job: string, s: string) => ({ type, job, step: s });
const clean = [
  { type: 'run.created' },
  started('a'),
  step('step.started', 'a', 's'),
  step('step.succeeded', 'a', 's'),
  { type: 'job.succeeded', job: 'a' },
  { type: 'run.succeeded' },
];

describe('checkRunEvents', () => {
  it('finds nothing wrong in a clean run', () => {
    expect(checkRunEvents(clean)).toEqual({
      doubleResults: [],
      concurrentStarts: [],
      doubleJobEnds: [],
      runEnds: 1,
      reclaims: 0,
      leaseExpired: 0,
    });
  });

  it('accepts a crash: a reclaim of the same attempt restarts the step, one result', () => {
    const out = checkRunEvents([
      started('a'),
      step('step.started', 'a', 's'),
      started('a'),
      step('step.started', 'a', 's'),
      step('step.succeeded', 'a', 's'),
      { type: 'job.succeeded', job: 'a' },
    ]);
    expect(out).toMatchObject({ doubleResults: [], concurrentStarts: [], reclaims: 1 });
  });

  it('accepts a failed attempt retried: one failure and one success, in two attempts', () => {
    const out = checkRunEvents([
      started('a'),
      step('step.started', 'a', 's'),
      step('step.failed', 'a', 's'),
      { type: 'job.retrying', job: 'a', data: '{"attempt":2,"error":{"code":"LEASE_EXPIRED"}}' },
      started('a', 2),
      step('step.started', 'a', 's'),
      step('step.succeeded', 'a', 's'),
      { type: 'job.succeeded', job: 'a' },
    ]);
    expect(out).toMatchObject({ doubleResults: [], concurrentStarts: [], leaseExpired: 1 });
  });

  it.each([
    [
      'a result committed twice in one attempt',
      [
        started('a'),
        step('step.started', 'a', 's'),
        step('step.succeeded', 'a', 's'),
        step('step.succeeded', 'a', 's'),
      ],
      { doubleResults: ['a#1/s step.succeeded', 'a/s succeeded again'] },
    ],
    [
      'a success run again in a later attempt',
      [
        started('a'),
        step('step.succeeded', 'a', 's'),
        started('a', 2),
        step('step.succeeded', 'a', 's'),
      ],
      { doubleResults: ['a/s succeeded again'] },
    ],
    [
      'a step started twice under one claim',
      [started('a'), step('step.started', 'a', 's'), step('step.started', 'a', 's')],
      { concurrentStarts: ['a/s'] },
    ],
    [
      'a job finished twice',
      [started('a'), { type: 'job.succeeded', job: 'a' }, { type: 'job.failed', job: 'a' }],
      { doubleJobEnds: ['a'] },
    ],
  ])('reports %s', (_, events, expected) => {
    expect(checkRunEvents(events)).toMatchObject(expected);
  });
});
