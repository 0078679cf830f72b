import { log } from '../../log.js';
import { type Suspension, wakeup } from '../decide/waits.js';
import { wakeIfChildEnded } from '../run/child-run.js';
import { onSlotEvent, recheck } from '../run/concurrency.js';
import { dispatchAt } from '../run/dispatch.js';
import type { JobRun } from './job-run.js';
import { cancelled } from './outcome.js';
import { settleJob } from './settle.js';

/**
 * The suspend transition: the job ends this invocation waiting (`waitingFor`), and
 * is woken as decide/waits.ts says: at once, by a timer, or by the end of what it
 * waits for. A run being cancelled finishes the job cancelled instead.
 */
export async function suspend(
  run: Pick<JobRun, 'deps' | 'task' | 'claim' | 'now'>,
  s: Suspension,
): Promise<void> {
  const { deps, task, now } = run;
  const { fence } = run.claim;
  const ids = { runId: task.runId, job: task.jobKey, waitingFor: s.waitingFor.kind };
  const out = await deps.runs.suspendJob(
    task,
    fence,
    {
      waitingFor: JSON.stringify(s.waitingFor),
      ...(s.wakeAt !== undefined ? { wakeAt: s.wakeAt } : {}),
      ...(s.signal ? { signal: s.signal } : {}),
      ...(s.event ? { event: s.event } : {}),
    },
    now(),
  );
  if (!out) {
    log.warn(ids, 'job suspension refused: a newer claim holds the job');
    return;
  }
  if (out === 'cancelling') {
    await settleJob(deps, task, fence, cancelled(), undefined, '');
    return;
  }
  // The slot rule of a wait (decide/slots.ts): the job keeps its slot, or its place in line.
  await onSlotEvent(deps, task.tenant, task.runId, task.jobKey, 'job-suspended', now());
  const wake = wakeup(s, out.queued);
  if (wake.sendNow) await deps.queue.send([out.task]);
  else if (wake.at !== undefined) await dispatchAt(deps, out.task, wake.at, now());
  if (wake.childRunId !== undefined) {
    await wakeIfChildEnded(deps, task.tenant, task.runId, wake.childRunId, now());
  }
  if (wake.slotGroup !== undefined) {
    await recheck(deps, task.tenant, task.runId, task.jobKey, wake.slotGroup, now());
  }
  log.info(ids, 'job waits');
}
