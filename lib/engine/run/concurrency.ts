import type { JobQueue } from '../../queue/sqs-queue.js';
import type { ConcurrencyStore } from '../../store/concurrency-store.js';
import type { RunSnapshot, RunStore } from '../../store/run-store.js';
import { hasEnded, memberOf, type WaitingFor } from '../model.js';

/**
 * Concurrency groups (SPEC.md): a run (workflow level) or a job (job level) holds
 * one of `limit` slots of its group while it lives, waiting jobs and runs line up
 * FIFO, and `cancelInProgress` cancels the holders in favour of the newcomer.
 * Slots are released when the holder ends — by the executor, the cancel API, or
 * the reaper when a run finished without releasing (crash) — and each release
 * wakes the members it granted. Taking a slot is in acquire.ts: it may cancel
 * other runs, whose end releases slots here.
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

/** A job-level holder ended (or will retry later): free its slot. */
export async function jobEnded(
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

/** A run finished: free every slot and place in line it still has (idempotent). */
export async function releaseAll(
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
    if (!status || hasEnded(status)) {
      await release(deps, tenant, runId, group, member, now);
    }
    return;
  }
  const woken = await deps.runs.wakeJob(tenant, runId, jobKey, now);
  if ('token' in woken) {
    await deps.queue.send([woken]);
  } else if (['succeeded', 'failed', 'skipped', 'cancelled', ''].includes(woken.status)) {
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
): Promise<Map<string, WaitingFor>> {
  const waits = new Map<string, WaitingFor>();
  const runId = snap.run.id ?? '';
  const pending: [string, string][] = [];
  if (snap.run.gate) pending.push([memberOf(runId), snap.run.gate]);
  for (const [field, value] of Object.entries(snap.jobs)) {
    if (!field.startsWith('waitingFor:')) continue;
    const wait = JSON.parse(value) as Partial<WaitingFor>;
    if (wait.kind === 'concurrency' && wait.group) {
      pending.push([memberOf(runId, field.slice('waitingFor:'.length)), wait.group]);
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
