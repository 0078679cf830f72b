import { describe, expect, it } from 'vitest';
import {
  checkGroups,
  checkMatrix,
  checkRunEvents,
  checkSleeps,
  slotHoldings,
} from '../../bench/support/soak-check.js';

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

/** An event at stream time `ms` (the checks read the time from the stream id). */
const at = (ms: number, e: Record<string, string>) => ({ ...e, id: `${ms}-0` });
const gatedRun = (from: number, to: number) => [
  at(from - 5, { type: 'run.created' }),
  at(from, started('a')),
  at(from + 1, step('step.started', 'a', 's')),
  at(to, { type: 'run.succeeded' }),
];
const asleep = (ms: number, job: string, until: number) =>
  at(ms, {
    type: 'job.waiting',
    job,
    data: JSON.stringify({ kind: 'sleep', until: new Date(until).toISOString() }),
  });

describe('checkRunEvents after waits', () => {
  it('does not count the claim that wakes a waiting job as a reclaim', () => {
    const out = checkRunEvents([
      started('a'),
      step('step.started', 'a', 'nap'),
      { type: 'job.waiting', job: 'a', data: '{"kind":"sleep"}' },
      started('a'),
      step('step.succeeded', 'a', 'nap'),
      { type: 'job.queued', job: 'a', data: '{"attempt":1}' },
      started('a'),
      { type: 'job.succeeded', job: 'a' },
    ]);
    expect(out).toMatchObject({ reclaims: 0, doubleResults: [], concurrentStarts: [] });
  });
});

describe('checkGroups', () => {
  const hold = (runId: string, from: number, to: number) =>
    slotHoldings(runId, gatedRun(from, to), { workflowGroup: 'g' }, 1_000);

  it('accepts holds up to the limit, and one that starts in the ms another ends', () => {
    const out = checkGroups([...hold('r1', 10, 20), ...hold('r2', 12, 30), ...hold('r3', 20, 40)], {
      g: 2,
    });
    expect(out).toEqual({ peak: { g: 2 }, overRuns: [], overMoments: [] });
  });

  it('reports the runs holding while the group is over its limit', () => {
    const out = checkGroups(
      [...hold('r1', 10, 20), ...hold('r2', 12, 30), ...hold('r3', 20, 40), ...hold('r4', 25, 26)],
      { g: 2 },
    );
    expect(out.peak).toEqual({ g: 3 });
    expect(out.overRuns.sort()).toEqual(['r2', 'r3', 'r4']);
    expect(out.overMoments).toHaveLength(1);
  });

  it('holds a job-level slot from its first step, not from a claim that then waited', () => {
    const events = [
      at(1, started('b')),
      at(2, { type: 'job.waiting', job: 'b', data: '{"kind":"concurrency","group":"jg"}' }),
      at(50, { type: 'job.queued', job: 'b', data: '{"attempt":1}' }),
      at(51, started('b')),
      at(52, step('step.started', 'b', 's')),
      at(60, { type: 'job.succeeded', job: 'b' }),
    ];
    expect(slotHoldings('r', events, { jobGroups: { b: 'jg' } }, 1_000)).toEqual([
      { group: 'jg', member: 'r/b', runId: 'r', from: 52, to: 60 },
    ]);
  });

  it('holds an unfinished run until the time of the check', () => {
    const events = gatedRun(10, 20).slice(0, 3);
    expect(slotHoldings('r', events, { workflowGroup: 'g' }, 99)).toMatchObject([
      { from: 10, to: 99 },
    ]);
  });
});

describe('checkMatrix', () => {
  const groups = { m: { instances: ['m[i=1]', 'm[i=2]', 'm[i=3]'], maxParallel: 2 } };
  const e = (ms: number, type: string, job: string) => at(ms, { type, job });

  it('accepts instances queued as others end', () => {
    const out = checkMatrix(
      [
        e(1, 'job.queued', 'm[i=1]'),
        e(1, 'job.queued', 'm[i=2]'),
        e(2, 'job.started', 'm[i=1]'),
        e(3, 'job.succeeded', 'm[i=1]'),
        e(3, 'job.queued', 'm[i=3]'),
      ],
      groups,
    );
    expect(out).toEqual({ peak: { m: 2 }, over: [] });
  });

  it('reports more live instances than maxParallel', () => {
    const out = checkMatrix(
      [e(1, 'job.queued', 'm[i=1]'), e(1, 'job.queued', 'm[i=2]'), e(2, 'job.queued', 'm[i=3]')],
      groups,
    );
    expect(out.peak).toEqual({ m: 3 });
    expect(out.over).toHaveLength(1);
  });
});

describe('checkSleeps', () => {
  it('measures how late a sleep woke, and reports a claim before its end', () => {
    const out = checkSleeps([
      asleep(100, 's', 1_100),
      at(1_050, started('s')),
      asleep(1_051, 's', 1_100),
      at(1_130, started('s')),
    ]);
    expect(out).toEqual({
      sleeps: 2,
      earlyWakes: ["s claimed 50 ms before its sleep's end"],
      lateMs: [30],
    });
  });
});
