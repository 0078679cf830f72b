import { BOUNDS_DEFAULTS, type Config } from '../../config.js';
import { type ErrorRecord, toErrorRecord } from '../../errors.js';
import type { JobTask } from '../../queue/message.js';
import { isPlainObject } from '../../steps/executor.js';
import type { WorkflowStore } from '../../store/workflow-store.js';
import { hasEnded } from '../model.js';
import type { Suspension } from '../waits.js';
import { type AdmitConfig, admitRun, type Trigger } from './admit.js';
import type { ConcurrencyDeps } from './concurrency.js';
import { wakeParent } from './finish.js';

/** SPEC.md limits: child workflows nest at most this deep. */
export const MAX_CHILD_DEPTH = 5;

export type ChildDeps = ConcurrencyDeps & {
  workflows: WorkflowStore;
  config?: AdmitConfig & Partial<Pick<Config, 'maxDescendants'>>;
};

export type ChildStep =
  | { kind: 'done'; outputs: Record<string, unknown> }
  | { kind: 'fail'; error: ErrorRecord; outputs?: Record<string, unknown> }
  | { kind: 'suspend'; suspension: Suspension };

/** How deep a run is: 0 for a top-level run, its trigger says for a child. */
export function depthOf(trigger: Trigger): number {
  if (trigger.type !== 'workflow' || !isPlainObject(trigger.payload)) return 0;
  return Number(trigger.payload.depth ?? 1);
}

/** The root of a child run's tree (its trigger says); undefined for a top-level run. */
function rootOf(trigger: Trigger): string | undefined {
  if (trigger.type !== 'workflow' || !isPlainObject(trigger.payload)) return undefined;
  const root = trigger.payload.rootRunId ?? trigger.payload.parentRunId;
  return typeof root === 'string' ? root : undefined;
}

/** A finished child, as the parent's resolution records it → the step's ending. */
export function childOutcome(runId: string, resolution: Record<string, unknown>): ChildStep {
  const outputs = isPlainObject(resolution.outputs) ? resolution.outputs : {};
  if (resolution.status === 'succeeded') return { kind: 'done', outputs };
  const cause = isPlainObject(resolution.error) ? String(resolution.error.message ?? '') : '';
  const tooLarge = isPlainObject(resolution.error) && resolution.error.code === 'OUTPUT_TOO_LARGE';
  return {
    kind: 'fail',
    outputs: { runId },
    error: {
      code: tooLarge ? 'OUTPUT_TOO_LARGE' : 'STEP_FAILED',
      message: `child run ${runId} ${String(resolution.status)}${cause ? `: ${cause}` : ''}`,
    },
  };
}

/**
 * `uses: workflow:<name>`: start the child run (admission is idempotent under the
 * child id the step recorded first, so a crash and a second claim start it once),
 * then wait for it, or not (`wait: false`: the step's outputs are `{runId}`).
 */
export async function startChild(
  deps: ChildDeps,
  parent: { task: JobTask; trigger: Trigger; stepKey: string },
  name: string,
  w: Record<string, unknown>,
  childRunId: string,
  now: number,
): Promise<ChildStep> {
  const depth = depthOf(parent.trigger) + 1;
  if (depth > MAX_CHILD_DEPTH) {
    return fail(`child workflows nest at most ${MAX_CHILD_DEPTH} deep`);
  }
  if (w.inputs !== undefined && !isPlainObject(w.inputs))
    return fail("'with.inputs' must be an object");
  if (w.wait !== undefined && typeof w.wait !== 'boolean')
    return fail("'with.wait' must be true or false");
  const { tenant, runId } = parent.task;
  const latest = await deps.workflows.latest(tenant, name);
  if (!latest) return fail(`no workflow '${name}' is registered`);
  const root = rootOf(parent.trigger) ?? runId;
  const max = deps.config?.maxDescendants ?? BOUNDS_DEFAULTS.maxDescendants;
  if (!(await deps.runs.countDescendant(tenant, root, childRunId, max))) {
    return {
      kind: 'fail',
      error: {
        code: 'QUOTA_EXCEEDED',
        message: `run ${root} and its descendants have created ${max} runs (FLOWLINE_MAX_DESCENDANTS)`,
      },
    };
  }
  try {
    await admitRun(
      { ...deps, now: () => now },
      {
        tenant,
        spec: JSON.parse(latest.spec),
        revision: latest.revision,
        inputs: (w.inputs as Record<string, unknown> | undefined) ?? {},
        trigger: {
          type: 'workflow',
          actor: runId,
          payload: {
            parentRunId: runId,
            rootRunId: root,
            job: parent.task.jobKey,
            step: parent.stepKey,
            depth,
            // Names only: the child fetches the values itself (SPEC.md "Secrets").
            ...(Array.isArray(w.secrets) && w.secrets.length > 0 ? { secrets: w.secrets } : {}),
          },
        },
        runId: childRunId,
        parentRunId: runId,
      },
    );
  } catch (err) {
    const e = toErrorRecord(err);
    if (e.code !== 'VALIDATION') throw err;
    return fail(`child workflow '${name}': ${e.message}`);
  }
  await deps.runs.addChild(tenant, runId, childRunId);
  if (w.wait === false) return { kind: 'done', outputs: { runId: childRunId } };
  return {
    kind: 'suspend',
    suspension: { waitingFor: { kind: 'workflow', workflow: name, runId: childRunId } },
  };
}

/** After suspending: a child that finished before its parent waited wakes it now. */
export async function wakeIfChildEnded(
  deps: ChildDeps,
  tenant: string,
  parentRunId: string,
  childRunId: string,
  now: number,
): Promise<void> {
  const [status] = (await deps.runs.runFields(tenant, [childRunId], ['status']))[0] ?? [];
  if (hasEnded(status)) {
    await wakeParent(deps, tenant, childRunId, parentRunId, now);
  }
}

function fail(message: string): ChildStep {
  return { kind: 'fail', error: { code: 'VALIDATION', message } };
}
