import type { FieldProblem } from '../errors.js';
import { joinPath } from '../spec/path.js';
import { placedSteps } from '../spec/placed-steps.js';
import type { Workflow } from '../spec/schema.js';
import { parseUses } from './kinds.js';
import { decideLambdaTarget, type LambdaPolicy } from './lambda-allow.js';

// Apart from lambda-allow.ts: the executor loads that policy, and must not load the spec.

/** Registration: every `lambda:` step of `spec` whose target is denied, with its path. */
export function lambdaProblems(spec: Workflow, policy: LambdaPolicy): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [name, job] of Object.entries(spec.jobs)) {
    for (const { step, path } of placedSteps(job, joinPath('jobs', name))) {
      const uses = parseUses(step.uses);
      if (typeof uses === 'string' || uses.kind !== 'lambda' || uses.name === undefined) continue;
      const decision = decideLambdaTarget(uses.name, policy);
      if ('denied' in decision)
        problems.push({ path: joinPath(path, 'uses'), message: decision.denied });
    }
  }
  return problems;
}
