import { toErrorRecord } from '../../errors.js';
import {
  type ExprContext,
  evaluateCondition,
  evaluateDeep,
  referencedContexts,
} from '../../expr/index.js';
import type { Job, Workflow } from '../../spec/schema.js';
import { type NeedState, needsContext, statusFromNeeds, toEnv } from '../decide/job-context.js';
import type { PlannedJob } from '../decide/plan.js';
import type { Claimed, JobRun } from './job-run.js';
import { type Ending, failed } from './outcome.js';
import { grantedSecrets } from './secrets.js';
import { parsedSpec } from './spec-cache.js';

/** What every step of a job starts from. */
export interface JobScope {
  spec: Workflow;
  job: Job;
  /** The expression context: inputs, trigger, run, needs, matrix. */
  base: ExprContext;
  /** The workflow's env, the run's, then the job's own. */
  env: Record<string, string>;
  /** Secrets of the workflow and the job, and those a parent granted this child run. */
  secretNames: string[];
}

/**
 * A claimed job's scope, or how it ends before its first step: not in the run's
 * spec, skipped by its `if`, or failed evaluating its env. Secrets are fetched
 * before `env:` is evaluated, so `env: {T: ${{ secrets.T }}}` works at every level.
 */
export async function prepareJob(
  run: JobRun,
): Promise<{ kind: 'ready'; scope: JobScope } | Ending> {
  const { task, claim, secrets } = run;
  const { spec, plan } = parsedSpec(claim.spec);
  const planned = plan.find((p) => p.key === task.jobKey);
  const job = planned ? spec.jobs[planned.name] : undefined;
  if (!planned || !job) {
    const error = {
      code: 'INTERNAL' as const,
      message: `job ${task.jobKey} is not in the run's spec`,
    };
    return { kind: 'done', outcome: failed(error), job: undefined };
  }
  const needs = needStates(plan, claim);
  const base: ExprContext = {
    inputs: JSON.parse(claim.inputs),
    trigger: JSON.parse(claim.trigger),
    run: { id: task.runId, attempt: task.attempt, workflow: claim.workflow },
    needs: needsContext(plan, planned.needs, needs),
    ...(planned.matrix ? { matrix: planned.matrix } : {}),
  };
  const secretNames = unique(spec.secrets, job.secrets, grantedSecrets(base.trigger));
  try {
    // A job that is skipped fetches nothing, unless its `if` reads a secret.
    const early = readsSecrets(job.if) ? await secrets.fetch(secretNames) : undefined;
    const status = statusFromNeeds(needs.values());
    if (!evaluateCondition(job.if, { ...base, status, ...(early ? { secrets: early } : {}) })) {
      return { kind: 'done', outcome: { status: 'skipped', outputs: {}, error: null }, job };
    }
    const values = early ?? (await secrets.fetch(secretNames));
    const env = jobEnv(spec, job, base, JSON.parse(claim.env), values);
    return { kind: 'ready', scope: { spec, job, base, env, secretNames } };
  } catch (err) {
    return { kind: 'done', outcome: failed(secrets.mask(toErrorRecord(err))), job };
  }
}

/** The names of `lists` once each, in order; no set is built for the usual none. */
export function unique(...lists: (readonly string[] | undefined)[]): string[] {
  const given = lists.filter((l): l is readonly string[] => l !== undefined && l.length > 0);
  return given.length === 0 ? [] : [...new Set(given.flat())];
}

function readsSecrets(condition: string | undefined): boolean {
  return (
    condition !== undefined &&
    referencedContexts(condition, { condition: true }).contexts.has('secrets')
  );
}

/** The state of each need the claim read, as `needs.<job>` and the job's `if` see it. */
function needStates(plan: readonly PlannedJob[], claim: Claimed): Map<string, NeedState> {
  const states = new Map<string, NeedState>();
  for (const [key, need] of claim.needs) {
    const continueOnError = plan.find((p) => p.key === key)?.continueOnError ?? false;
    states.set(key, { status: need.status, outputs: JSON.parse(need.outputs), continueOnError });
  }
  return states;
}

function jobEnv(
  spec: Workflow,
  job: Job,
  base: ExprContext,
  runEnv: Record<string, unknown>,
  secrets: Record<string, string>,
): Record<string, string> {
  // Each level's env is evaluated only where it has one (no context built for none).
  const workflowEnv = toEnv({
    ...(spec.env ? (evaluateDeep(spec.env, { ...base, secrets }) as Record<string, unknown>) : {}),
    ...runEnv,
  });
  if (!job.env) return workflowEnv;
  const own = evaluateDeep(job.env, { ...base, env: workflowEnv, secrets });
  return { ...workflowEnv, ...toEnv(own as Record<string, unknown>) };
}
