import type { Config } from '../config.js';
import { type ErrorCode, type ErrorRecord, FlowlineError, toErrorRecord } from '../errors.js';
import {
  type ExprContext,
  ExpressionError,
  evaluateCondition,
  evaluateDeep,
  type JobStatus,
  referencedContexts,
} from '../expr/index.js';
import { log } from '../log.js';
import { recordRunEnded } from '../metrics.js';
import type { JobTask } from '../queue/message.js';
import type { JobQueue } from '../queue/sqs-queue.js';
import { createMasker, type Masker } from '../secrets/mask.js';
import type { SecretsProvider } from '../secrets/provider.js';
import type { Job, Workflow } from '../spec/schema.js';
import { parseUses } from '../spec/uses.js';
import {
  isPlainObject,
  type StepExecutor,
  StepFailedError,
  type StepOutputs,
} from '../steps/executor.js';
import type { ConcurrencyStore } from '../store/concurrency-store.js';
import type {
  ClaimResult,
  FinishedStep,
  RunStore,
  SettleMode,
  StepCommit,
} from '../store/run-store.js';
import type { WorkflowStore } from '../store/workflow-store.js';
import { type PlannedStep, planRun, stepList } from './decide/plan.js';
import { FenceLost, startHeartbeat } from './heartbeat.js';
import { type NeedState, needsContext, resultOf, statusFromNeeds, toEnv } from './job-context.js';
import { jobDeadline } from './job-deadline.js';
import type { JobOutcome, StepRecord } from './model.js';
import { retryDelayMs } from './retry.js';
import { acquire } from './run/acquire.js';
import { newRunId, type Trigger } from './run/admit.js';
import { type ChildStep, childOutcome, startChild, wakeIfChildEnded } from './run/child-run.js';
import { groupName, jobEnded, recheck } from './run/concurrency.js';
import { dispatchAt } from './run/dispatch.js';
import { runFinished } from './run/finish.js';
import { runStep } from './run-step.js';
import {
  decideWait,
  isWaitKind,
  type Suspension,
  type WaitDecision,
  type WaitKind,
} from './waits.js';

export interface ExecuteDeps {
  runs: RunStore;
  queue: JobQueue;
  concurrency: ConcurrencyStore;
  workflows: WorkflowStore;
  secrets: SecretsProvider;
  /** The executor of `lambda:` steps; without one they fail INTERNAL. */
  lambdaSteps?: StepExecutor;
  /** The executor of `shell` steps (the app's runner); without one, this process's sandbox. */
  shellSteps?: StepExecutor;
  config: Pick<
    Config,
    | 'leaseMs'
    | 'capabilities'
    | 'safetyMarginMs'
    | 'minStepBudgetMs'
    | 'retentionMs'
    | 'maxDescendants'
  >;
  now?: () => number;
}

type Claimed = Extract<ClaimResult, { kind: 'claimed' }>;

/** How a claimed job's invocation ended. */
type Ending =
  | {
      kind: 'done';
      outcome: JobOutcome;
      job: Job | undefined;
      /** The last step's result, not yet written: the finish (or retry) script writes it. */
      last?: FinishedStep;
    }
  | { kind: 'checkpoint' }
  | { kind: 'suspend'; suspension: Suspension }
  | { kind: 'lost' };

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
  const claim = await deps.runs.claimJob(task, now(), deps.config.leaseMs);
  const ids = { runId: task.runId, job: task.jobKey, attempt: task.attempt };
  if (claim.kind !== 'claimed') {
    log.info({ ...ids, outcome: claim.kind }, 'job task dropped');
    return;
  }
  log.info(ids, 'job claimed');
  const heartbeat = startHeartbeat(deps.runs, task, claim.fence, deps.config.leaseMs, now);
  const held: HeldSecrets = { masker: createMasker([]) };
  let ending: Ending;
  try {
    ending = await runClaimedJob(deps, task, claim, remainingMs, now, heartbeat.signal, held);
  } catch (err) {
    // The caller logs what escapes: it must not carry a secret value either.
    throw held.masker.maskError(err);
  } finally {
    heartbeat.stop();
  }
  if (ending.kind === 'lost') {
    log.warn(ids, 'job taken over by a newer claim; this attempt stops');
    return;
  }
  if (ending.kind === 'checkpoint') {
    const next = await deps.runs.requeueJob(task, claim.fence, now());
    if (next) await deps.queue.send([next]);
    log.info(ids, 'job checkpointed: the next step would not fit in this invocation');
    return;
  }
  if (ending.kind === 'suspend') {
    await suspend(deps, task, claim.fence, ending.suspension, now);
    return;
  }
  await settleJob(deps, task, claim.fence, ending.outcome, ending.job, '', ending.last);
}

/** End the invocation of a job that must wait, arranging how it is woken. */
async function suspend(
  deps: ExecuteDeps,
  task: JobTask,
  fence: string,
  s: Suspension,
  now: () => number,
): Promise<void> {
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
    const cancelled = { status: 'cancelled' as const, outputs: {}, error: CANCELLED };
    await settleJob(deps, task, fence, cancelled, undefined, '');
    return;
  }
  if (out.queued) await deps.queue.send([out.task]);
  else if (s.wakeAt !== undefined) await dispatchAt(deps, out.task, s.wakeAt, now());
  if (s.waitingFor.kind === 'workflow') {
    await wakeIfChildEnded(deps, task.tenant, task.runId, String(s.waitingFor.runId), now());
  }
  if (s.waitingFor.kind === 'concurrency') {
    // Suspended, then asked again: a slot freed between the first ask and the
    // suspension was granted to this job while it ran, and only it can see that.
    const group = String(s.waitingFor.group);
    await recheck(deps, task.tenant, task.runId, task.jobKey, group, now());
  }
  log.info(ids, 'job waits');
}

/**
 * Apply a job's outcome: a failure with retries left queues the next attempt when
 * it is due; anything else finishes the job, unblocks dependents and sends the
 * ready ones. Shared by the executor and the lease reaper (mode 'expired').
 * False when the fence was stale: someone else settled the job first.
 */
export async function settleJob(
  deps: Pick<ExecuteDeps, 'runs' | 'queue' | 'concurrency' | 'now'>,
  task: Pick<JobTask, 'tenant' | 'runId' | 'jobKey' | 'attempt'>,
  fence: string,
  outcome: JobOutcome,
  job: Job | undefined,
  mode: SettleMode,
  last?: FinishedStep,
): Promise<boolean> {
  const now = deps.now ?? Date.now;
  const ids = { runId: task.runId, job: task.jobKey, attempt: task.attempt };
  let final = outcome;
  if (outcome.status === 'failed') {
    const delay = retryDelayMs(job?.retries, task.attempt, outcome.error);
    if (delay !== undefined) {
      const dueAt = now() + delay;
      const next = await deps.runs.retryJob(
        task,
        fence,
        JSON.stringify(outcome.error),
        dueAt,
        now(),
        mode,
        last,
      );
      if (next === undefined) return false;
      if (next !== 'cancelling') {
        await dispatchAt(deps, next, dueAt, now());
        log.info({ ...ids, delayMs: delay, error: outcome.error?.code }, 'job retrying');
        return true;
      }
      final = {
        status: 'cancelled',
        outputs: {},
        error: { code: 'CANCELLED', message: 'the run was cancelled' },
      };
    }
  }
  const finished = await deps.runs.finishJob(
    task,
    fence,
    final.status,
    JSON.stringify(final.outputs),
    final.error ? JSON.stringify(final.error) : '',
    now(),
    mode,
    // A retry that found the run cancelling wrote nothing: the finish writes the step.
    last,
  );
  if (!finished) {
    log.warn(ids, 'job finish refused: a newer claim holds the job');
    return false;
  }
  if (finished.ready.length > 0) await deps.queue.send(finished.ready);
  // A job of unknown spec (a dead letter) may hold a slot too.
  if (!finished.runStatus && (!job || job.concurrency)) {
    await jobEnded(deps, task.tenant, task.runId, task.jobKey, now());
  }
  if (finished.runStatus) {
    recordRunEnded(finished.runStatus);
    await runFinished(deps, task.tenant, task.runId, now(), finished.ended);
  }
  log.info(
    { ...ids, status: final.status, runStatus: finished.runStatus || undefined },
    'job finished',
  );
  return true;
}

const CANCELLED: ErrorRecord = { code: 'CANCELLED', message: 'the run was cancelled' };

/** The masker of the secrets a job holds so far (it grows as steps declare more). */
interface HeldSecrets {
  masker: Masker;
}

/** A value about to be written to Redis (a child's inputs, a key name) carries a secret. */
function secretLeak(what: string): StepFailedError {
  return new StepFailedError(
    `${what} would carry a secret value out of this job; pass secrets by name instead`,
    undefined,
    'SECRET_LEAK',
  );
}

/** Secret names a parent run granted this child run (`with: {secrets: [...]}`), from its trigger. */
function grantedSecrets(trigger: unknown): string[] {
  if (!isPlainObject(trigger) || trigger.type !== 'workflow' || !isPlainObject(trigger.payload)) {
    return [];
  }
  const names = trigger.payload.secrets;
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
}

async function runClaimedJob(
  deps: ExecuteDeps,
  task: JobTask,
  claim: Claimed,
  remainingMs: () => number,
  now: () => number,
  stop: AbortSignal,
  held: HeldSecrets,
): Promise<Ending> {
  const spec = JSON.parse(claim.spec) as Workflow;
  const plan = planRun(spec);
  const planned = plan.find((p) => p.key === task.jobKey);
  const job = planned ? spec.jobs[planned.name] : undefined;
  // A finished step's result waits here for the next write (the next step's start,
  // or the job's finish), which carries it: one round trip less per step.
  let unsaved: FinishedStep | undefined;
  // The step the claim started (lua/claim-job.lua), until the loop reaches it; a job that
  // ends before (its env failed) closes its record as skipped.
  let prestarted = claim.started;
  const done = (outcome: JobOutcome): Ending => {
    const last =
      unsaved ?? (prestarted && job ? notRun(job, prestarted.index, task, now) : undefined);
    return { kind: 'done', outcome, job, ...(last ? { last } : {}) };
  };
  const save = async (started?: StepCommit): Promise<'ok' | 'cancelling'> => {
    const state = await commit(deps, task, claim, now, unsaved, started);
    unsaved = undefined;
    return state;
  };
  if (!planned || !job) {
    return done(
      failed({ code: 'INTERNAL', message: `job ${task.jobKey} is not in the run's spec` }),
    );
  }

  const needStates = new Map<string, NeedState>();
  for (const [key, need] of claim.needs) {
    const continueOnError = plan.find((p) => p.key === key)?.continueOnError ?? false;
    needStates.set(key, {
      status: need.status,
      outputs: JSON.parse(need.outputs),
      continueOnError,
    });
  }
  const base: ExprContext = {
    inputs: JSON.parse(claim.inputs),
    trigger: JSON.parse(claim.trigger),
    run: { id: task.runId, attempt: task.attempt, workflow: claim.workflow },
    needs: needsContext(plan, planned.needs, needStates),
    ...(planned.matrix ? { matrix: planned.matrix } : {}),
  };

  const secretValues = new Map<string, string>();
  /** The values of `names`, added to what the job holds and masks. */
  const fetchSecrets = async (names: string[]): Promise<Record<string, string>> => {
    const values = names.length > 0 ? await deps.secrets.get(task.tenant, names) : {};
    for (const [k, v] of Object.entries(values)) secretValues.set(k, v);
    held.masker = createMasker([...secretValues.values()]);
    return values;
  };
  // Secrets of the workflow and the job (and those a parent granted a child run):
  // fetched before `env:` is evaluated, so `env: {T: ${{ secrets.T }}}` works at
  // every level; `secrets` is what static checks let each level read.
  const jobSecretNames = [
    ...new Set([...(spec.secrets ?? []), ...(job.secrets ?? []), ...grantedSecrets(base.trigger)]),
  ];
  let jobEnv: Record<string, string>;
  try {
    // A job that is skipped fetches nothing, unless its `if` reads a secret.
    const early =
      job.if !== undefined &&
      referencedContexts(job.if, { condition: true }).contexts.has('secrets')
        ? await fetchSecrets(jobSecretNames)
        : undefined;
    const needs = statusFromNeeds(needStates.values());
    if (
      !evaluateCondition(job.if, { ...base, status: needs, ...(early ? { secrets: early } : {}) })
    ) {
      return done({ status: 'skipped', outputs: {}, error: null });
    }
    const secrets = early ?? (await fetchSecrets(jobSecretNames));
    const runEnv = JSON.parse(claim.env) as Record<string, unknown>;
    const workflowEnv = toEnv({
      ...(evaluateDeep(spec.env ?? {}, { ...base, secrets }) as Record<string, unknown>),
      ...runEnv,
    });
    const own = evaluateDeep(job.env ?? {}, { ...base, env: workflowEnv, secrets }) as Record<
      string,
      unknown
    >;
    jobEnv = { ...workflowEnv, ...toEnv(own) };
  } catch (err) {
    return done(failed(held.masker.mask(toErrorRecord(err))));
  }

  if (job.concurrency) {
    let group: string;
    try {
      group = groupName(evaluateDeep(job.concurrency.group, { ...base, env: jobEnv }));
      // A group name becomes part of Redis keys and events: it cannot be masked.
      if (held.masker.reveals(group)) throw secretLeak('the concurrency group');
    } catch (err) {
      return done(failed(held.masker.mask(toErrorRecord(err))));
    }
    const slot = await acquire(
      deps,
      task.tenant,
      task.runId,
      task.jobKey,
      group,
      job.concurrency,
      now(),
    );
    if (!slot.granted)
      return { kind: 'suspend', suspension: { waitingFor: { ...slot.waitingFor } } };
  }

  const deadline = jobDeadline(claim.timeoutFrom, job.timeoutMs);
  const steps: NonNullable<ExprContext['steps']> = {};
  let status: JobStatus = 'success';
  let error: ErrorRecord | null = null;
  let ranHere = false;

  for (const ps of stepList(job)) {
    const prior = claim.stepRecords[ps.index];
    const record: StepRecord | undefined = prior ? JSON.parse(prior) : undefined;
    // Reuse what an earlier invocation committed: every success, and anything this
    // same attempt already finished (a checkpoint or a redelivery resumes it).
    if (
      record &&
      (record.status === 'succeeded' ||
        (record.attempt === task.attempt &&
          record.status !== 'running' &&
          record.status !== 'waiting'))
    ) {
      steps[ps.key] = { outputs: record.outputs, outcome: resultOf(record.status) };
      if (record.status === 'failed' && !ps.step.continueOnError) {
        status = 'failure';
        error = record.error;
      }
      continue;
    }
    if (ps.hook === 'onSuccess' && status !== 'success') continue;
    if (ps.hook === 'onFailure' && status !== 'failure') continue;

    const step = ps.step;
    const uses = parseUses(step.uses);
    const waits = typeof uses !== 'string' && isWaitKind(uses.kind) ? uses.kind : undefined;
    const child = typeof uses !== 'string' && uses.kind === 'workflow' ? uses.name : undefined;
    // Checkpoint rather than be killed mid-step; but always run at least one step
    // per invocation, so a step longer than any invocation cannot requeue forever.
    // A wait takes no time here: it suspends the job.
    const needed = Math.min(step.timeoutMs ?? deps.config.minStepBudgetMs, deadline - now());
    if (!waits && !child && ranHere && remainingMs() - deps.config.safetyMarginMs < needed) {
      if (unsaved) await save();
      return { kind: 'checkpoint' };
    }
    ranHere = true;

    // The job already waits at this step: the wait goes on from its record, even in a
    // later attempt (a crash after the wake): the decision, the sleep's end and the
    // child run stay the ones already made.
    const waiting = record?.status === 'waiting' ? record : undefined;
    const claimStarted = prestarted?.index === ps.index ? prestarted : undefined;
    if (claimStarted) prestarted = undefined;
    const startedAt =
      waiting?.startedAt ?? claimStarted?.startedAt ?? new Date(now()).toISOString();
    let tries = 1;
    const fresh = (s: StepRecord['status'], extra: Partial<StepRecord> = {}): StepRecord => ({
      id: ps.key,
      ...(step.name ? { name: step.name } : {}),
      uses: step.uses,
      ...(ps.hook ? { hook: ps.hook } : {}),
      status: s,
      attempt: task.attempt,
      tries,
      outputs: {},
      error: null,
      startedAt,
      finishedAt: null,
      ...extra,
    });

    let result: StepRecord;
    try {
      const names = [...new Set([...jobSecretNames, ...(step.secrets ?? [])])];
      const secrets = await fetchSecrets(names);
      const ownEnv = evaluateDeep(step.env ?? {}, {
        ...base,
        env: jobEnv,
        steps,
        secrets,
      }) as Record<string, unknown>;
      const stepEnv = { ...jobEnv, ...toEnv(ownEnv) };
      const ctx: ExprContext = { ...base, env: stepEnv, steps, secrets, status };
      // post and onFailure run after a failure unless their own `if` says otherwise.
      const condition =
        step.if ?? (ps.hook === 'post' || ps.hook === 'onFailure' ? 'always()' : undefined);
      const runs = waiting !== undefined || evaluateCondition(condition, ctx);
      // Past the job's deadline (it ran out before a checkpoint or a wait): no new step
      // starts, even one so fast that a zero timeout would not stop it.
      if (runs && !waiting && now() >= deadline) {
        throw new FlowlineError('TIMEOUT', 'the job exceeded its timeoutMs');
      }
      if (!runs) {
        result = fresh('skipped', { tries: 0, startedAt: null, finishedAt: startedAt });
      } else if (waits || child) {
        const w = evaluateDeep(step.with ?? {}, ctx) as Record<string, unknown>;
        const outcome = await waitStep(
          deps,
          { task, claim, ps, now, waiting, fresh, base, save, masker: held.masker, names },
          w,
          {
            ...(waits ? { waits } : {}),
            ...(child ? { child } : {}),
          },
        );
        if (outcome.kind === 'suspend') {
          if (unsaved) await save();
          // waitingFor and the signal name are stored and sent as events.
          return { kind: 'suspend', suspension: held.masker.mask(outcome.suspension) };
        }
        result = fresh('succeeded', {
          outputs: held.masker.mask(outcome.outputs),
          finishedAt: new Date(now()).toISOString(),
        });
      } else {
        // Started by the claim already: nothing to write (the claim found no cancel).
        if (!claimStarted && (await save(startedStep(fresh('running'), ps))) === 'cancelling') {
          throw new FlowlineError('CANCELLED', 'the run was cancelled');
        }
        const outputs = await runStep({
          task,
          step: ps,
          ctx,
          env: stepEnv,
          spec,
          capabilities: deps.config.capabilities,
          timeoutMs: Math.min(remainingMs() - deps.config.safetyMarginMs, deadline - now()),
          signal: stop,
          ...(deps.lambdaSteps ? { lambda: deps.lambdaSteps } : {}),
          onRetry: async (failedTry, err, delayMs) => {
            tries = failedTry + 1;
            const retrying = retryingStep(
              fresh('running'),
              ps,
              held.masker.mask(err),
              failedTry,
              delayMs,
            );
            if ((await commit(deps, task, claim, now, retrying, undefined)) === 'cancelling') {
              throw new FlowlineError('CANCELLED', 'the run was cancelled');
            }
          },
          ...(deps.shellSteps ? { shell: deps.shellSteps } : {}),
        });
        result = fresh('succeeded', {
          outputs: held.masker.mask(outputs),
          finishedAt: new Date(now()).toISOString(),
        });
      }
    } catch (err) {
      if (err instanceof FenceLost || stop.reason instanceof FenceLost) return { kind: 'lost' };
      const { masker } = held;
      const outputs = err instanceof StepFailedError && err.outputs ? masker.mask(err.outputs) : {};
      const record = toErrorRecord(err);
      // An expression that fails here names its step too: the run's error repeats the message.
      if (err instanceof ExpressionError) record.message = `step '${ps.key}': ${record.message}`;
      const e = masker.mask(record);
      result = fresh(e.code === 'CANCELLED' ? 'cancelled' : 'failed', {
        outputs,
        error: e,
        finishedAt: new Date(now()).toISOString(),
      });
    }

    try {
      // A result that no start carried (a skipped step, one failed before it began).
      if (unsaved) await save();
    } catch (err) {
      if (err instanceof FenceLost) return { kind: 'lost' };
      throw err;
    }
    unsaved = finishedStep(result, ps);
    if (result.status === 'cancelled') {
      return done({ status: 'cancelled', outputs: {}, error: CANCELLED });
    }
    steps[ps.key] = { outputs: result.outputs, outcome: resultOf(result.status) };
    if (result.status === 'failed' && !step.continueOnError) {
      status = 'failure';
      error = result.error;
    }
  }

  if (status === 'failure')
    return done(failed(error ?? { code: 'STEP_FAILED', message: 'a step failed' }));
  try {
    const outputs = evaluateDeep(job.outputs ?? {}, { ...base, env: jobEnv, steps }) as Record<
      string,
      unknown
    >;
    return done({ status: 'succeeded', outputs: held.masker.mask(outputs), error: null });
  } catch (err) {
    return done(failed(held.masker.mask(toErrorRecord(err))));
  }
}

/**
 * A wait or a child-run step: suspend the job (the step recorded `waiting` the first
 * time, so the next claim goes on from it), or the step's outputs once the wait is
 * over. A failed wait throws, as a failed step does.
 */
async function waitStep(
  deps: ExecuteDeps,
  at: {
    task: JobTask;
    claim: Claimed;
    ps: PlannedStep;
    now: () => number;
    waiting: StepRecord | undefined;
    fresh: (s: StepRecord['status'], extra?: Partial<StepRecord>) => StepRecord;
    base: ExprContext;
    /** Write the pending result, with this step's start when given. */
    save: (started?: StepCommit) => Promise<'ok' | 'cancelling'>;
    masker: Masker;
    /** The secret names this step may read, and so may grant a child run. */
    names: string[];
  },
  w: Record<string, unknown>,
  kind: { waits?: WaitKind; child?: string },
): Promise<{ kind: 'suspend'; suspension: Suspension } | { kind: 'done'; outputs: StepOutputs }> {
  const { task, claim, ps, now, waiting, fresh, save } = at;
  const resolution = waiting ? resolutionFor(claim.resolved, ps.index) : undefined;
  const record = async (extra: Partial<StepRecord>) => {
    if (waiting) return;
    if ((await save(startedStep(fresh('waiting', extra), ps))) === 'cancelling') {
      throw new FlowlineError('CANCELLED', 'the run was cancelled');
    }
  };
  let decision: WaitDecision | ChildStep;
  if (kind.waits) {
    const wait = decideWait({
      kind: kind.waits,
      stepKey: ps.key,
      with: w,
      recorded: waiting?.wait,
      resolution,
      now: now(),
    });
    if (wait.kind === 'suspend') await record({ wait: wait.wait });
    decision = wait;
  } else {
    // The child's id is recorded before the child is started, so a crash in
    // between starts the same child on the next claim (admission is idempotent).
    // A child run is written to Redis: its inputs must not carry a value (checked
    // before anything is recorded), and secrets go by name, read by the child itself.
    if (!resolution && at.masker.reveals(w.inputs)) throw secretLeak("the child run's inputs");
    const granted = grantable(w.secrets, at.names);
    const childRunId = String(waiting?.outputs.runId ?? newRunId(now()));
    await record({ outputs: { runId: childRunId } });
    decision = resolution
      ? childOutcome(childRunId, resolution)
      : await startChild(
          deps,
          { task, trigger: at.base.trigger as Trigger, stepKey: ps.key },
          kind.child as string,
          { ...w, secrets: granted },
          childRunId,
          now(),
        );
  }
  if (decision.kind === 'fail') {
    const { message, code } = decision.error;
    throw new StepFailedError(message, decision.outputs, code as ErrorCode);
  }
  return decision;
}

/** `with.secrets` of a child step: names this step holds itself (a step cannot grant more). */
function grantable(value: unknown, held: string[]): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((n) => typeof n === 'string')) {
    throw new StepFailedError(
      "'with.secrets' must be a list of secret names",
      undefined,
      'VALIDATION',
    );
  }
  // Secret names match case-insensitively (as `secrets.X` reads do); the declared spelling is fetched.
  const declared = new Map(held.map((n) => [n.toLowerCase(), n]));
  const missing = value.filter((n) => !declared.has(n.toLowerCase()));
  if (missing.length > 0) {
    throw new StepFailedError(
      `'with.secrets' names ${missing.join(', ')}, not declared in a secrets: list of this step, its job or workflow`,
      undefined,
      'VALIDATION',
    );
  }
  return [...new Set(value.map((n) => declared.get(n.toLowerCase()) as string))];
}

/** A resolution is for the step it names (approvals, child runs) or the one waiting now (signals). */
function resolutionFor(raw: string, index: number): Record<string, unknown> | undefined {
  if (!raw) return undefined;
  const resolution = JSON.parse(raw) as Record<string, unknown>;
  return resolution.step === undefined || resolution.step === index ? resolution : undefined;
}

function failed(error: ErrorRecord): JobOutcome {
  return { status: 'failed', outputs: {}, error };
}

/** A finished step as the scripts write it: its record and its `step.<status>` event. */
function finishedStep(record: StepRecord, ps: PlannedStep): FinishedStep {
  return {
    index: ps.index,
    stepKey: ps.key,
    record: JSON.stringify(record),
    eventType: `step.${record.status === 'cancelled' ? 'failed' : record.status}`,
    eventData: record.error ? JSON.stringify({ error: record.error }) : '{}',
  };
}

/** A failed try that is retried: the step's record (its `tries` so far) and a `step.retrying` event. */
function retryingStep(
  record: StepRecord,
  ps: PlannedStep,
  error: ErrorRecord,
  failedTry: number,
  delayMs: number,
): FinishedStep {
  return {
    index: ps.index,
    stepKey: ps.key,
    record: JSON.stringify(record),
    eventType: 'step.retrying',
    eventData: JSON.stringify({ try: failedTry, error, delayMs }),
  };
}

/** The claim's started step, closed as skipped: the job ended before it ran. */
function notRun(
  job: Job,
  index: number,
  task: JobTask,
  now: () => number,
): FinishedStep | undefined {
  const ps = stepList(job)[index];
  if (!ps) return undefined;
  const record = {
    status: 'skipped',
    attempt: task.attempt,
    tries: 0,
    outputs: {},
    error: null,
    startedAt: null,
    finishedAt: new Date(now()).toISOString(),
  };
  return finishedStep(record as StepRecord, ps);
}

function startedStep(record: StepRecord, ps: PlannedStep): StepCommit {
  return { index: ps.index, stepKey: ps.key, record: JSON.stringify(record) };
}

async function commit(
  deps: ExecuteDeps,
  task: JobTask,
  claim: Claimed,
  now: () => number,
  done: FinishedStep | undefined,
  started: StepCommit | undefined,
): Promise<'ok' | 'cancelling'> {
  const state = await deps.runs.commitStep(
    task,
    claim.fence,
    now(),
    deps.config.leaseMs,
    done,
    started,
  );
  if (state === 'stale') throw new FenceLost(`job ${task.jobKey} was claimed by a newer attempt`);
  return state;
}
