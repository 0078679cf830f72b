import { log } from '../../log.js';
import type { Concurrency } from '../../spec/schema.js';
import { type ConcurrencyWait, memberOf } from '../model.js';
import { type ConcurrencyDeps, runIdsOf } from './concurrency.js';
import { cancelAndFinish } from './finish.js';

/**
 * Take a concurrency slot for a run (no `jobKey`) or a job, or join the line. With
 * `cancelInProgress`, a newcomer that must wait cancels the runs holding the slots or
 * waiting ahead of it; it gets a slot when they end. (At job level too it is their
 * runs that are cancelled.) Apart from concurrency.ts because a cancel ends runs,
 * and a run's end releases slots there.
 */
export async function acquire(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
  jobKey: string | undefined,
  group: string,
  policy: Pick<Concurrency, 'limit' | 'cancelInProgress'>,
  now: number,
): Promise<{ granted: true } | { granted: false; waitingFor: ConcurrencyWait }> {
  const member = memberOf(runId, jobKey);
  // Noted before taken: a crash in between leaves a note whose release is a no-op.
  await deps.runs.addMembership(tenant, runId, group, member);
  const answer = await deps.concurrency.acquire(
    tenant,
    group,
    member,
    policy.limit,
    now,
    policy.cancelInProgress,
  );
  if (answer.granted) return answer;
  const heldBy = runIdsOf(answer.holders);
  if (policy.cancelInProgress) {
    // The newest supersedes everyone before it: the holders and those in line ahead,
    // read in one step (a grant between two reads would hide the one it moved).
    const before = [...answer.holders, ...answer.ahead];
    for (const other of runIdsOf(before).filter((id) => id !== runId)) {
      await cancelAndFinish(deps, tenant, other, now, {
        finalStatus: 'cancelled',
        error: {
          code: 'CANCELLED',
          message: 'cancelled in favour of a newer run (cancelInProgress)',
        },
        reason: 'cancelInProgress',
      });
      log.info({ runId: other }, 'run cancelled in favour of a newer one');
    }
  }
  return {
    granted: false,
    waitingFor: { kind: 'concurrency', group, heldBy, position: answer.position },
  };
}
