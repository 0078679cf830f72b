import { log } from '../../log.js';
import { onSlotEvent } from '../run/concurrency.js';
import type { JobRun } from './job-run.js';

/**
 * The requeue transition: the next step would not fit in this invocation
 * (decide/checkpoint.ts), so the job gives up its claim and is sent again at once,
 * to go on in a fresh invocation from the steps it committed.
 */
export async function checkpoint(run: Pick<JobRun, 'deps' | 'task' | 'claim' | 'now'>) {
  const { deps, task } = run;
  const next = await deps.runs.requeueJob(task, run.claim.fence, run.now());
  // The slot rule of a checkpoint (decide/slots.ts): the job keeps its slot.
  await onSlotEvent(deps, task.tenant, task.runId, task.jobKey, 'job-checkpointed', run.now());
  if (next) await deps.queue.send([next]);
  const ids = { runId: task.runId, job: task.jobKey, attempt: task.attempt };
  log.info(ids, 'job checkpointed: the next step would not fit in this invocation');
}
