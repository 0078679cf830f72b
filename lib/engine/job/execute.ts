import { log } from '../../log.js';
import type { JobTask } from '../../queue/message.js';
import { checkpoint } from './checkpoint.js';
import { StepLog } from './commit-step.js';
import type { ExecuteDeps } from './deps.js';
import { FenceLost, startHeartbeat } from './heartbeat.js';
import type { JobRun } from './job-run.js';
import type { Ending } from './outcome.js';
import { runClaimedJob } from './run-job.js';
import { JobSecrets } from './secrets.js';
import { settleJob } from './settle.js';
import { suspend } from './suspend.js';

export type { JobOutcome, StepRecord } from '../model.js';
export type { ExecuteDeps } from './deps.js';
export { settleJob } from './settle.js';

/**
 * Run one job task end to end: claim, steps in order (each committed before the
 * next starts), job outputs, then finish (or retry) and enqueue what became ready.
 * Returns quietly for a duplicate or stale task (it is acknowledged); throws on
 * infrastructure faults so SQS delivers the message again.
 */
export async function executeJob(
  deps: ExecuteDeps,
  task: JobTask,
  remainingMs: () => number,
): Promise<void> {
  const now = deps.now ?? Date.now;
  const ids = { runId: task.runId, job: task.jobKey, attempt: task.attempt };
  const claim = await deps.runs.claimJob(task, now(), deps.config.leaseMs);
  if (claim.kind !== 'claimed') {
    log.info({ ...ids, outcome: claim.kind }, 'job task dropped');
    return;
  }
  // Debug: the run's events record the start (job.started); at info, one line per job
  // task is its end (settle.ts). Each line is a synchronous write on this event loop.
  log.debug(ids, 'job claimed');
  const heartbeat = startHeartbeat(deps.runs, task, claim.fence, deps.config.leaseMs, now);
  const run: JobRun = {
    deps,
    task,
    claim,
    now,
    remainingMs,
    stop: heartbeat.signal,
    secrets: new JobSecrets(deps.secrets, task.tenant),
    steps: new StepLog(deps, task, claim.fence, now, claim.started),
  };
  let ending: Ending;
  try {
    ending = await runClaimedJob(run);
  } catch (err) {
    if (!(err instanceof FenceLost)) {
      // The caller logs what escapes: it must not carry a secret value either.
      throw run.secrets.masker.maskError(err);
    }
    ending = { kind: 'lost' };
  } finally {
    heartbeat.stop();
  }
  await endInvocation(run, ending);
}

/** Each way a claimed job's invocation ends, and the transition that records it. */
async function endInvocation(run: JobRun, ending: Ending): Promise<void> {
  const { deps, task, claim } = run;
  switch (ending.kind) {
    case 'lost':
      log.warn(
        { runId: task.runId, job: task.jobKey, attempt: task.attempt },
        'job taken over by a newer claim; this attempt stops',
      );
      return;
    case 'checkpoint':
      return checkpoint(run);
    case 'suspend':
      return suspend(run, ending.suspension);
    case 'done':
      await settleJob(deps, task, claim.fence, ending.outcome, ending.job, '', ending.last);
  }
}
