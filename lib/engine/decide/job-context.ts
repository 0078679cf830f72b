import type { ExprContext, JobStatus } from '../../expr/index.js';
import type { PlannedJob } from './plan.js';

/** GitHub's words for a finished job or step: `success | failure | cancelled | skipped`. */
export function resultOf(status: string): string {
  switch (status) {
    case 'succeeded':
      return 'success';
    case 'failed':
      return 'failure';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'skipped';
  }
}

export interface NeedState {
  status: string;
  outputs: Record<string, unknown>;
  continueOnError: boolean;
}

/**
 * `needs.<job>` for a job, grouped by the needed job's name. A matrix job's
 * outputs are lists of its instances' values in matrix order; its result is
 * `failure` if any instance failed (SPEC.md).
 */
export function needsContext(
  plan: readonly PlannedJob[],
  needKeys: string[],
  states: Map<string, NeedState>,
): NonNullable<ExprContext['needs']> {
  const byName = new Map<string, PlannedJob[]>();
  for (const key of needKeys) {
    const planned = plan.find((p) => p.key === key);
    if (!planned) continue;
    byName.set(planned.name, [...(byName.get(planned.name) ?? []), planned]);
  }
  const needs: NonNullable<ExprContext['needs']> = {};
  for (const [name, instances] of byName) {
    const results = instances.map((i) => resultOf(states.get(i.key)?.status ?? ''));
    const result =
      ['failure', 'cancelled', 'skipped'].find((r) => results.includes(r)) ?? 'success';
    if (instances.length === 1 && !instances[0]?.matrix) {
      needs[name] = { outputs: states.get(instances[0]?.key ?? '')?.outputs ?? {}, result };
      continue;
    }
    const outputs: Record<string, unknown[]> = {};
    instances.forEach((instance, i) => {
      for (const [k, v] of Object.entries(states.get(instance.key)?.outputs ?? {})) {
        outputs[k] ??= new Array(instances.length).fill(null);
        (outputs[k] as unknown[])[i] = v;
      }
    });
    needs[name] = { outputs, result };
  }
  return needs;
}

/** What `success()`/`failure()`/`cancelled()` see in a job's `if`: the state of its needs. */
export function statusFromNeeds(states: Iterable<NeedState>): JobStatus {
  let status: JobStatus = 'success';
  for (const need of states) {
    if (need.status === 'cancelled') return 'cancelled';
    if (need.status === 'failed' && !need.continueOnError) status = 'failure';
  }
  return status;
}

/** Stringify env values the way a process sees them. */
export function toEnv(values: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    env[k] = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  }
  return env;
}
