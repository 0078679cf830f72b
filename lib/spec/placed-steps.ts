import { joinPath } from './path.js';
import type { HookName, Job, Step } from './schema.js';

/**
 * Where each step of a job sits and the id it is known by. Apart from check.ts and
 * without a value import of the zod schemas: the engine's plan reads step ids at run
 * time, and a function's init should not load the spec schema for that.
 */
export const HOOK_NAMES: readonly HookName[] = ['pre', 'post', 'onSuccess', 'onFailure'];

/** The id a step is known by in `steps.<id>` and in the run document. */
export function stepId(step: Pick<Step, 'id'>, index: number, hook?: HookName): string {
  return step.id ?? (hook ? `${hook}${index}` : `s${index}`);
}

export interface PlacedStep {
  step: Step;
  path: string;
  id: string;
  /** Where it sits: main steps or a hook list. */
  list: 'steps' | HookName;
  index: number;
}

/** A job's steps and hook steps, each with its id and path. */
export function placedSteps(job: Job, base: string): PlacedStep[] {
  const out: PlacedStep[] = job.steps.map((step, index) => ({
    step,
    index,
    list: 'steps' as const,
    id: stepId(step, index),
    path: joinPath(base, 'steps', index),
  }));
  for (const hook of HOOK_NAMES) {
    job.hooks?.[hook]?.forEach((step, index) => {
      out.push({
        step,
        index,
        list: hook,
        id: stepId(step, index, hook),
        path: joinPath(base, 'hooks', hook, index),
      });
    });
  }
  return out;
}
