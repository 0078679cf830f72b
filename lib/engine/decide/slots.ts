import { jobField } from '../../store/job-fields.js';

/**
 * The concurrency slot rules (SPEC.md "Concurrency"), written once. Pure: the
 * callers ask here and do the Redis work themselves through run/concurrency.ts
 * (`onSlotEvent`, `releaseEndedJobs`) and the acquire-slot / release-slot scripts:
 * job/settle.ts (finish, retry; also the reaper's lapsed leases and dead letters),
 * job/suspend.ts, job/checkpoint.ts, run/finish.ts (a run's end, a cancel), and
 * the grant's wake-up in run/concurrency.ts.
 *
 * A member of a group is a run (workflow-level `concurrency`) or one job of a run
 * (job-level). It either holds one of the group's `limit` slots or waits in its
 * FIFO line. To release is to leave the group, slot or line: the release-slot
 * script then hands each freed slot to the head of the line, in arrival order,
 * and the caller wakes the members it granted. There is no other hand-over.
 *
 * The rules, event × scope (the table is `SLOT_RULES`):
 *
 * | event             | run's slot | job's slot | why |
 * |-------------------|------------|------------|-----|
 * | job-finished      | hold       | release    | SPEC: a job releases its slot when it finishes (succeeded, failed, skipped, cancelled). A lease that expired with no retries left and a dead letter finish the job too. The run goes on, so it keeps its own slot. |
 * | job-retrying      | hold       | hold       | A retry is not a finish: the job has not ended, its next attempt is due after the backoff. Releasing would let another run's job in between two attempts of this one (a half-deployed target) and put this job at the back of the line. A lease that expired with retries left retries the same way. |
 * | job-suspended     | hold       | hold       | SPEC: a run or job keeps its slot while it waits (sleep, approval, signal, child workflow). A job waiting in line keeps its place. |
 * | job-checkpointed  | hold       | hold       | The job goes on in a new invocation; nothing ended. |
 * | run-cancelling    | hold       | hold       | A cancel was asked but jobs are still running: the run has not ended until they stop, and the newcomer (cancelInProgress too) gets the slot when it has. Jobs the cancel ended at once are `job-finished`. |
 * | run-ended         | release    | release    | Succeeded, failed, cancelled, timed out, superseded (cancelInProgress), cancelled with its parent: everything the run held or waited for is freed, once, whoever ends it (the finisher, the cancel, or the reaper for a finisher that died). |
 * | granted-to-ended  | release    | release    | A grant reached a member that has ended meanwhile (or is gone): it gives the slot straight back, which hands it to the next in line. |
 *
 * Not events of their own: a lease reaped by the tick settles the job like its
 * executor would (`job-retrying` or `job-finished`, by its retry policy); a dead
 * letter is `job-finished`; a child run holds its own slots, not its parent's,
 * and the parent's job that waits for it is `job-suspended`.
 *
 * Settled when the rules were written down here (they were spread over eight files):
 * a comment said a job-level holder frees its slot when it "will retry later" while
 * the retry branch kept it — SPEC keeps a slot until the job finishes, and a retry
 * is not a finish, so it is kept; a cancel left the slots of the jobs it ended at
 * once held until the run's running jobs stopped — they finished, so they release;
 * and "ended" was two different lists for runs and jobs — it is `memberHasEnded`.
 */

export type SlotScope = 'run' | 'job';

export type SlotEvent =
  | 'job-finished'
  | 'job-retrying'
  | 'job-suspended'
  | 'job-checkpointed'
  | 'run-cancelling'
  | 'run-ended'
  | 'granted-to-ended';

export type SlotAction = 'hold' | 'release';

export const SLOT_RULES: Readonly<Record<SlotEvent, Readonly<Record<SlotScope, SlotAction>>>> = {
  'job-finished': { run: 'hold', job: 'release' },
  'job-retrying': { run: 'hold', job: 'hold' },
  'job-suspended': { run: 'hold', job: 'hold' },
  'job-checkpointed': { run: 'hold', job: 'hold' },
  'run-cancelling': { run: 'hold', job: 'hold' },
  'run-ended': { run: 'release', job: 'release' },
  'granted-to-ended': { run: 'release', job: 'release' },
};

export const slotAction = (event: SlotEvent, scope: SlotScope): SlotAction =>
  SLOT_RULES[event][scope];

/**
 * Which of a run's memberships an event about one of its jobs (or the run) frees:
 * none, the memberships of that job, or all of the run's (its own and its jobs').
 */
export function releasedBy(event: SlotEvent): 'none' | 'job' | 'all' {
  const rule = SLOT_RULES[event];
  if (rule.run === 'release') return 'all';
  return rule.job === 'release' ? 'job' : 'none';
}

/** How a settle ended: `retrying` (a next attempt is queued) or `finished`, and whether the run ended with it. */
export function settleEvent(settled: 'retrying' | 'finished', runEnded: boolean): SlotEvent {
  if (runEnded) return 'run-ended';
  return settled === 'retrying' ? 'job-retrying' : 'job-finished';
}

/** The statuses after which a member holds nothing: a job's or run's end, or '' (gone). */
const ENDED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'skipped', '']);

export const memberHasEnded = (status: string | null | undefined): boolean =>
  ENDED.has(status ?? '');

/**
 * A grant reached a member whose status is now `status` (read after the wake-up was
 * tried): an ended member gives the slot back; any other keeps it — a waiting one
 * was just woken, a running one has not parked yet and sees its grant itself when
 * it asks again after suspending.
 */
export const afterGrant = (scope: SlotScope, status: string | null | undefined): SlotAction =>
  memberHasEnded(status) ? slotAction('granted-to-ended', scope) : 'hold';

/**
 * A run that goes on (a cancel under way, its running jobs not yet stopped): those
 * of `jobKeys` whose job has ended in `jobs` (the jobs hash) free their slots, as
 * any finished job does (`job-finished`). A job the hash does not show is left alone.
 */
export function endedJobsToRelease(
  jobKeys: readonly string[],
  jobs: Record<string, string>,
): string[] {
  if (releasedBy('job-finished') !== 'job') return [];
  return jobKeys.filter((job) => {
    const status = jobs[jobField('status', job)];
    return status !== undefined && memberHasEnded(status);
  });
}

/**
 * Whether a job may hold a job-level slot, so its finish must look for one: a job
 * with `concurrency`, or one whose spec is unknown (a dead letter).
 */
export const mayHoldJobSlot = (job: { concurrency?: unknown } | undefined): boolean =>
  job === undefined || job.concurrency !== undefined;
