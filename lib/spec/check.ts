/**
 * Static checks of a schema-valid spec (pure): the `needs` graph, step ids, matrix
 * size, and every `${{ }}` expression — its syntax and whether the contexts it reads
 * exist where it is evaluated. Each problem carries the path of the field.
 */
import { listActions } from '../actions/registry.js';
import type { FieldProblem } from '../errors.js';
// The names read from `needs`, `steps` and `jobs` need the parsed trees, not only the
// top-level contexts referencedContexts reports: lib/expr exports them from these modules.
import { expressionRoots, referencesIn } from '../expr/analyze.js';
import { checkCondition, checkTemplate } from '../expr/index.js';
import type { Node } from '../expr/parser.js';
import { walk } from '../expr/walk.js';
import { parseUses } from '../steps/kinds.js';
import { expandMatrix, rawMatrixSize } from './matrix.js';
import { joinPath, type PathSegment } from './path.js';
import { type PlacedStep, placedSteps } from './placed-steps.js';
import { type Job, LIMITS, type Workflow } from './schema.js';

export { type PlacedStep, placedSteps, stepId } from './placed-steps.js';

const OPEN = '${{';

/**
 * What is not known of a spec the schema rejected, so the checks of the rest run
 * without false alarms: `jobs` only their `needs` are known (steps, outputs are not),
 * `inputs` the declarations did not parse.
 */
export interface Unknowns {
  jobs: ReadonlySet<string>;
  inputs: boolean;
}

const NOTHING_UNKNOWN: Unknowns = { jobs: new Set(), inputs: false };

export function checkSpec(spec: Workflow, unknowns: Unknowns = NOTHING_UNKNOWN): FieldProblem[] {
  const problems: FieldProblem[] = [];
  checkNeeds(spec, problems);
  checkCycles(spec, problems);
  let instances = 0;
  for (const [name, job] of Object.entries(spec.jobs)) {
    if (unknowns.jobs.has(name)) continue;
    const base = joinPath('jobs', name);
    checkStepIds(job, base, problems);
    checkActions(job, base, problems);
    if (job.strategy)
      instances += checkMatrix(job.strategy.matrix, joinPath(base, 'strategy', 'matrix'), problems);
    else instances += 1;
  }
  if (instances > LIMITS.jobInstances) {
    problems.push({
      path: 'jobs',
      message: `${instances} job instances after matrix expansion; at most ${LIMITS.jobInstances} per run`,
    });
  }
  checkExpressions(spec, unknowns, problems);
  return problems;
}

// ---------------------------------------------------------------------------- needs

function checkNeeds(spec: Workflow, problems: FieldProblem[]): void {
  for (const [name, job] of Object.entries(spec.jobs)) {
    job.needs.forEach((need, i) => {
      const path = joinPath('jobs', name, 'needs', i);
      if (need === name) problems.push({ path, message: `job "${name}" cannot need itself` });
      else if (!Object.hasOwn(spec.jobs, need)) {
        problems.push({ path, message: `unknown job "${need}" in needs` });
      }
    });
  }
}

function checkCycles(spec: Workflow, problems: FieldProblem[]): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const need of spec.jobs[name]?.needs ?? []) {
      if (need === name || !Object.hasOwn(spec.jobs, need)) continue; // reported by checkNeeds
      const s = state.get(need);
      if (s === 'visiting') {
        const cycle = stack.slice(stack.indexOf(need));
        const key = [...cycle].sort().join('\0');
        if (!reported.has(key)) {
          reported.add(key);
          problems.push({
            path: joinPath('jobs', need, 'needs'),
            message: `dependency cycle: ${[...cycle, need].join(' → ')}`,
          });
        }
      } else if (s === undefined) visit(need);
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of Object.keys(spec.jobs)) if (!state.has(name)) visit(name);
}

// ---------------------------------------------------------------------------- steps

function checkStepIds(job: Job, base: string, problems: FieldProblem[]): void {
  const seen = new Map<string, PlacedStep>();
  for (const placed of placedSteps(job, base)) {
    const key = placed.id.toLowerCase();
    const first = seen.get(key);
    if (!first) {
      seen.set(key, placed);
      continue;
    }
    const implicit = placed.step.id === undefined ? placed : first;
    const note =
      implicit.step.id === undefined ? ` (a step without id is known as "${implicit.id}")` : '';
    problems.push({
      path: placed.step.id === undefined ? placed.path : joinPath(placed.path, 'id'),
      message: `duplicate step id "${placed.id}", also used by ${first.path}${note}`,
    });
  }
}

/** `action:<name>` must name a registered action: an unknown one would only fail at run time. */
function checkActions(job: Job, base: string, problems: FieldProblem[]): void {
  for (const placed of placedSteps(job, base)) {
    const uses = parseUses(placed.step.uses);
    if (typeof uses === 'string' || uses.kind !== 'action') continue;
    const known = listActions();
    if (!known.includes(uses.name ?? '')) {
      problems.push({
        path: joinPath(placed.path, 'uses'),
        message: `unknown action "${uses.name}"; registered actions: ${known.join(', ')}`,
      });
    }
  }
}

// ---------------------------------------------------------------------------- matrix

function checkMatrix(
  matrix: NonNullable<Job['strategy']>['matrix'],
  path: string,
  problems: FieldProblem[],
): number {
  const axes = Object.keys(matrix).filter((k) => k !== 'include' && k !== 'exclude');
  (matrix.exclude ?? []).forEach((entry, i) => {
    for (const key of Object.keys(entry as object)) {
      if (!axes.includes(key)) {
        problems.push({
          path: joinPath(path, 'exclude', i, key),
          message: `"${key}" is not a matrix key (${axes.join(', ') || 'none'})`,
        });
      }
    }
  });
  const raw = rawMatrixSize(matrix);
  const max = LIMITS.matrixEntries;
  // Exclusions shrink the product, but not by orders of magnitude in any real spec.
  if (raw > max * 256) {
    problems.push({
      path,
      message: `matrix has ${raw} combinations before exclude; at most ${max}`,
    });
    return 0;
  }
  const size = expandMatrix(matrix).length;
  if (size > max)
    problems.push({ path, message: `matrix has ${size} combinations; at most ${max}` });
  if (size === 0) problems.push({ path, message: 'matrix has no combinations' });
  return size;
}

// ---------------------------------------------------------------------------- expressions

/** What an expression may read where it is evaluated. */
interface Scope {
  /** Declared secret names (lower-case: reads match case-insensitively). */
  secrets: Set<string>;
  /** Declared input names (lower-case); absent when not known (a rejected `inputs:`). */
  inputs?: Set<string>;
  /** Each job's declared output names (lower-case), by lower-case job name; absent: not known. */
  outputs: Map<string, Set<string> | undefined>;
  /** Absent outside a job. */
  job?: { name: string; needs: Set<string>; matrix: boolean };
  /** `jobs.<name>` is readable (workflow outputs only); lower-case job names. */
  jobs?: Set<string>;
  /** `steps.<id>` readable here, and all ids of the job; absent where there is no steps context. */
  steps?: { visible: Set<string>; all: Set<string> };
}

interface Refs {
  contexts: Set<string>;
  secrets: Set<string>;
  /** Names read from `needs`, `steps`, `jobs` and `inputs` with a static key. */
  members: Map<string, Set<string>>;
  /** Every read with static keys from a context on, e.g. `['needs', 'build', 'outputs', 'url']`. */
  chains: string[][];
}

const MEMBER_CONTEXTS = new Set(['needs', 'steps', 'jobs', 'inputs']);

/** `ctx.a['b'].c` → `[ctx, a, b, c]`; undefined when a key is computed or a filter (`.*`). */
function staticChain(node: Node): string[] | undefined {
  const keys: string[] = [];
  let at = node;
  while (at.type === 'property' || at.type === 'index') {
    const key =
      at.type === 'property'
        ? at.key
        : at.index.type === 'literal' && typeof at.index.value === 'string'
          ? at.index.value
          : undefined;
    if (key === undefined || key === '*') return undefined;
    keys.unshift(key);
    at = at.object;
  }
  return at.type === 'context' && keys.length > 0 ? [at.name, ...keys] : undefined;
}

function referencesOf(src: string, condition: boolean): Refs {
  // Parsed once: the contexts and secrets, then the member chains, are read off the same trees.
  const roots = expressionRoots(src, condition);
  const { contexts, secrets } = referencesIn(roots);
  const members = new Map<string, Set<string>>();
  const chains: string[][] = [];
  for (const root of roots) {
    walk(root, (node) => {
      const chain = staticChain(node);
      if (!chain) return;
      chains.push(chain);
      const [context = '', key = ''] = chain;
      if (chain.length !== 2 || !MEMBER_CONTEXTS.has(context)) return;
      const set = members.get(context) ?? new Set<string>();
      set.add(key);
      members.set(context, set);
    });
  }
  return { contexts, secrets, members, chains };
}

/** `needs.<job>.outputs.<name>` / `jobs.<job>.outputs.<name>` reads of outputs the job does not declare. */
function undeclaredOutputs(refs: Refs, context: 'needs' | 'jobs', scope: Scope): string[] {
  const found: string[] = [];
  for (const [ctx, job = '', field = '', name] of refs.chains) {
    if (ctx !== context || field.toLowerCase() !== 'outputs' || name === undefined) continue;
    const declared = scope.outputs.get(job.toLowerCase());
    if (!declared || declared.has(name.toLowerCase())) continue;
    const list = declared.size > 0 ? `it declares ${[...declared].join(', ')}` : 'it declares none';
    found.push(`${context}.${job}.outputs.${name}: job "${job}" has no output "${name}" (${list})`);
  }
  return [...new Set(found)];
}

const lower = (names: Iterable<string>) => new Set([...names].map((n) => n.toLowerCase()));

/** Checks one string that is evaluated as a template (or, `condition`, as an `if:`). */
function checkString(
  src: string,
  path: string,
  scope: Scope | undefined,
  condition: boolean,
  problems: FieldProblem[],
): void {
  if (!condition && !src.includes(OPEN)) return;
  const syntax = condition ? checkCondition(src) : checkTemplate(src);
  if (syntax !== null) {
    problems.push({ path, message: `invalid expression: ${syntax}` });
    return;
  }
  if (!scope) return;
  const refs = referencesOf(src, condition);
  const add = (message: string) => problems.push({ path, message });

  for (const secret of refs.secrets) {
    if (!scope.secrets.has(secret.toLowerCase())) {
      add(`secrets.${secret} is not declared in a secrets: list of the workflow, job or step`);
    }
  }
  if (scope.inputs) {
    for (const input of refs.members.get('inputs') ?? []) {
      if (scope.inputs.has(input.toLowerCase())) continue;
      const declared = scope.inputs.size > 0 ? `declared: ${[...scope.inputs].join(', ')}` : '';
      add(`inputs.${input}: no such input (${declared || 'the workflow declares no inputs'})`);
    }
  }
  if (refs.contexts.has('jobs')) {
    if (!scope.jobs) add('the jobs context is only available in the workflow outputs');
    else {
      for (const job of refs.members.get('jobs') ?? []) {
        if (!scope.jobs.has(job.toLowerCase())) add(`jobs.${job}: no such job`);
      }
      for (const message of undeclaredOutputs(refs, 'jobs', scope)) add(message);
    }
  }
  if (refs.contexts.has('matrix') && !scope.job?.matrix) {
    add('the matrix context is only available in a job with strategy.matrix');
  }
  if (refs.contexts.has('needs')) {
    if (!scope.job) add('the needs context is only available inside a job');
    else {
      for (const need of refs.members.get('needs') ?? []) {
        if (!scope.job.needs.has(need.toLowerCase())) {
          add(`needs.${need}: job "${scope.job.name}" does not list "${need}" in needs`);
        }
      }
      for (const message of undeclaredOutputs(refs, 'needs', scope)) add(message);
    }
  }
  if (refs.contexts.has('steps')) {
    if (!scope.steps) {
      add(
        scope.job
          ? 'the steps context is only available in steps and job outputs'
          : 'the steps context is only available inside a job',
      );
    } else {
      for (const id of refs.members.get('steps') ?? []) {
        const key = id.toLowerCase();
        if (scope.steps.visible.has(key)) continue;
        add(
          scope.steps.all.has(key)
            ? `steps.${id} has not run yet here: only earlier steps can be read`
            : `steps.${id}: no step with that id in job "${scope.job?.name}"`,
        );
      }
    }
  }
}

/** Every string under `value` (keys excluded) as a template. */
function checkTree(
  value: unknown,
  path: string,
  scope: Scope | undefined,
  problems: FieldProblem[],
  conditionAt?: (segments: PathSegment[]) => boolean,
  segments: PathSegment[] = [],
): void {
  if (typeof value === 'string') {
    checkString(value, path, scope, conditionAt?.(segments) ?? false, problems);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      checkTree(item, joinPath(path, i), scope, problems, conditionAt, [...segments, i]);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      checkTree(item, joinPath(path, key), scope, problems, conditionAt, [...segments, key]);
    }
  }
}

// `if` of a job (jobs.J.if), a step (jobs.J.steps[i].if) or a hook step (jobs.J.hooks.H[i].if).
export const isConditionPath = (s: PathSegment[]): boolean =>
  s[0] === 'jobs' &&
  s.at(-1) === 'if' &&
  (s.length === 3 ||
    (s.length === 5 && s[2] === 'steps' && typeof s[3] === 'number') ||
    (s.length === 6 && s[2] === 'hooks' && typeof s[4] === 'number'));

/**
 * Syntax of every expression in a value that may not match the schema (used when the
 * schema rejected the spec, so those problems are reported together).
 */
export function checkExpressionSyntax(value: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  checkTree(value, '', undefined, problems, isConditionPath);
  return problems;
}

function checkExpressions(spec: Workflow, unknowns: Unknowns, problems: FieldProblem[]): void {
  const workflowSecrets = lower(spec.secrets ?? []);
  const outputs = new Map(
    Object.entries(spec.jobs).map(([name, job]) => [
      name.toLowerCase(),
      unknowns.jobs.has(name) ? undefined : lower(Object.keys(job.outputs ?? {})),
    ]),
  );
  const workflowScope: Scope = {
    secrets: workflowSecrets,
    outputs,
    ...(unknowns.inputs ? {} : { inputs: lower(Object.keys(spec.inputs ?? {})) }),
  };
  for (const [key, value] of Object.entries(spec)) {
    if (key === 'jobs') continue;
    const scope =
      key === 'outputs' ? { ...workflowScope, jobs: lower(Object.keys(spec.jobs)) } : workflowScope;
    checkTree(value, key, scope, problems);
  }
  for (const [name, job] of Object.entries(spec.jobs)) {
    if (!unknowns.jobs.has(name)) checkJobExpressions(spec, workflowScope, name, job, problems);
  }
}

function checkJobExpressions(
  spec: Workflow,
  workflowScope: Scope,
  name: string,
  job: Job,
  problems: FieldProblem[],
): void {
  const base = joinPath('jobs', name);
  const jobScope: Scope = {
    ...workflowScope,
    secrets: lower([...(spec.secrets ?? []), ...(job.secrets ?? [])]),
    job: { name, needs: lower(job.needs), matrix: job.strategy !== undefined },
  };
  const placed = placedSteps(job, base);
  const all = lower(placed.map((p) => p.id));
  const ids = (lists: PlacedStep['list'][]) =>
    placed.filter((p) => lists.includes(p.list)).map((p) => p.id);
  // What ran before each list, in the order of SPEC.md "Jobs": pre → steps → onSuccess|onFailure → post.
  const before: Record<PlacedStep['list'], string[]> = {
    pre: [],
    steps: ids(['pre']),
    onSuccess: ids(['pre', 'steps']),
    onFailure: ids(['pre', 'steps']),
    post: ids(['pre', 'steps', 'onSuccess', 'onFailure']),
  };

  for (const [key, value] of Object.entries(job)) {
    if (key === 'steps' || key === 'hooks') continue;
    const path = joinPath(base, key);
    if (key === 'if') checkString(value as string, path, jobScope, true, problems);
    else if (key === 'outputs')
      checkTree(value, path, { ...jobScope, steps: { visible: all, all } }, problems);
    else checkTree(value, path, jobScope, problems);
  }

  for (const p of placed) {
    const earlier = placed.filter((q) => q.list === p.list && q.index < p.index).map((q) => q.id);
    const scope: Scope = {
      ...jobScope,
      secrets: new Set([...jobScope.secrets, ...lower(p.step.secrets ?? [])]),
      steps: { visible: lower([...before[p.list], ...earlier]), all },
    };
    for (const [key, value] of Object.entries(p.step)) {
      const path = joinPath(p.path, key);
      if (key === 'if') checkString(value as string, path, scope, true, problems);
      else checkTree(value, path, scope, problems);
    }
  }
}
