import { decodeTime } from 'ulidx';
import { type JobTask, withPriority } from '../../queue/message.js';
import { hasEnded } from '../model.js';

/** What the reaper does about one run; decided purely from its hashes. */
export type ReapAction =
  | { kind: 'forget' }
  | { kind: 'half-written' }
  | { kind: 'timeout' }
  | { kind: 'resend'; task: JobTask }
  | { kind: 'expire'; jobKey: string; fence: string; attempt: number }
  | { kind: 'recheck'; group: string; jobKey?: string };

/**
 * Decide what a run needs from the schedule tick:
 * - finished (or gone, past a grace period): forget it from the active index;
 * - a run hash without jobs (a create script that failed after its first write),
 *   past the grace period: end it failed;
 * - past its `timeoutMs`: time it out (once: not while a cancel is under way);
 * - a job queued with no claim for `requeueAfterMs` (a lost send, or a crash between
 *   commit and send): send its task again — the dispatch token drops a duplicate;
 * - a job running on a lapsed lease (Lambda killed or timed out): expire it, which
 *   retries per policy or fails it with LEASE_EXPIRED;
 * - a job waiting past its `wakeAt` (sleep end, wait timeout) by `requeueAfterMs`:
 *   its wake-up was lost, send it again;
 * - a run gated on its concurrency slot, or a job waiting for one: ask again, which
 *   repairs a grant whose wake-up was lost to a crash (its queued jobs are not
 *   resent: claims refuse them until the gate lifts).
 */
export function decideReap(
  ref: { tenant: string; runId: string },
  run: Record<string, string>,
  jobs: Record<string, string>,
  now: number,
  requeueAfterMs: number,
): ReapAction[] {
  // Admission writes the indexes before the run (run-store.ts createRun): a run not
  // (fully) there may still be being written, until the grace period has passed.
  const settled = createdAt(ref.runId) + requeueAfterMs < now;
  if (!run.status) return settled ? [{ kind: 'forget' }] : [];
  if (hasEnded(run.status)) return [{ kind: 'forget' }];
  if (!Object.keys(jobs).some((f) => f.startsWith('status:'))) {
    return settled ? [{ kind: 'half-written' }] : [];
  }
  const actions: ReapAction[] = [];
  if (run.timeoutAt && Number(run.timeoutAt) < now && !run.cancelRequested)
    actions.push({ kind: 'timeout' });
  if (run.gate) actions.push({ kind: 'recheck', group: run.gate });
  for (const [field, status] of Object.entries(jobs)) {
    if (!field.startsWith('status:')) continue;
    const jobKey = field.slice('status:'.length);
    const attempt = Number(jobs[`attempt:${jobKey}`]);
    const waitingFor = jobs[`waitingFor:${jobKey}`];
    const wakeAt = Number(jobs[`wakeAt:${jobKey}`] ?? Number.POSITIVE_INFINITY);
    if (status === 'waiting' && wakeAt + requeueAfterMs < now) {
      // Its wake-up (a delayed message or a timer) was lost: send it again.
      actions.push({ kind: 'resend', task: taskOf(ref, jobs, jobKey, attempt) });
    } else if (status === 'waiting' && waitingFor) {
      const wait = JSON.parse(waitingFor) as { kind?: string; group?: string };
      if (wait.kind === 'concurrency' && wait.group) {
        actions.push({ kind: 'recheck', group: wait.group, jobKey });
      }
    } else if (
      status === 'queued' &&
      !run.gate &&
      Number(jobs[`queuedAt:${jobKey}`]) + requeueAfterMs < now
    ) {
      actions.push({ kind: 'resend', task: taskOf(ref, jobs, jobKey, attempt) });
    } else if (status === 'running' && Number(jobs[`lease:${jobKey}`] ?? 0) < now) {
      actions.push({ kind: 'expire', jobKey, fence: jobs[`fence:${jobKey}`] ?? '', attempt });
    }
  }
  return actions;
}

/** When a run id was made (ULID time); 0 for an id that is not one. */
function createdAt(runId: string): number {
  try {
    return decodeTime(runId.slice('run_'.length));
  } catch {
    return 0;
  }
}

/** The task that claims the job now: its current dispatch token. */
function taskOf(
  ref: { tenant: string; runId: string },
  jobs: Record<string, string>,
  jobKey: string,
  attempt: number,
): JobTask {
  return {
    tenant: ref.tenant,
    runId: ref.runId,
    jobKey,
    attempt,
    token: jobs[`token:${jobKey}`] ?? '',
    ...withPriority(jobs[`prio:${jobKey}`]),
  };
}
