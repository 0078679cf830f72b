import type { FieldProblem } from '../errors.js';
import { joinPath } from '../spec/path.js';
import { placedSteps } from '../spec/placed-steps.js';
import type { Workflow } from '../spec/schema.js';

/**
 * Which functions `lambda:<fn>` may invoke (SPEC.md "Capabilities and isolation"):
 * those matching FLOWLINE_LAMBDA_ALLOW, never flowline's own. Pure: the executor
 * asks it before every invoke, registration before a spec is stored.
 */
export interface LambdaPolicy {
  /** FLOWLINE_LAMBDA_ALLOW: full function names or globs (`*` any characters). */
  allow: readonly string[];
  /** FLOWLINE_LAMBDA_PREFIX, `<service>-<stage>-`: a short name is this service's function. */
  prefix?: string | undefined;
  /** The runner function's name when it is not `<prefix>runner`. */
  runnerFunction?: string | undefined;
}

/** This service's functions (serverless.yml), which no step may invoke. */
export const OWN_FUNCTIONS = ['submit', 'schedule', 'execute', 'runner'] as const;

/**
 * The FunctionNames to try for `lambda:<name>`, in order. An ARN (`arn:…`) or a
 * partial ARN (`<account>:function:<name>`) is used as is, and so is a name that
 * already carries the prefix. Any other name is first this service's function
 * (`<prefix><name>`), then, if no such function exists, the name as is (a function
 * of another service). A `:<alias or version>` suffix stays on the name.
 */
export function functionNameCandidates(name: string, prefix: string | undefined): string[] {
  if (name.startsWith('arn:') || name.includes(':function:')) return [name];
  if (!prefix || name.startsWith(prefix)) return [name];
  return [`${prefix}${name}`, name];
}

/** The bare function name of a FunctionName: without ARN parts and `:<alias or version>`. */
export function bareFunctionName(functionName: string): string {
  const marker = ':function:';
  const at = functionName.indexOf(marker);
  const rest = at === -1 ? functionName : functionName.slice(at + marker.length);
  return rest.split(':')[0] ?? '';
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(name);
}

export type LambdaDecision = { allowed: string[] } | { denied: string };

/**
 * The FunctionNames `lambda:<name>` may try, or why it may not run at all: a name
 * that resolves to one of flowline's own functions is denied outright (no fallback
 * to another service's function of that name), any other candidate must match the
 * allow list.
 */
export function decideLambdaTarget(name: string, policy: LambdaPolicy): LambdaDecision {
  const candidates = functionNameCandidates(name, policy.prefix);
  const own = new Set<string>(
    policy.prefix ? OWN_FUNCTIONS.map((fn) => `${policy.prefix}${fn}`) : [],
  );
  if (policy.runnerFunction) own.add(bareFunctionName(policy.runnerFunction));
  const ownHit = candidates.find((c) => own.has(bareFunctionName(c)));
  if (ownHit !== undefined) {
    return {
      denied: `'lambda:${name}' names '${bareFunctionName(ownHit)}', one of flowline's own functions, which steps may not invoke`,
    };
  }
  const allowed = candidates.filter((c) =>
    policy.allow.some((pattern) => globMatches(pattern.trim(), bareFunctionName(c))),
  );
  if (allowed.length === 0) {
    const names = candidates.map((c) => `'${bareFunctionName(c)}'`).join(' or ');
    return {
      denied: `'lambda:${name}' is not allowed: ${names} must match FLOWLINE_LAMBDA_ALLOW (${policy.allow.length === 0 ? 'empty' : policy.allow.join(', ')})`,
    };
  }
  return { allowed };
}

/** Registration: every `lambda:` step of `spec` whose target is denied, with its path. */
export function lambdaProblems(spec: Workflow, policy: LambdaPolicy): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [name, job] of Object.entries(spec.jobs)) {
    for (const { step, path } of placedSteps(job, joinPath('jobs', name))) {
      if (!step.uses.startsWith('lambda:')) continue;
      const decision = decideLambdaTarget(step.uses.slice('lambda:'.length), policy);
      if ('denied' in decision)
        problems.push({ path: joinPath(path, 'uses'), message: decision.denied });
    }
  }
  return problems;
}
