import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { App } from '../../lib/app.js';
import { type ExecuteDeps, executeJob } from '../../lib/engine/job/execute.js';
import { coalescingQueue } from '../../lib/queue/coalescing-queue.js';
import { parseJobTask } from '../../lib/queue/message.js';
import type { RunStore } from '../../lib/store/run-store.js';

/**
 * Jobs in flight at most, the same for both engines in redis-cost: flowline runs
 * IN_FLIGHT / 10 pollers with batches of ten, BullMQ one Worker of this concurrency.
 */
export const IN_FLIGHT = 40;

/** The three run transitions the executor makes per job (plus createRun at submit). */
export type Transition = 'claimJob' | 'commitStep' | 'finishJob';

/**
 * Wraps a RunStore so the bench learns when runs finish without asking Redis (a
 * status poll would be counted as the engine's commands): finishJob's reply names
 * the run's final status when it was the run's last job. Optionally times each
 * transition as the executor sees it (client-observed: script + loopback + event loop).
 */
export function trackRuns(runs: RunStore, onTiming?: (t: Transition, ms: number) => void) {
  const waiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  /** Runs that ended before anyone expected them (a run id known only once the API answers). */
  const early = new Map<string, string>();
  const timed = async <T>(t: Transition, call: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await call();
    onTiming?.(t, performance.now() - t0);
    return out;
  };
  /** `runs` with its transitions timed and its finishes reported to the waiters. */
  const wrap = (runs: RunStore): RunStore => ({
    ...runs,
    claimJob: (...args) => timed('claimJob', () => runs.claimJob(...args)),
    commitStep: (...args) => timed('commitStep', () => runs.commitStep(...args)),
    async finishJob(task, ...rest) {
      const out = await timed('finishJob', () => runs.finishJob(task, ...rest));
      if (out?.runStatus) {
        const waiter = waiters.get(task.runId);
        waiters.delete(task.runId);
        if (!waiter) early.set(task.runId, out.runStatus);
        else if (out.runStatus === 'succeeded') waiter.resolve();
        else waiter.reject(new Error(`run ${task.runId} ended ${out.runStatus}`));
      }
      return out;
    },
  });
  const store = wrap(runs);
  return {
    store,
    /** The same tracking for another app's store (another connection), sharing the waiters. */
    wrap,
    /** Best called before the run is admitted; a run that ended already is answered at once. */
    expect(runId: string): Promise<void> {
      const ended = early.get(runId);
      if (ended !== undefined) {
        early.delete(runId);
        return ended === 'succeeded'
          ? Promise.resolve()
          : Promise.reject(new Error(`run ${runId} ended ${ended}`));
      }
      return new Promise((resolve, reject) => waiters.set(runId, { resolve, reject }));
    },
    /** An executor fault: every awaited run fails now rather than timing out later. */
    failAll(err: Error): void {
      for (const w of waiters.values()) w.reject(err);
      waiters.clear();
    },
  };
}

export interface Executors {
  stop(): Promise<void>;
}

/**
 * Stand-in for the execute Lambda: `pollers` loops, each long-polling SQS for up to
 * ten tasks and running them concurrently, as one invocation of a batch-size-10
 * event source mapping would. A task that throws keeps its message (SQS would
 * retry it); the fault is reported to `onError`.
 */
export function startExecutors(
  app: App,
  deps: ExecuteDeps,
  opts: { pollers: number; onError: (err: Error) => void },
): Executors {
  let stopped = false;
  const poll = async () => {
    const out = await app.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: app.config.queueUrl,
        MaxNumberOfMessages: 10,
        // Short enough that stop() returns quickly, long enough to be a long poll.
        WaitTimeSeconds: 1,
      }),
    );
    const messages = out.Messages ?? [];
    // As functions/execute.ts: the batch's jobs share their SQS sends.
    const batchDeps = { ...deps, queue: coalescingQueue(deps.queue) };
    const results = await Promise.allSettled(
      messages.map(async (m) => {
        const task = parseJobTask(m.Body ?? '');
        if (task) await executeJob(batchDeps, task, () => 60_000);
        return m.ReceiptHandle as string;
      }),
    );
    const handles: string[] = [];
    for (const r of results) {
      if (r.status === 'fulfilled') handles.push(r.value);
      else opts.onError(r.reason instanceof Error ? r.reason : new Error(String(r.reason)));
    }
    if (handles.length > 0) {
      await app.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: app.config.queueUrl,
          Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })),
        }),
      );
    }
  };
  const loop = async () => {
    while (!stopped) {
      try {
        await poll();
      } catch (err) {
        opts.onError(err instanceof Error ? err : new Error(String(err)));
        // A dead endpoint would otherwise spin this loop.
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const loops = Array.from({ length: opts.pollers }, loop);
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
