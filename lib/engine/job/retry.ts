import { log } from '../../log.js';
import type { JobTask } from '../../queue/message.js';
import type { FinishedStep, SettleMode } from '../../store/run-store.js';
import type { JobOutcome } from '../model.js';
import { dispatchAt } from '../run/dispatch.js';
import type { ExecuteDeps } from './deps.js';

/**
 * The retry transition: the failed attempt is written (with its last step's result)
 * and the next attempt is queued when it is due (decide/retry.ts says when).
 * 'cancelling' when the run is being cancelled (nothing was written: the job is
 * finished cancelled instead); 'stale' when a newer claim holds the job.
 */
export async function retryJob(
  deps: Pick<ExecuteDeps, 'runs' | 'queue' | 'now'>,
  task: Pick<JobTask, 'tenant' | 'runId' | 'jobKey' | 'attempt'>,
  fence: string,
  outcome: JobOutcome,
  next: { dueAt: number; delayMs: number },
  mode: SettleMode,
  last: FinishedStep | undefined,
): Promise<'retrying' | 'cancelling' | 'stale'> {
  const now = deps.now ?? Date.now;
  const error = JSON.stringify(outcome.error);
  const queued = await deps.runs.retryJob(task, fence, error, next.dueAt, now(), mode, last);
  if (queued === undefined) return 'stale';
  if (queued === 'cancelling') return 'cancelling';
  await dispatchAt(deps, queued, next.dueAt, now());
  const ids = { runId: task.runId, job: task.jobKey, attempt: task.attempt };
  log.info({ ...ids, delayMs: next.delayMs, error: outcome.error?.code }, 'job retrying');
  return 'retrying';
}
