import type { JobQueue } from '../../queue/sqs-queue.js';
import type { ConcurrencyStore } from '../../store/concurrency-store.js';
import { jobKeyOf } from '../../store/job-fields.js';
import type { RunSnapshot, RunStore } from '../../store/run-store.js';
import { afterGrant, endedJobsToRelease, releasedBy, type SlotEvent } from '../decide/slots.js';
import { type ConcurrencyWait, memberOf } from '../model.js';

/**
 * Concurrency groups (SPEC.md): a run (workflow level) or a job (job level) holds
 * one of `limit` slots of its group, waiting jobs and runs line up FIFO, and
 * `cancelInProgress` cancels the holders in favour of the newcomer. When a slot is
 * held or released is decided in one place, `decide/slots.ts`; this module does
 * the Redis work: each release wakes the members it granted. Taking a slot is in
 * acquire.ts: it may cancel other runs, whose end releases slots here.
 */
export interface ConcurrencyDeps {
  runs: RunStore;
  concurrency: ConcurrencyStore;
  queue: JobQueue;
}

function parseMember(member: string): { runId: string; jobKey?: string } {
  const slash = member.indexOf('/');
  return slash < 0
    ? { runId: member }
    : { runId: member.slice(0, slash), jobKey: member.slice(slash + 1) };
}

/** The runs of these members, each once. */
export const runIdsOf = (members: string[]) => [
  ...new Set(members.map((m) => parseMember(m).runId)),
];

/** A group name is an evaluated expression: anything becomes its text. */
export function groupName(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
  return text.slice(0, 256);
}

/** Release one member's slot (or place in line) and wake whoever it granted. */
export async function release(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
  group: string,
  member: string,
  now: number,
): Promise<void> {
  const granted = await deps.concurrency.release(tenant, group, member, now);
  await deps.runs.dropMembership(tenant, runId, group, member);
  for (const next of granted) await wake(deps, tenant, group, next, now);
}

/**
 * Apply the slot rule of `event` (decide/slots.ts) to a run or one of its jobs:
 * release nothing, the job's memberships, or all of the run's. Idempotent.
 */
export async function onSlotEvent(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
  jobKey: string | undefined,
  event: SlotEvent,
  now: number,
): Promise<void> {
  const scope = releasedBy(event);
  if (scope === 'all') await releaseAll(deps, tenant, runId, now);
  else if (scope === 'job' && jobKey !== undefined)
    await jobEnded(deps, tenant, runId, jobKey, now);
}

/** Free a job's slot or place in line (the rule `job-finished`). */
async function jobEnded(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
  jobKey: string,
  now: number,
) {
  const member = memberOf(runId, jobKey);
  for (const m of await deps.runs.memberships(tenant, runId)) {
    if (m.member === member) await release(deps, tenant, runId, m.group, member, now);
  }
}

/**
 * A cancel ends a run's queued and waiting jobs at once but the run goes on until its
 * running jobs stop: the jobs it ended free their slots now (`job-finished`), not
 * when the run ends. The jobs hash is read only when a job holds a membership.
 */
export async function releaseEndedJobs(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
  now: number,
): Promise<void> {
  const held = (await deps.runs.memberships(tenant, runId)).flatMap((m) => {
    const { jobKey } = parseMember(m.member);
    return jobKey === undefined ? [] : [{ ...m, jobKey }];
  });
  if (held.length === 0) return;
  const { jobs } = await deps.runs.reapView(tenant, runId);
  const ended = new Set(
    endedJobsToRelease(
      held.map((m) => m.jobKey),
      jobs,
    ),
  );
  for (const m of held) {
    if (ended.has(m.jobKey)) await release(deps, tenant, runId, m.group, m.member, now);
  }
}

/** Free every slot and place in line a run still has (the rule `run-ended`). */
async function releaseAll(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
  now: number,
): Promise<void> {
  for (const m of await deps.runs.memberships(tenant, runId)) {
    await release(deps, tenant, runId, m.group, m.member, now);
  }
}

/**
 * A member was granted a slot: let it go on. A run's gate is lifted and its queued
 * jobs sent; a waiting job is queued again. A member that has ended meanwhile
 * gives the slot straight back; one not yet parked will see its grant itself
 * (the executor asks again right after parking).
 */
async function wake(
  deps: ConcurrencyDeps,
  tenant: string,
  group: string,
  member: string,
  now: number,
) {
  const { runId, jobKey } = parseMember(member);
  if (jobKey === undefined) {
    const tasks = await deps.runs.ungateRun(tenant, runId);
    if (tasks.length > 0) await deps.queue.send(tasks);
    const [status] = (await deps.runs.runFields(tenant, [runId], ['status']))[0] ?? [];
    if (afterGrant('run', status) === 'release') {
      await release(deps, tenant, runId, group, member, now);
    }
    return;
  }
  const woken = await deps.runs.wakeJob(tenant, runId, jobKey, now);
  if ('token' in woken) {
    await deps.queue.send([woken]);
  } else if (afterGrant('job', woken.status) === 'release') {
    await release(deps, tenant, runId, group, member, now);
  }
}

/** The reaper's check of a member that waits: ask again (idempotent); wake it if granted. */
export async function recheck(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
  jobKey: string | undefined,
  group: string,
  now: number,
): Promise<boolean> {
  const member = memberOf(runId, jobKey);
  // The crash this re-check repairs may have come before the membership was noted.
  await deps.runs.addMembership(tenant, runId, group, member);
  const answer = await deps.concurrency.acquire(tenant, group, member, undefined, now);
  if (answer.granted) await wake(deps, tenant, group, member, now);
  return answer.granted;
}

/** Where each waiting member of a run stands now, by member: for the run document. */
export async function currentWaits(
  concurrency: ConcurrencyStore,
  tenant: string,
  snap: RunSnapshot,
): Promise<Map<string, ConcurrencyWait>> {
  const waits = new Map<string, ConcurrencyWait>();
  const runId = snap.run.id ?? '';
  const pending: [string, string][] = [];
  if (snap.run.gate) pending.push([memberOf(runId), snap.run.gate]);
  for (const [field, value] of Object.entries(snap.jobs)) {
    const jobKey = jobKeyOf(field, 'waitingFor');
    if (jobKey === undefined) continue;
    const wait = JSON.parse(value) as Partial<ConcurrencyWait>;
    if (wait.kind === 'concurrency' && wait.group) {
      pending.push([memberOf(runId, jobKey), wait.group]);
    }
  }
  await Promise.all(
    pending.map(async ([member, group]) => {
      const { position, holders } = await concurrency.peek(tenant, group, member);
      waits.set(member, { kind: 'concurrency', group, heldBy: runIdsOf(holders), position });
    }),
  );
  return waits;
}
