import { describe, expect, it } from 'vitest';
import { fireTimesBetween, nextFireTime, validateCron } from '../../lib/triggers/cron.js';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('fireTimesBetween', () => {
  it.each<[string, string, string | undefined, string, string, string[]]>([
    [
      'every 5 minutes over 15 minutes, after exclusive and until inclusive',
      '*/5 * * * *',
      undefined,
      '2024-01-01T00:00:00Z',
      '2024-01-01T00:15:00Z',
      ['2024-01-01T00:05:00.000Z', '2024-01-01T00:10:00.000Z', '2024-01-01T00:15:00.000Z'],
    ],
    [
      'every 5 minutes from a point between fires',
      '*/5 * * * *',
      undefined,
      '2024-01-01T00:02:30.500Z',
      '2024-01-01T00:12:00Z',
      ['2024-01-01T00:05:00.000Z', '2024-01-01T00:10:00.000Z'],
    ],
    [
      '6 fields: every 20 seconds',
      '*/20 * * * * *',
      undefined,
      '2024-01-01T00:00:00Z',
      '2024-01-01T00:01:00Z',
      ['2024-01-01T00:00:20.000Z', '2024-01-01T00:00:40.000Z', '2024-01-01T00:01:00.000Z'],
    ],
    [
      '6 fields: second 30 of minute 0',
      '30 0 * * * *',
      'UTC',
      '2024-01-01T00:00:00Z',
      '2024-01-01T02:00:00Z',
      ['2024-01-01T00:00:30.000Z', '2024-01-01T01:00:30.000Z'],
    ],
    [
      'Berlin 09:00 keeps local time across spring-forward (CET → CEST)',
      '0 9 * * *',
      'Europe/Berlin',
      '2024-03-30T00:00:00Z',
      '2024-04-01T23:59:59Z',
      ['2024-03-30T08:00:00.000Z', '2024-03-31T07:00:00.000Z', '2024-04-01T07:00:00.000Z'],
    ],
    [
      'Berlin 02:30 does not exist on 2024-03-31: fires once, right after the gap',
      '30 2 * * *',
      'Europe/Berlin',
      '2024-03-30T00:00:00Z',
      '2024-04-01T23:59:59Z',
      ['2024-03-30T01:30:00.000Z', '2024-03-31T01:00:00.000Z', '2024-04-01T00:30:00.000Z'],
    ],
    [
      'Berlin 02:30 exists twice on 2024-10-27: fires once',
      '30 2 * * *',
      'Europe/Berlin',
      '2024-10-26T12:00:00Z',
      '2024-10-27T12:00:00Z',
      ['2024-10-27T00:30:00.000Z'],
    ],
    [
      'Berlin hourly across fall-back fires in both repeated hours',
      '0 * * * *',
      'Europe/Berlin',
      '2024-10-26T23:30:00Z',
      '2024-10-27T02:00:00Z',
      ['2024-10-27T00:00:00.000Z', '2024-10-27T01:00:00.000Z', '2024-10-27T02:00:00.000Z'],
    ],
    [
      'New York midnight is 05:00Z in winter',
      '0 0 * * 1',
      'America/New_York',
      '2024-01-01T00:00:00Z',
      '2024-01-15T00:00:00Z',
      ['2024-01-01T05:00:00.000Z', '2024-01-08T05:00:00.000Z'],
    ],
    ['an empty window', '0 0 * * *', undefined, '2024-01-01T00:00:01Z', '2024-01-01T23:59:59Z', []],
  ])('%s', (_label, cron, timezone, after, until, expected) => {
    expect(iso(fireTimesBetween(cron, timezone, new Date(after), new Date(until)))).toEqual(
      expected,
    );
  });

  it('stops at max', () => {
    const times = fireTimesBetween(
      '* * * * * *',
      undefined,
      new Date('2024-01-01T00:00:00Z'),
      new Date('2024-01-02T00:00:00Z'),
      3,
    );
    expect(iso(times)).toEqual([
      '2024-01-01T00:00:01.000Z',
      '2024-01-01T00:00:02.000Z',
      '2024-01-01T00:00:03.000Z',
    ]);
  });

  it('defaults max to 100', () => {
    const times = fireTimesBetween(
      '* * * * *',
      undefined,
      new Date('2024-01-01T00:00:00Z'),
      new Date('2024-01-02T00:00:00Z'),
    );
    expect(times).toHaveLength(100);
  });

  it('rejects an invalid pattern with VALIDATION', () => {
    expect(() => fireTimesBetween('61 * * * *', undefined, new Date(0), new Date())).toThrowError(
      expect.objectContaining({ code: 'VALIDATION' }) as Error,
    );
  });
});

describe('nextFireTime', () => {
  it('is strictly after its argument', () => {
    expect(
      nextFireTime('*/5 * * * *', undefined, new Date('2024-01-01T00:05:00Z'))?.toISOString(),
    ).toBe('2024-01-01T00:10:00.000Z');
  });
});

describe('validateCron', () => {
  it.each<[string, string | undefined, string | null]>([
    ['*/5 * * * *', undefined, null],
    ['0 9 * * 1-5', 'Europe/Berlin', null],
    ['*/10 * * * * *', undefined, null],
    ['0 0 1 jan *', undefined, null],
    ['0 0 29 2 *', undefined, null],
    ['* * * *', undefined, 'must have 5 fields'],
    ['0 0 0 1 1 * 2030', undefined, 'must have 5 fields'],
    ['2030-01-01T00:00:00', undefined, 'must have 5 fields'],
    ['@daily', undefined, 'must have 5 fields'],
    ['', undefined, 'must have 5 fields'],
    ['61 * * * *', undefined, 'is invalid'],
    ['* * 32 * *', undefined, 'is invalid'],
    ['x * * * *', undefined, 'is invalid'],
    ['0 0 31 2 *', undefined, 'never fires'],
    ['* * * * *', 'Mars/Olympus_Mons', 'not an IANA time zone'],
  ])('%j in %s → %s', (cron, timezone, problem) => {
    const result = validateCron(cron, timezone);
    if (problem === null) expect(result).toBeNull();
    else expect(result).toContain(problem);
  });
});
