import { log } from '../../log.js';
import { recordRunEnded } from '../../metrics.js';
import type { JobTask } from '../../queue/message.js';
import type { Job } from '../../spec/schema.js';
import type { FinishedStep, SettleMode } from '../../store/run-store.js';
import { nextAttempt } from '../decide/retry.js';
import { mayHoldJobSlot, settleEvent } from '../decide/slots.js';
import type { JobOutcome } from '../model.js';
import { onSlotEvent } from '../run/concurrency.js';
import { runFinished } from '../run/finish.js';
import type { ExecuteDeps, FinishedJob } from './deps.js';
import { cancelled } from './outcome.js';
import { retryJob } from './retry.js';

type SettleDeps = Pick<ExecuteDeps, 'runs' | 'queue' | 'concurrency' | 'now' | 'finished'>;
type SettledTask = Pick<JobTask, 'tenant' | 'runId' | 'jobKey' | 'attempt'>;

/**
 * Apply a job's outcome: a failure with retries left queues the next attempt when
 * it is due; anything else finishes the job, unblocks dependents and sends the
 * ready ones. Shared by the executor and the lease reaper (mode 'expired').
 * False when the fence was stale: someone else settled the job first.
 */
export async function settleJob(
  deps: SettleDeps,
  task: SettledTask,
  fence: string,
  outcome: JobOutcome,
  job: Job | undefined,
  mode: SettleMode,
  last?: FinishedStep,
): Promise<boolean> {
  const now = deps.now ?? Date.now;
  let final = outcome;
  const next =
    outcome.status === 'failed'
      ? nextAttempt(job?.retries, task.attempt, outcome.error, now())
      : undefined;
  if (next) {
    const retried = await retryJob(deps, task, fence, outcome, next, mode, last);
    if (retried === 'retrying') {
      // The slot rule of a retry (decide/slots.ts): the job keeps its slot.
      const event = settleEvent('retrying', false);
      await onSlotEvent(deps, task.tenant, task.runId, task.jobKey, event, now());
    }
    if (retried !== 'cancelling') return retried === 'retrying';
    // A retry that found the run cancelling wrote nothing: the finish writes the step.
    final = cancelled();
  }
  return finishJob(deps, task, fence, final, job, mode, last);
}

/** The finish transition, then what it sets off: ready dependents, slots, the run's end. */
async function finishJob(
  deps: SettleDeps,
  task: SettledTask,
  fence: string,
  outcome: JobOutcome,
  job: Job | undefined,
  mode: SettleMode,
  last: FinishedStep | undefined,
): Promise<boolean> {
  const now = deps.now ?? Date.now;
  const ids = { runId: task.runId, job: task.jobKey, attempt: task.attempt };
  const finished = await deps.runs.finishJob(
    task,
    fence,
    outcome.status,
    JSON.stringify(outcome.outputs),
    outcome.error ? JSON.stringify(outcome.error) : '',
    now(),
    mode,
    last,
  );
  if (!finished) {
    log.warn(ids, 'job finish refused: a newer claim holds the job');
    return false;
  }
  if (finished.ready.length > 0) await deps.queue.send(finished.ready);
  // The run's end releases everything it held (runFinished); a job's end, its own.
  if (!finished.runStatus && mayHoldJobSlot(job)) {
    const event = settleEvent('finished', false);
    await onSlotEvent(deps, task.tenant, task.runId, task.jobKey, event, now());
  }
  if (finished.runStatus) {
    recordRunEnded(finished.runStatus);
    await runFinished(deps, task.tenant, task.runId, now(), finished.ended);
  }
  const line: FinishedJob = { ...ids, status: outcome.status };
  if (finished.runStatus) line.runStatus = finished.runStatus;
  if (deps.finished) deps.finished(line);
  else log.info(line, 'job finished');
  return true;
}
