import { Cron } from 'croner';
import { FlowlineError } from '../errors.js';

/** A fixed reference for "does this pattern ever fire", so validation stays pure. */
const REFERENCE = new Date('2000-01-01T00:00:00Z');

function isValidTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

function build(cron: string, timezone: string | undefined): Cron {
  // paused: a schedule is computed here, never run; no timer is ever armed.
  return new Cron(cron.trim(), {
    paused: true,
    mode: '5-or-6-parts',
    ...(timezone === undefined ? {} : { timezone }),
  });
}

/**
 * Why `cron` (5 fields, or 6 with seconds first) with optional IANA `timezone` is
 * unusable, or null when it is fine. Day-of-month and day-of-week combine with OR,
 * as in Vixie cron.
 */
export function validateCron(cron: string, timezone?: string): string | null {
  const fields = cron
    .trim()
    .split(/\s+/)
    .filter((f) => f !== '');
  // croner also takes ISO dates and @nicknames; the spec allows only 5 or 6 fields.
  if (fields.length !== 5 && fields.length !== 6) {
    return `cron '${cron}' must have 5 fields (or 6 with seconds first), not ${fields.length}`;
  }
  if (timezone !== undefined && !isValidTimeZone(timezone)) {
    return `timezone '${timezone}' is not an IANA time zone name`;
  }
  let job: Cron;
  try {
    job = build(cron, timezone);
  } catch (err) {
    return `cron '${cron}' is invalid: ${err instanceof Error ? err.message.replace(/^CronPattern: /, '') : String(err)}`;
  }
  if (job.nextRun(REFERENCE) === null) return `cron '${cron}' never fires`;
  return null;
}

function compile(cron: string, timezone: string | undefined): Cron {
  const problem = validateCron(cron, timezone);
  if (problem !== null) throw new FlowlineError('VALIDATION', problem);
  return build(cron, timezone);
}

/**
 * Every fire time t of `cron` with `after < t ≤ until`, oldest first, at most `max`.
 * Across DST (croner's rules): a fixed time such as `30 2 * * *` in a skipped hour
 * fires once at the first valid time after the gap and once in a repeated hour;
 * interval patterns (`*\/30 * * * *`) skip the gap and fire in both repeated hours.
 */
export function fireTimesBetween(
  cron: string,
  timezone: string | undefined,
  after: Date,
  until: Date,
  max = 100,
): Date[] {
  const job = compile(cron, timezone);
  const out: Date[] = [];
  let cursor = after;
  while (out.length < max) {
    const next = job.nextRun(cursor);
    if (next === null || next.getTime() > until.getTime()) break;
    out.push(next);
    cursor = next;
  }
  return out;
}

/** The first fire time strictly after `after`, or null if there is none. */
export function nextFireTime(cron: string, timezone: string | undefined, after: Date): Date | null {
  return compile(cron, timezone).nextRun(after);
}
