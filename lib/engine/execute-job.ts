import type { Config } from '../config.js';
import { type ErrorRecord, FlowlineError, toErrorRecord } from '../errors.js';
import {
  type ExprContext,
  evaluateCondition,
  evaluateDeep,
  type JobStatus,
} from '../expr/index.js';
import { log } from '../log.js';
import type { JobTask } from '../queue/message.js';
import type { JobQueue } from '../queue/sqs-queue.js';
import { createMasker, type Masker } from '../secrets/mask.js';
import type { SecretsProvider } from '../secrets/provider.js';
import type { Workflow } from '../spec/schema.js';
import { StepFailedError } from '../steps/executor.js';
import { executorFor, runWithTimeout } from '../steps/index.js';
import type { ClaimResult, RunStore } from '../store/run-store.js';
import { type NeedState, needsContext, resultOf, statusFromNeeds, toEnv } from './job-context.js';
import { type PlannedStep, planRun, stepList } from './plan.js';

export interface ExecuteDeps {
  runs: RunStore;
  queue: JobQueue;
  secrets: SecretsProvider;
  config: Pick<Config, 'leaseMs' | 'capabilities' | 'safetyMarginMs'>;
  now?: () => number;
}

/** A committed step, as stored in the `steps` hash and shown in the run document. */
export interface StepRecord {
  id: string;
  name?: string;
  uses: string;
  hook?: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  attempt: number;
  outputs: Record<string, unknown>;
  error: ErrorRecord | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Step outputs above this are refused (SPEC.md limits). */
const MAX_OUTPUT_BYTES = 256 * 1024;

type Claimed = Extract<ClaimResult, { kind: 'claimed' }>;

/**
 * Run one job task end to end: claim, steps in order (each committed before the
 * next starts), job outputs, finish + unblock dependents, enqueue what became
 * ready. Returns quietly for a duplicate or stale task (it is acknowledged);
 * throws on infrastructure faults so the message is retried by SQS.
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
  const outcome = await runClaimedJob(deps, task, claim, remainingMs, now);
  const finished = await deps.runs.finishJob(
    task,
    claim.fence,
    outcome.status,
    JSON.stringify(outcome.outputs),
    outcome.error ? JSON.stringify(outcome.error) : '',
    now(),
  );
  if (!finished) {
    log.warn(ids, 'job finish refused: a newer claim holds the job');
    return;
  }
  if (finished.ready.length > 0) await deps.queue.send(finished.ready);
  log.info(
    { ...ids, status: outcome.status, runStatus: finished.runStatus || undefined },
    'job finished',
  );
}

interface JobOutcome {
  status: 'succeeded' | 'failed' | 'skipped';
  outputs: Record<string, unknown>;
  error: ErrorRecord | null;
}

async function runClaimedJob(
  deps: ExecuteDeps,
  task: JobTask,
  claim: Claimed,
  remainingMs: () => number,
  now: () => number,
): Promise<JobOutcome> {
  const spec = JSON.parse(claim.spec) as Workflow;
  const plan = planRun(spec);
  const planned = plan.find((p) => p.key === task.jobKey);
  const job = planned ? spec.jobs[planned.name] : undefined;
  if (!planned || !job) {
    return failed({ code: 'INTERNAL', message: `job ${task.jobKey} is not in the run's spec` });
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
  const runEnv = JSON.parse(claim.env) as Record<string, unknown>;
  const base: ExprContext = {
    inputs: JSON.parse(claim.inputs),
    trigger: JSON.parse(claim.trigger),
    run: { id: task.runId, attempt: task.attempt, workflow: claim.workflow },
    needs: needsContext(plan, planned.needs, needStates),
    ...(planned.matrix ? { matrix: planned.matrix } : {}),
  };

  let jobEnv: Record<string, string>;
  try {
    if (!evaluateCondition(job.if, { ...base, status: statusFromNeeds(needStates.values()) })) {
      return { status: 'skipped', outputs: {}, error: null };
    }
    const workflowEnv = toEnv({
      ...(evaluateDeep(spec.env ?? {}, base) as Record<string, unknown>),
      ...runEnv,
    });
    jobEnv = {
      ...workflowEnv,
      ...toEnv(
        evaluateDeep(job.env ?? {}, { ...base, env: workflowEnv }) as Record<string, unknown>,
      ),
    };
  } catch (err) {
    return failed(toErrorRecord(err));
  }

  const deadline = job.timeoutMs === undefined ? Number.POSITIVE_INFINITY : now() + job.timeoutMs;
  const capabilities = grantedCapabilities(
    deps.config.capabilities,
    spec.permissions?.capabilities,
  );
  const steps: NonNullable<ExprContext['steps']> = {};
  const secretValues = new Map<string, string>();
  let masker: Masker = createMasker([]);
  let status: JobStatus = 'success';
  let error: ErrorRecord | null = null;

  for (const ps of stepList(job)) {
    const prior = claim.stepRecords[ps.index];
    const record: StepRecord | undefined = prior ? JSON.parse(prior) : undefined;
    if (record && record.status !== 'running') {
      // Committed by an earlier invocation of this job: reuse, never re-run.
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
    const names = [
      ...new Set([...(spec.secrets ?? []), ...(job.secrets ?? []), ...(step.secrets ?? [])]),
    ];
    const startedAt = new Date(now()).toISOString();
    const fresh = (s: StepRecord['status'], extra: Partial<StepRecord> = {}): StepRecord => ({
      id: ps.key,
      ...(step.name ? { name: step.name } : {}),
      uses: step.uses,
      ...(ps.hook ? { hook: ps.hook } : {}),
      status: s,
      attempt: task.attempt,
      outputs: {},
      error: null,
      startedAt,
      finishedAt: null,
      ...extra,
    });

    let result: StepRecord;
    try {
      const secrets = names.length > 0 ? await deps.secrets.get(task.tenant, names) : {};
      for (const [k, v] of Object.entries(secrets)) secretValues.set(k, v);
      masker = createMasker([...secretValues.values()]);
      const stepEnv = {
        ...jobEnv,
        ...toEnv(
          evaluateDeep(step.env ?? {}, { ...base, env: jobEnv, steps }) as Record<string, unknown>,
        ),
      };
      const ctx: ExprContext = { ...base, env: stepEnv, steps, secrets, status };
      // post and onFailure run after a failure unless their own `if` says otherwise.
      const condition =
        step.if ?? (ps.hook === 'post' || ps.hook === 'onFailure' ? 'always()' : undefined);
      if (!evaluateCondition(condition, ctx)) {
        result = fresh('skipped', { startedAt: null, finishedAt: startedAt });
      } else {
        await commit(deps, task, claim, now, undefined, fresh('running'), ps);
        const outputs = await runStep(
          task,
          ps,
          ctx,
          stepEnv,
          capabilities,
          spec,
          remainingMs,
          deadline,
          deps,
          now,
        );
        result = fresh('succeeded', {
          outputs: masker.mask(outputs),
          finishedAt: new Date(now()).toISOString(),
        });
      }
    } catch (err) {
      if (err instanceof FenceLost) throw err;
      const outputs = err instanceof StepFailedError && err.outputs ? masker.mask(err.outputs) : {};
      result = fresh('failed', {
        outputs,
        error: masker.mask(toErrorRecord(err)),
        finishedAt: new Date(now()).toISOString(),
      });
    }

    await commit(deps, task, claim, now, result, undefined, ps);
    steps[ps.key] = { outputs: result.outputs, outcome: resultOf(result.status) };
    if (result.status === 'failed' && !step.continueOnError) {
      status = 'failure';
      error = result.error;
    }
  }

  if (status === 'failure')
    return failed(error ?? { code: 'STEP_FAILED', message: 'a step failed' });
  try {
    const outputs = evaluateDeep(job.outputs ?? {}, { ...base, env: jobEnv, steps }) as Record<
      string,
      unknown
    >;
    return { status: 'succeeded', outputs: masker.mask(outputs), error: null };
  } catch (err) {
    return failed(masker.mask(toErrorRecord(err)));
  }
}

function failed(error: ErrorRecord): JobOutcome {
  return { status: 'failed', outputs: {}, error };
}

/** A newer claim took the job over: stop at once, commit nothing more. */
class FenceLost extends Error {}

async function commit(
  deps: ExecuteDeps,
  task: JobTask,
  claim: Claimed,
  now: () => number,
  done: StepRecord | undefined,
  started: StepRecord | undefined,
  ps: PlannedStep,
): Promise<void> {
  const ok = await deps.runs.commitStep(
    task,
    claim.fence,
    now(),
    deps.config.leaseMs,
    done && {
      index: ps.index,
      stepKey: ps.key,
      record: JSON.stringify(done),
      eventType: `step.${done.status}`,
      eventData: done.error ? JSON.stringify({ error: done.error }) : '{}',
    },
    started && { index: ps.index, stepKey: ps.key, record: JSON.stringify(started) },
  );
  if (!ok) throw new FenceLost(`job ${task.jobKey} was claimed by a newer attempt`);
}

async function runStep(
  task: JobTask,
  ps: PlannedStep,
  ctx: ExprContext,
  env: Record<string, string>,
  capabilities: Set<string>,
  spec: Workflow,
  remainingMs: () => number,
  deadline: number,
  deps: ExecuteDeps,
  now: () => number,
): Promise<Record<string, unknown>> {
  const step = ps.step;
  const withValue = evaluateDeep(step.with ?? {}, ctx) as Record<string, unknown>;
  const budget = Math.min(remainingMs() - deps.config.safetyMarginMs, deadline - now());
  const timeoutMs = Math.max(0, Math.min(step.timeoutMs ?? Number.POSITIVE_INFINITY, budget));
  const outputs = await runWithTimeout(
    executorFor(step.uses),
    {
      uses: step.uses,
      with: withValue,
      env,
      idempotencyKey: `${task.runId}:${task.jobKey}:${ps.key}`,
      capabilities,
      ...(spec.permissions?.hosts ? { allowedHosts: spec.permissions.hosts } : {}),
    },
    Number.isFinite(timeoutMs) ? timeoutMs : undefined,
  );
  if (Buffer.byteLength(JSON.stringify(outputs ?? {})) > MAX_OUTPUT_BYTES) {
    throw new FlowlineError('STEP_FAILED', `step outputs exceed ${MAX_OUTPUT_BYTES} bytes`);
  }
  return outputs ?? {};
}

/** Deployment grants, narrowed by the workflow's `permissions.capabilities` when given. */
function grantedCapabilities(granted: string[], narrowed: string[] | undefined): Set<string> {
  return new Set(narrowed ? granted.filter((c) => narrowed.includes(c)) : granted);
}
