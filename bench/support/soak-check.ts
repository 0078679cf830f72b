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
 * - reclaims: claims of an attempt beyond its first while the claim before it
 *   was still open (an SQS redelivery took over a lapsed lease); a claim after
 *   the job waited (`job.waiting`: sleep, concurrency slot) or was queued again
 *   (`job.queued`: woken, checkpointed) is a new dispatch, not a reclaim;
 *   leaseExpired: retries the reaper made for a lapsed lease.
 *
 * Further down, the checks of flow control: `slotHoldings` + `checkGroups`
 * (concurrency groups over their limit, across runs), `checkMatrix` (a matrix job
 * past `maxParallel`, within a run) and `checkSleeps` (a job claimed again before
 * its sleep's end).
 */
export interface RunCheck {
  doubleResults: string[];
  concurrentStarts: string[];
  doubleJobEnds: string[];
  runEnds: number;
  reclaims: number;
  leaseExpired: number;
}

/** An event's fields, with its stream id under `id` when the caller has it. */
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
  /** Jobs whose claim was handed back (they waited or were queued again). */
  const handedBack = new Set<string>();

  for (const e of events) {
    const job = e.job ?? '';
    const step = `${job}/${e.step ?? ''}`;
    if (e.type === 'job.started') {
      const n = attemptOf(e.data);
      attempt.set(job, n);
      if (bump(claims, `${job}#${n}`) > 1 && !handedBack.has(job)) out.reclaims++;
      handedBack.delete(job);
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
    } else if (e.type === 'job.waiting' || e.type === 'job.queued') {
      handedBack.add(job);
    } else if (e.type === 'job.retrying') {
      if (e.data?.includes('"LEASE_EXPIRED"')) out.leaseExpired++;
    } else if (e.type && RUN_END.has(e.type)) {
      out.runEnds++;
    }
  }
  return out;
}

// ── Concurrency groups, matrix limits, sleeps ──────────────────────────────────
//
// Time of an event: the millisecond part of its stream id when it has one (Redis'
// clock when the script that wrote it ran: one clock for every run's stream, and
// the order in which Redis executed the transitions), else its `at` (the caller's
// clock when it made the call, which can be earlier than the script ran).

export function eventTime(e: Event): number {
  const ms = /^(\d+)-\d+$/.exec(e.id ?? '')?.[1];
  return ms !== undefined ? Number(ms) : Number(e.at ?? Number.NaN);
}

/** Which concurrency groups a run's members belong to (from its spec). */
export interface RunSlots {
  /** Workflow-level group of the run, if any. */
  workflowGroup?: string;
  /** Job key → job-level group, for the jobs that have one. */
  jobGroups?: Record<string, string>;
}

/** One member's hold on a slot of its group, as the run's events bound it. */
export interface Holding {
  group: string;
  /** `<runId>` (workflow level) or `<runId>/<jobKey>` (job level), as the engine names it. */
  member: string;
  runId: string;
  from: number;
  to: number;
}

/**
 * The slots a run held, each bounded from inside the span in which the engine held
 * it, so an overlap of these spans is an overlap of real holds:
 * - the run's workflow-level slot, from its first `job.started` (claims are refused
 *   while the run is gated, and the gate lifts only after the grant) to its
 *   `run.<final>` event (slots are released after the finish);
 * - a job's job-level slot, from its first `step.started` (written after the grant;
 *   the claim before it can precede the grant: a claim that must wait suspends) to
 *   its last job end event (the slot is released after the finish; a retry keeps it).
 * A run or job that never ended holds until `openUntil` (the time of the check).
 */
export function slotHoldings(
  runId: string,
  events: Event[],
  slots: RunSlots,
  openUntil: number,
): Holding[] {
  const out: Holding[] = [];
  let runFrom: number | undefined;
  let runTo: number | undefined;
  const jobFrom = new Map<string, number>();
  const jobTo = new Map<string, number>();
  for (const e of events) {
    const t = eventTime(e);
    const job = e.job ?? '';
    if (e.type === 'job.started') runFrom ??= t;
    else if (e.type && RUN_END.has(e.type)) runTo ??= t;
    else if (e.type === 'step.started' && slots.jobGroups?.[job] && !jobFrom.has(job))
      jobFrom.set(job, t);
    else if (e.type && JOB_END.has(e.type) && slots.jobGroups?.[job]) jobTo.set(job, t);
  }
  if (slots.workflowGroup && runFrom !== undefined) {
    out.push({
      group: slots.workflowGroup,
      member: runId,
      runId,
      from: runFrom,
      to: runTo ?? openUntil,
    });
  }
  for (const [job, from] of jobFrom) {
    const group = slots.jobGroups?.[job] as string;
    out.push({ group, member: `${runId}/${job}`, runId, from, to: jobTo.get(job) ?? openUntil });
  }
  return out;
}

export interface GroupCheck {
  /** Group → the most members holding at one moment. */
  peak: Record<string, number>;
  /** Run ids that held a slot at a moment their group had more holders than its limit. */
  overRuns: string[];
  /** One line per moment a group went over its limit: when, and who held. */
  overMoments: string[];
}

/**
 * Sweep each group's holds in time: a hold covers [from, to), so one that ends in
 * the millisecond another begins does not overlap it (the stream's times are whole
 * milliseconds, and a release and the next grant can share one).
 */
export function checkGroups(holdings: Holding[], limits: Record<string, number>): GroupCheck {
  const out: GroupCheck = { peak: {}, overRuns: [], overMoments: [] };
  const over = new Set<string>();
  const byGroup = new Map<string, Holding[]>();
  for (const h of holdings) byGroup.set(h.group, [...(byGroup.get(h.group) ?? []), h]);
  for (const [group, hs] of byGroup) {
    const limit = limits[group] ?? Number.POSITIVE_INFINITY;
    // Ends before starts at one time; zero-length holds cover nothing.
    const edges = hs
      .filter((h) => h.to > h.from)
      .flatMap((h) => [
        { t: h.from, start: true, h },
        { t: h.to, start: false, h },
      ])
      .sort((a, b) => a.t - b.t || Number(a.start) - Number(b.start));
    const live = new Set<Holding>();
    let peak = 0;
    let reported = false;
    for (const edge of edges) {
      if (!edge.start) {
        live.delete(edge.h);
        if (live.size <= limit) reported = false;
        continue;
      }
      live.add(edge.h);
      peak = Math.max(peak, live.size);
      if (live.size > limit) {
        for (const h of live) over.add(h.runId);
        // One line per excursion over the limit, not per newcomer during it.
        if (!reported) {
          out.overMoments.push(
            `${group} (limit ${limit}) had ${live.size} holders at ${new Date(edge.t).toISOString()}: ${[...live].map((h) => h.member).join(', ')}`,
          );
          reported = true;
        }
      }
    }
    out.peak[group] = peak;
  }
  out.overRuns = [...over];
  return out;
}

export interface MatrixCheck {
  /** Matrix group → the most instances live at once (queued, running or waiting). */
  peak: Record<string, number>;
  /** One line per moment a group had more live instances than its maxParallel. */
  over: string[];
}

/**
 * A matrix job's `maxParallel` within one run, in stream order (the order Redis ran
 * the transitions): an instance is live from its first `job.queued`/`job.started`
 * (a retry keeps it live) to its job end event, as the engine's finish script counts
 * it (queued, running and waiting instances take room).
 */
export function checkMatrix(
  events: Event[],
  groups: Record<string, { instances: string[]; maxParallel: number }>,
): MatrixCheck {
  const out: MatrixCheck = { peak: {}, over: [] };
  const groupOf = new Map<string, string>();
  for (const [g, { instances }] of Object.entries(groups))
    for (const i of instances) groupOf.set(i, g);
  const live = new Map<string, Set<string>>();
  const ended = new Set<string>();
  for (const e of events) {
    const job = e.job ?? '';
    const group = groupOf.get(job);
    if (!group) continue;
    const set = live.get(group) ?? new Set<string>();
    live.set(group, set);
    if ((e.type === 'job.queued' || e.type === 'job.started') && !ended.has(job)) {
      if (set.has(job)) continue;
      set.add(job);
      out.peak[group] = Math.max(out.peak[group] ?? 0, set.size);
      const max = groups[group]?.maxParallel ?? Number.POSITIVE_INFINITY;
      if (set.size > max)
        out.over.push(`${group} (maxParallel ${max}) had ${set.size} live: ${[...set].join(', ')}`);
    } else if (e.type && JOB_END.has(e.type)) {
      set.delete(job);
      ended.add(job);
    }
  }
  return out;
}

export interface SleepCheck {
  /** Suspensions for a sleep (`job.waiting` of kind sleep). */
  sleeps: number;
  /** A job claimed again (`job.started`) before the end of the sleep it waits in. */
  earlyWakes: string[];
  /** Per woken sleep: ms from its end to the claim that woke it. */
  lateMs: number[];
}

/** Sleeps: each `job.waiting` `{kind: sleep, until}` against the job's next `job.started`. */
export function checkSleeps(events: Event[]): SleepCheck {
  const out: SleepCheck = { sleeps: 0, earlyWakes: [], lateMs: [] };
  const asleep = new Map<string, number>();
  for (const e of events) {
    const job = e.job ?? '';
    if (e.type === 'job.waiting') {
      let wait: { kind?: string; until?: string } = {};
      try {
        wait = JSON.parse(e.data ?? '{}');
      } catch {}
      if (wait.kind !== 'sleep') continue;
      out.sleeps++;
      asleep.set(job, Date.parse(wait.until ?? ''));
    } else if (e.type === 'job.started' && asleep.has(job)) {
      const until = asleep.get(job) as number;
      asleep.delete(job);
      const t = eventTime(e);
      if (t < until) out.earlyWakes.push(`${job} claimed ${until - t} ms before its sleep's end`);
      else out.lateMs.push(t - until);
    }
  }
  return out;
}
