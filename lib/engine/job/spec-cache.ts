import type { Job, Workflow } from '../../spec/schema.js';
import { type PlannedJob, type PlannedStep, planRun, stepList } from '../decide/plan.js';

/**
 * A run's spec, parsed and planned once per process rather than on every claim:
 * the claim returns the spec's JSON, and for a large spec JSON.parse + planRun
 * block the event loop for milliseconds (~2 ms at 160 KB here), which every other
 * job in flight waits out. Keyed by the JSON itself, so no assumption about runs or
 * revisions: a hit is the same text, hence the same spec. The entries are frozen,
 * being shared by the jobs in flight: a caller that would change them throws.
 */
export interface ParsedSpec {
  spec: Workflow;
  plan: readonly PlannedJob[];
}

/** A warm execute container sees a few workflows; a few dozen specs cover them. */
const MAX_ENTRIES = 32;
const cache = new Map<string, ParsedSpec>();

export function parsedSpec(json: string): ParsedSpec {
  const hit = cache.get(json);
  if (hit) {
    // Most recently used last: the first key is the one to evict.
    cache.delete(json);
    cache.set(json, hit);
    return hit;
  }
  const spec = deepFreeze(JSON.parse(json) as Workflow);
  const parsed: ParsedSpec = { spec, plan: deepFreeze(planRun(spec)) };
  cache.set(json, parsed);
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
  return parsed;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * A job's steps in order (decide/plan.ts), listed once per job of a cached spec rather
 * than on every claim. Keyed by the frozen job object, so only a job of a spec this
 * cache parsed is kept; any other is listed afresh.
 */
const steps = new WeakMap<Job, readonly PlannedStep[]>();

export function plannedSteps(job: Job): readonly PlannedStep[] {
  const hit = steps.get(job);
  if (hit) return hit;
  const list = stepList(job);
  if (!Object.isFrozen(job)) return list;
  const frozen = deepFreeze(list);
  steps.set(job, frozen);
  return frozen;
}
