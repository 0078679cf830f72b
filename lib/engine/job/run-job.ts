import type { Job } from '../../spec/schema.js';
import { shouldCheckpoint } from '../decide/checkpoint.js';
import { replayStep } from '../decide/step-replay.js';
import { jobDeadline } from '../decide/timeouts.js';
import type { JobOutcome } from '../model.js';
import type { JobRun } from './job-run.js';
import { cancelled, type Ending } from './outcome.js';
import { prepareJob } from './prepare.js';
import { JobProgress } from './progress.js';
import { takeSlot } from './slot.js';
import { plannedSteps } from './spec-cache.js';
import { runOneStep } from './step.js';
import { finishedStep, recordedStep } from './step-record.js';
import { suspendingStep } from './wait-step.js';

/**
 * A claimed job, step by step: its scope (spec, needs, `if`, env, secrets) and its
 * concurrency slot, then each step as replay decides (decide/step-replay.ts), a
 * checkpoint when the next step would not fit in this invocation
 * (decide/checkpoint.ts), a suspension at a wait, and the job's outcome. Each step's
 * result rides on the next write (commit-step.ts); the last one on the finish.
 */
export async function runClaimedJob(run: JobRun): Promise<Ending> {
  const prepared = await prepareJob(run);
  if (prepared.kind === 'done') return done(run, prepared.job, prepared.outcome);
  if (prepared.kind !== 'ready') return prepared;
  const { scope } = prepared;
  const slot = await takeSlot(run, scope);
  if (slot?.kind === 'done') return done(run, scope.job, slot.outcome);
  if (slot) return slot;

  const { job } = scope;
  const deadline = jobDeadline(run.claim.timeoutFrom, job.timeoutMs);
  const progress = new JobProgress();
  let ranHere = false;
  for (const ps of plannedSteps(job)) {
    const recorded = recordedStep(run.claim.stepRecords, ps);
    const replay = replayStep(recorded, run.task.attempt, ps.hook, progress.status);
    if (replay === 'pass') continue;
    if (replay === 'reuse' && recorded) {
      progress.add(ps, recorded);
      continue;
    }

    const suspends = suspendingStep(ps.step);
    const next = { timeoutMs: ps.step.timeoutMs, suspends: suspends !== undefined };
    if (shouldCheckpoint(next, { ...budget(run), ranHere, deadline })) {
      await run.steps.flush();
      return { kind: 'checkpoint' };
    }
    ranHere = true;

    const waiting = replay === 'resume' ? recorded : undefined;
    const end = await runOneStep(run, scope, progress, ps, { waiting, deadline, suspends });
    if (end.kind === 'suspend') {
      await run.steps.flush();
      return end;
    }
    await run.steps.finished(finishedStep(end.record, ps));
    if (end.record.status === 'cancelled') return done(run, job, cancelled());
    progress.add(ps, end.record);
  }
  return done(run, job, progress.outcome(scope, run.secrets));
}

/** The job's outcome, with the last step's result for the finish to write. */
function done(run: JobRun, job: Job | undefined, outcome: JobOutcome): Ending {
  const last = run.steps.take(job);
  return { kind: 'done', outcome, job, ...(last ? { last } : {}) };
}

function budget(run: JobRun) {
  const { safetyMarginMs, minStepBudgetMs } = run.deps.config;
  return { remainingMs: run.remainingMs(), safetyMarginMs, minStepBudgetMs, now: run.now() };
}
