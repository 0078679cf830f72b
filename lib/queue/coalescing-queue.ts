import type { JobTask } from './message.js';
import type { JobQueue } from './sqs-queue.js';

/**
 * A JobQueue that gathers the sends made in one turn of the event loop and hands
 * them to `inner` together, so SQS gets one SendMessageBatch per ten tasks instead
 * of one per caller. The jobs of one SQS batch run side by side and tend to finish
 * in the same turn (their Redis replies arrive in one pipelined read); each finish
 * sends the jobs it made ready, often one (a chain's next link).
 *
 * The wait is one `setImmediate`, as ioredis auto-pipelining does. Sends with
 * different delays go out separately. A caller learns the outcome of the whole
 * flush it was part of: a failure rejects every caller in it, which at worst
 * reports a record whose tasks did reach SQS as failed (its redelivery then finds
 * the job settled and is dropped; a task that did not get through is re-sent by
 * the reaper, as after any failed send).
 */
export function coalescingQueue(inner: JobQueue): JobQueue {
  /** Tasks waiting for the next flush, by delay (s), with the callers to answer. */
  const pending = new Map<number, { tasks: JobTask[]; waiters: Waiter[] }>();
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    const groups = [...pending];
    pending.clear();
    for (const [delay, { tasks, waiters }] of groups) {
      inner.send(tasks, delay).then(
        () => {
          for (const w of waiters) w.resolve();
        },
        (err: unknown) => {
          for (const w of waiters) w.reject(err);
        },
      );
    }
  };

  return {
    send(tasks, delaySeconds = 0) {
      if (tasks.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const group = pending.get(delaySeconds) ?? { tasks: [], waiters: [] };
        pending.set(delaySeconds, group);
        group.tasks.push(...tasks);
        group.waiters.push({ resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}
