import type { JobTask } from '../../queue/message.js';
import type { JobQueue } from '../../queue/sqs-queue.js';
import type { RunStore } from '../../store/run-store.js';

type Resolved = Awaited<ReturnType<RunStore['resolveWait']>>;

/** Why nothing was woken, as the store says, or 'woken': the job was sent on. */
export type WakeOutcome = Exclude<Resolved, JobTask> | 'woken';

/**
 * Resolve what a run's job waits for (an approval decided, a signal sent, a child
 * run ended) and send the woken job on. When no job waits for it, the store's
 * answer says why: a signal is 'kept' for a step that waits later; 'not-waiting',
 * 'finished', 'missing' or 'full' (too many kept signals) wake nothing.
 */
export async function resolveWait(
  deps: { runs: RunStore; queue: JobQueue },
  tenant: string,
  runId: string,
  wait: Parameters<RunStore['resolveWait']>[2],
  resolution: unknown,
  event: { type: string; data: unknown },
  now: number,
): Promise<WakeOutcome> {
  const out = await deps.runs.resolveWait(tenant, runId, wait, resolution, event, now);
  if (typeof out === 'string') return out;
  await deps.queue.send([out]);
  return 'woken';
}
