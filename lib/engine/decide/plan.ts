import { FlowlineError } from '../../errors.js';
import { usesStatusFunction } from '../../expr/index.js';
import { expandMatrix, type MatrixCombination, matrixJobKey } from '../../spec/matrix.js';
import { stepId } from '../../spec/placed-steps.js';
import type { HookName, Job, Step, Workflow } from '../../spec/schema.js';
import { parseUses, stepKind } from '../../steps/kinds.js';
import { jobField } from '../../store/job-fields.js';

/**
 * The run plan: the spec's jobs expanded into job instances (one per matrix
 * combination) with their edges. Pure; computed once at submit and stored with
 * the run so the Lua transitions never need to understand the spec.
 */
export interface PlannedJob {
  key: string;
  name: string;
  matrix?: MatrixCombination;
  needs: string[];
  dependents: string[];
  /**
   * `success`: Lua queues the job only when every need succeeded and skips it
   * otherwise. `custom`: the `if` calls a status function, so the executor decides.
   */
  gate: 'success' | 'custom';
  continueOnError: boolean;
  stepCount: number;
  /** The id of the step the claim starts itself (`firstStep`), if any. */
  firstStep?: string;
  priority: 'high' | 'normal' | 'low';
  /** An instance of a matrix job: its `strategy` limits, shared by all its instances. */
  matrixGroup?: { name: string; maxParallel?: number; failFast: boolean };
}

/** A step of the flattened step list, in run order (hooks included). */
export interface PlannedStep {
  index: number;
  /** `steps.<key>` in expressions and `step` in events: the id, else `s<n>` / `<hook><n>` (spec `stepId`). */
  key: string;
  step: Step;
  hook?: HookName;
}

/** Steps in the order pre → steps → onSuccess → onFailure → post; which hooks run is decided at run time. */
export function stepList(job: Job): PlannedStep[] {
  const hooks = job.hooks ?? {};
  const groups: [Step[] | undefined, HookName | undefined][] = [
    [hooks.pre, 'pre'],
    [job.steps, undefined],
    [hooks.onSuccess, 'onSuccess'],
    [hooks.onFailure, 'onFailure'],
    [hooks.post, 'post'],
  ];
  const list: PlannedStep[] = [];
  for (const [steps, hook] of groups) {
    (steps ?? []).forEach((step, n) => {
      list.push({
        index: list.length,
        key: stepId(step, n, hook),
        step,
        ...(hook ? { hook } : {}),
      });
    });
  }
  return list;
}

/**
 * The step that starts as soon as its job is claimed, whatever the run holds: the
 * claim script then starts it itself (lua/claim-job.lua), sparing the executor a round
 * trip. Only a plain first step (no hook, no `if`, not a wait or a child run) of a
 * job with neither an `if` nor a concurrency group, whose decisions come first.
 */
export function firstStep(job: Job): string | undefined {
  const first = stepList(job)[0];
  if (!first || first.hook || first.step.if !== undefined) return undefined;
  if (job.if !== undefined || job.concurrency) return undefined;
  const uses = parseUses(first.step.uses);
  if (typeof uses === 'string') return undefined;
  // Waits and child runs are the engine's (kinds.ts runBy): they suspend the job.
  return stepKind(uses.kind).runBy === 'executor' ? first.key : undefined;
}

export function planRun(spec: Workflow): PlannedJob[] {
  const instances = new Map<string, PlannedJob[]>();
  for (const [name, job] of Object.entries(spec.jobs)) {
    const combos = job.strategy ? expandMatrix(job.strategy.matrix) : [undefined];
    instances.set(
      name,
      combos.map((matrix) => ({
        key: matrix ? matrixJobKey(name, matrix) : name,
        name,
        ...(matrix ? { matrix } : {}),
        needs: [],
        dependents: [],
        gate: job.if !== undefined && usesStatusFunction(job.if) ? 'custom' : 'success',
        continueOnError: job.continueOnError,
        stepCount: stepList(job).length,
        ...(firstStep(job) !== undefined ? { firstStep: firstStep(job) } : {}),
        priority: job.priority,
        ...(matrix && job.strategy
          ? {
              matrixGroup: {
                name,
                ...(job.strategy.maxParallel ? { maxParallel: job.strategy.maxParallel } : {}),
                failFast: job.strategy.failFast,
              },
            }
          : {}),
      })),
    );
  }
  for (const [name, job] of Object.entries(spec.jobs)) {
    const mine = instances.get(name) ?? [];
    for (const needName of job.needs) {
      const theirs = instances.get(needName) ?? [];
      for (const planned of mine) planned.needs.push(...theirs.map((t) => t.key));
      for (const need of theirs) need.dependents.push(...mine.map((m) => m.key));
    }
  }
  return [...instances.values()].flat();
}

/**
 * The `jobs` hash fields of a new run, which jobs start queued, and how many jobs
 * are left to finish (the run's `pending`).
 *
 * Readiness is decided by the Lua (lib/store/lua/includes/readiness.lua) for every
 * job whose needs end during the run. Here is only its case at admission, where no
 * need has ended but a rerun's reused (succeeded) ones and nothing is cancelled: a
 * job with no need left is queued, or held past its matrix group's maxParallel.
 * test/integration/dag-cascade.test.ts checks both on one table.
 *
 * `reused` (a rerun) maps job keys to the outputs JSON they keep from an earlier
 * run: those jobs are written already `succeeded`, count neither towards `pending`
 * nor towards their dependents' `waiting`, so the finish script unblocks the rest
 * exactly as if they had just finished. A reused job must not need a job that runs
 * again: its outputs could then not be the ones its needs would give.
 *
 * Matrix instances carry their group (`mgroup:`; the group's instance list, limit
 * and failFast under `minst: mmax: mff:`), so the finish script can hold instances
 * beyond `maxParallel` (`held:`, left pending) and cancel the rest on a failure.
 */
export function initialJobFields(
  plan: PlannedJob[],
  now: number,
  reused: ReadonlyMap<string, string> = new Map(),
  /** The n-th dispatch token of the run (lib/store/dispatch-token.ts). */
  tokenOf: (n: number) => string = String,
): {
  fields: Record<string, string>;
  queued: string[];
  pending: number;
} {
  const fields: Record<string, string> = {};
  const queued: string[] = [];
  let pending = 0;
  const started = new Map<string, number>();
  for (const job of plan) {
    const group = job.matrixGroup;
    if (group && !fields[jobField('minst', group.name)]) {
      Object.assign(fields, {
        [jobField('minst', group.name)]: JSON.stringify(
          plan.filter((p) => p.matrixGroup?.name === group.name).map((p) => p.key),
        ),
        [jobField('mff', group.name)]: group.failFast ? '1' : '0',
        ...(group.maxParallel ? { [jobField('mmax', group.name)]: String(group.maxParallel) } : {}),
      });
    }
    const outputs = reused.get(job.key);
    const common = {
      [jobField('fence', job.key)]: '0',
      [jobField('needs', job.key)]: JSON.stringify(job.needs),
      [jobField('deps', job.key)]: JSON.stringify(job.dependents),
      // Absent means the default (job-fields.ts): most jobs take neither.
      ...(job.gate !== 'success' ? { [jobField('gate', job.key)]: job.gate } : {}),
      ...(job.continueOnError ? { [jobField('coe', job.key)]: '1' } : {}),
      [jobField('nsteps', job.key)]: String(job.stepCount),
      // Read by every script that queues the job, so its tasks take the right queue.
      ...(job.priority !== 'normal' ? { [jobField('prio', job.key)]: job.priority } : {}),
    };
    if (outputs !== undefined) {
      const rerun = job.needs.find((need) => !reused.has(need));
      if (rerun !== undefined) {
        throw new FlowlineError(
          'INTERNAL',
          `job ${job.key} cannot be reused: it needs ${rerun}, which runs again`,
        );
      }
      // Attempt 0: the job never ran in this run; its step records say where it did.
      Object.assign(fields, common, {
        [jobField('status', job.key)]: 'succeeded',
        [jobField('attempt', job.key)]: '0',
        [jobField('token', job.key)]: '',
        [jobField('waiting', job.key)]: '0',
        [jobField('outputs', job.key)]: outputs,
        [jobField('finishedAt', job.key)]: String(now),
      });
      continue;
    }
    pending += 1;
    const waiting = job.needs.filter((need) => !reused.has(need)).length;
    const running = group ? (started.get(group.name) ?? 0) : 0;
    const held = waiting === 0 && group?.maxParallel !== undefined && running >= group.maxParallel;
    const ready = waiting === 0 && !held;
    if (ready) queued.push(job.key);
    if (ready && group) started.set(group.name, running + 1);
    Object.assign(fields, common, {
      ...(group ? { [jobField('mgroup', job.key)]: group.name } : {}),
      ...(held ? { [jobField('held', job.key)]: '1' } : {}),
      [jobField('status', job.key)]: ready ? 'queued' : 'pending',
      [jobField('attempt', job.key)]: ready ? '1' : '0',
      [jobField('token', job.key)]: ready ? tokenOf(queued.length) : '',
      ...(ready ? { [jobField('queuedAt', job.key)]: String(now) } : {}),
      [jobField('waiting', job.key)]: String(waiting),
      // Needs that ended without success so far (the finish script skips the job on one).
      ...(waiting > 0 ? { [jobField('nfail', job.key)]: '0' } : {}),
      ...(job.firstStep !== undefined ? { [jobField('first', job.key)]: job.firstStep } : {}),
    });
  }
  return { fields, queued, pending };
}
