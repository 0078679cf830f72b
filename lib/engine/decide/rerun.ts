import { ValidationError } from '../../errors.js';
import type { Workflow } from '../../spec/schema.js';
import { jobField } from '../../store/job-fields.js';
import { stepField } from '../../store/keys.js';
import type { RunSnapshot } from '../../store/run-store.js';
import type { AdmitRequest, Trigger } from '../model.js';
import { type PlannedJob, planRun } from './plan.js';

/** A run that can be rerun: no job of it can still change. */

export interface ReuseSelection {
  /** The job name the rerun starts from; undefined when everything runs again. */
  fromJob: string | undefined;
  /** Job keys that run again, in plan order. */
  rerun: string[];
  /** Job keys that keep their outputs, in plan order. */
  reused: string[];
}

/**
 * Which jobs of a finished run a rerun repeats. `fromJob` (a job name: all its
 * matrix instances) defaults to the first failed job in plan order; without one,
 * everything runs again. The jobs that run again are `fromJob`, every job that did
 * not succeed (its outputs are not worth keeping) and everything downstream of
 * those in the needs DAG; the rest keep their recorded outputs. Pure.
 */
export function selectReuse(
  plan: PlannedJob[],
  statusOf: (jobKey: string) => string | undefined,
  fromJob?: string,
): ReuseSelection {
  if (fromJob !== undefined && !plan.some((p) => p.name === fromJob)) {
    const names = [...new Set(plan.map((p) => p.name))];
    throw new ValidationError(`the run has no job '${fromJob}'`, [
      { path: 'fromJob', message: `must be one of the workflow's jobs: ${names.join(', ')}` },
    ]);
  }
  const start = fromJob ?? plan.find((p) => statusOf(p.key) === 'failed')?.name;
  if (start === undefined) {
    return { fromJob: undefined, rerun: plan.map((p) => p.key), reused: [] };
  }
  const byKey = new Map(plan.map((p) => [p.key, p]));
  const again = new Set<string>();
  const worklist = plan
    .filter((p) => p.name === start || statusOf(p.key) !== 'succeeded')
    .map((p) => p.key);
  while (worklist.length > 0) {
    const key = worklist.pop() as string;
    if (again.has(key)) continue;
    again.add(key);
    worklist.push(...(byKey.get(key)?.dependents ?? []));
  }
  return {
    fromJob: start,
    rerun: plan.filter((p) => again.has(p.key)).map((p) => p.key),
    reused: plan.filter((p) => !again.has(p.key)).map((p) => p.key),
  };
}

export interface RerunAdmission {
  selection: ReuseSelection;
  /** What `admitRun` needs, but for the reused step records. */
  admit: AdmitRequest;
  /** Step records of the reused jobs for the new run's steps hash, marked `reused`. */
  stepRecords: Record<string, string>;
}

/**
 * The new run a rerun of `snap` asks for: the same spec and revision as pinned on
 * the run, its inputs unless new ones are given (checked again at admission), its
 * env, its trigger (`rerunTrigger`), and the outputs of the jobs it reuses. Pure.
 */
export function rerunAdmission(
  snap: RunSnapshot,
  tenant: string,
  body: { fromJob?: string; inputs?: Record<string, unknown> },
  /** Who asks for the rerun: the API key's identity. */
  actor = tenant,
): RerunAdmission {
  const { run, jobs, steps } = snap;
  const spec = JSON.parse(run.spec ?? '{}') as Workflow;
  const plan = planRun(spec);
  const selection = selectReuse(plan, (key) => jobs[jobField('status', key)], body.fromJob);
  const reuse = new Map(
    selection.reused.map((key) => [key, jobs[jobField('outputs', key)] ?? '{}']),
  );
  const stepRecords: Record<string, string> = {};
  for (const key of selection.reused) {
    const count = plan.find((p) => p.key === key)?.stepCount ?? 0;
    for (let i = 0; i < count; i++) {
      const field = stepField(key, i);
      const record = steps[field];
      if (record) stepRecords[field] = JSON.stringify({ ...JSON.parse(record), reused: true });
    }
  }
  const admit: AdmitRequest = {
    tenant,
    spec,
    revision: Number(run.revision ?? 0),
    inputs: body.inputs ?? (JSON.parse(run.inputs ?? '{}') as Record<string, unknown>),
    env: JSON.parse(run.env ?? '{}') as Record<string, string>,
    trigger: rerunTrigger(JSON.parse(run.trigger ?? '{}') as Partial<Trigger>, actor, run.id ?? ''),
    rerunOf: run.id ?? '',
    reuse,
  };
  return { selection, admit, stepRecords };
}

/** The trigger types whose payload is not the run's inputs: a rerun keeps it as it was. */
const KEPT_PAYLOAD: ReadonlySet<string> = new Set(['schedule', 'webhook', 'workflow']);

/**
 * A rerun's trigger. A rerun runs the same thing again, so `trigger.*` reads in it what
 * it read in the first run: the same type (`if: trigger.type == 'webhook'` takes the
 * same branch; a child run keeps its depth and the secrets its parent granted) and the
 * same payload (the webhook body, the cron fire, the parent's links). An API run's
 * payload is its inputs (admit.ts), so it is left out here and admission makes it from
 * the rerun's inputs: with new inputs, `trigger.payload` and `inputs` agree. What says
 * it is a rerun: `rerunOf` (also on the run document), and the actor, who asked for
 * the rerun (API.md "Auth": a key's identity is the actor of all it does). A run
 * recorded as `type: 'rerun'` (before reruns kept the type) reruns as an API run.
 */
export function rerunTrigger(first: Partial<Trigger>, actor: string, rerunOf: string): Trigger {
  if (first.type !== undefined && KEPT_PAYLOAD.has(first.type)) {
    return {
      type: first.type,
      actor,
      ...(first.payload !== undefined ? { payload: first.payload } : {}),
      rerunOf,
    };
  }
  return { type: 'api', actor, rerunOf };
}
