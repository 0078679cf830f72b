import type { JobTask } from '../../queue/message.js';
import { type JobQueue, MAX_DELAY_SECONDS } from '../../queue/sqs-queue.js';
import type { RunStore } from '../../store/run-store.js';

/**
 * Send a task when it is due: now, with an SQS delay (≤ 15 min), or through the
 * timer set that the schedule tick wakes (longer waits).
 */
export async function dispatchAt(
  deps: { queue: JobQueue; runs: RunStore },
  task: JobTask,
  dueAt: number,
  now: number,
): Promise<void> {
  const delaySeconds = Math.ceil(Math.max(0, dueAt - now) / 1000);
  if (delaySeconds <= MAX_DELAY_SECONDS) await deps.queue.send([task], delaySeconds);
  else await deps.runs.addTimer(task, dueAt);
}
