/**
 * What the soak reads from one run's event stream (pure; the stream is the
 * run's own ordered record of every transition the engine committed):
 *
 * - doubleResults: a step whose result was committed twice, i.e. two terminal
 *   events (`step.succeeded|failed|skipped`) for one step in one job attempt, or
 *   two `step.succeeded` for one step over all attempts (a success is reused by
 *   later attempts, never re-run);
 * - concurrentStarts: a step started again with no new claim of its job in
 *   between (`job.started`), i.e. by a holder whose claim was still current;
 * - doubleJobEnds / runEnds: a job (or the run) finished more than once;
 * - reclaims: claims of an attempt beyond its first (an SQS redelivery took over
 *   a lapsed lease); leaseExpired: retries the reaper made for a lapsed lease.
 */
export interface RunCheck {
  doubleResults: string[];
  concurrentStarts: string[];
  doubleJobEnds: string[];
  runEnds: number;
  reclaims: number;
  leaseExpired: number;
}

type Event = Record<string, string | undefined>;

const STEP_END = new Set(['step.succeeded', 'step.failed', 'step.skipped']);
const JOB_END = new Set(['job.succeeded', 'job.failed', 'job.skipped', 'job.cancelled']);
const RUN_END = new Set(['run.succeeded', 'run.failed', 'run.cancelled']);

const bump = (m: Map<string, number>, k: string) => {
  const n = (m.get(k) ?? 0) + 1;
  m.set(k, n);
  return n;
};

function attemptOf(data: string | undefined): number {
  try {
    return Number((JSON.parse(data ?? '{}') as { attempt?: number }).attempt ?? 0);
  } catch {
    return 0;
  }
}

export function checkRunEvents(events: Event[]): RunCheck {
  const out: RunCheck = {
    doubleResults: [],
    concurrentStarts: [],
    doubleJobEnds: [],
    runEnds: 0,
    reclaims: 0,
    leaseExpired: 0,
  };
  const attempt = new Map<string, number>();
  const open = new Set<string>();
  const resultsPerAttempt = new Map<string, number>();
  const successes = new Map<string, number>();
  const claims = new Map<string, number>();
  const jobEnds = new Map<string, number>();

  for (const e of events) {
    const job = e.job ?? '';
    const step = `${job}/${e.step ?? ''}`;
    if (e.type === 'job.started') {
      const n = attemptOf(e.data);
      attempt.set(job, n);
      if (bump(claims, `${job}#${n}`) > 1) out.reclaims++;
      // A new claim fences off whatever the previous holder had started.
      for (const k of [...open]) if (k.startsWith(`${job}/`)) open.delete(k);
    } else if (e.type === 'step.started') {
      if (open.has(step)) out.concurrentStarts.push(step);
      open.add(step);
    } else if (e.type && STEP_END.has(e.type)) {
      open.delete(step);
      const perAttempt = `${job}#${attempt.get(job) ?? 0}/${e.step ?? ''}`;
      if (bump(resultsPerAttempt, perAttempt) > 1)
        out.doubleResults.push(`${perAttempt} ${e.type}`);
      if (e.type === 'step.succeeded' && bump(successes, step) > 1)
        out.doubleResults.push(`${step} succeeded again`);
    } else if (e.type && JOB_END.has(e.type)) {
      if (bump(jobEnds, job) > 1) out.doubleJobEnds.push(job);
    } else if (e.type === 'job.retrying') {
      if (e.data?.includes('"LEASE_EXPIRED"')) out.leaseExpired++;
    } else if (e.type && RUN_END.has(e.type)) {
      out.runEnds++;
    }
  }
  return out;
}
