/**
 * Comparisons whose result is fixed by GitHub's coercion rules, whatever the run brings
 * (pure). The everyday case is a spec written for KB Labs, which compares as text:
 * `steps.gate.outputs.approved == 'false'` is true there for a rejected approval, but
 * here `approved` is a boolean, a boolean meets a string as numbers, and 'false' is not
 * a number — so the comparison is always false and the step never runs. Such a spec
 * still registers (it is valid), with a warning that names the field and the fix.
 */
import type { FieldProblem } from '../errors.js';
import { parseCondition } from '../expr/condition.js';
import type { Node } from '../expr/parser.js';
import { parseTemplate } from '../expr/template.js';
import { compare, parseNumber } from '../expr/values.js';
import { walk } from '../expr/walk.js';
import { parseUses, stepKind } from '../steps/kinds.js';
import { isConditionPath, stepId } from './check.js';
import { joinPath, type PathSegment } from './path.js';
import { HOOK_NAMES } from './placed-steps.js';
import type { Job, Workflow } from './schema.js';

type Known = 'boolean' | 'number';

/** Outputs whose type a step's kind fixes (the step-kind table). */
function outputTypesOf(uses: string): Readonly<Record<string, Known>> | undefined {
  const ref = parseUses(uses);
  return typeof ref === 'string' ? undefined : stepKind(ref.kind).outputTypes;
}

const BOOLEAN_FUNCTIONS = new Set([
  'success',
  'failure',
  'cancelled',
  'always',
  'contains',
  'startswith',
  'endswith',
]);

interface Scope {
  inputs: ReadonlyMap<string, string>;
  /** Lower-case step id → its `uses`, in the job the string belongs to. */
  steps: ReadonlyMap<string, string>;
}

export function constantComparisonWarnings(spec: Workflow): FieldProblem[] {
  const inputs = new Map(
    Object.entries(spec.inputs ?? {}).map(([name, def]) => [name.toLowerCase(), def.type]),
  );
  const problems: FieldProblem[] = [];
  const visit = (value: unknown, segments: PathSegment[], scope: Scope): void => {
    if (typeof value === 'string') {
      for (const message of warningsIn(value, isConditionPath(segments), scope)) {
        problems.push({ path: joinPath('', ...segments), message });
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => {
        visit(item, [...segments, i], scope);
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const job = segments.length === 1 && segments[0] === 'jobs' ? (item as Job) : undefined;
        visit(item, [...segments, key], job ? { inputs, steps: stepsOf(job) } : scope);
      }
    }
  };
  visit(spec, [], { inputs, steps: new Map() });
  return problems;
}

function stepsOf(job: Job): Map<string, string> {
  const steps = new Map<string, string>();
  job.steps.forEach((step, i) => {
    steps.set(stepId(step, i).toLowerCase(), step.uses);
  });
  for (const hook of HOOK_NAMES) {
    job.hooks?.[hook]?.forEach((step, i) => {
      steps.set(stepId(step, i, hook).toLowerCase(), step.uses);
    });
  }
  return steps;
}

function warningsIn(src: string, condition: boolean, scope: Scope): string[] {
  const roots: Node[] = [];
  try {
    if (condition) {
      const node = parseCondition(src);
      if (node) roots.push(node);
    } else if (src.includes('${{')) {
      for (const part of parseTemplate(src).parts) if (part.kind === 'expr') roots.push(part.node);
    }
  } catch {
    return []; // a syntax error is checkSpec's to report
  }
  const out: string[] = [];
  for (const root of roots) {
    walk(root, (node) => {
      if (node.type !== 'compare') return;
      const warning = constantComparison(node, scope);
      if (warning) out.push(warning);
    });
  }
  return out;
}

type Compare = Extract<Node, { type: 'compare' }>;

/** A warning when one side has a known type, the other is a literal, and the result is fixed. */
export function constantComparison(node: Compare, scope: Scope): string | undefined {
  for (const [typed, literal] of [
    [node.left, node.right],
    [node.right, node.left],
  ] as const) {
    if (literal.type !== 'literal') continue;
    const type = knownType(typed, scope);
    if (!type) continue;
    const flip = typed === node.right;
    const result = (value: unknown) =>
      evaluateCompare(node.op, flip ? literal.value : value, flip ? value : literal.value);
    const text = `${show(node.left)} ${node.op} ${show(node.right)}`;
    if (type === 'boolean') {
      const [whenTrue, whenFalse] = [result(true), result(false)];
      if (whenTrue !== whenFalse) continue;
      return (
        `${text} is always ${whenTrue}: ${show(typed)} is a boolean, and a boolean meets ` +
        `${describeLiteral(literal.value)} as numbers (GitHub's rules; KB Labs compares text). ` +
        `Write ${booleanFix(typed, node.op, literal.value)}`
      );
    }
    if (typeof literal.value === 'string' && Number.isNaN(parseNumber(literal.value))) {
      return (
        `${text} is always ${result(0)}: ${show(typed)} is a number, and ${describeLiteral(literal.value)} ` +
        `is not one, so they never compare (GitHub's rules; KB Labs compares text). ` +
        `Compare with a number, or with format('{0}', ${show(typed)}) to compare text`
      );
    }
  }
  return undefined;
}

function evaluateCompare(op: Compare['op'], left: unknown, right: unknown): boolean {
  const order = compare(left, right);
  if (op === '==') return order === 0;
  if (op === '!=') return order !== 0;
  if (order === undefined) return false;
  if (op === '<') return order < 0;
  if (op === '<=') return order <= 0;
  if (op === '>') return order > 0;
  return order >= 0;
}

/** What the spec fixes about a value's type: step outputs of known kinds, typed inputs, results. */
function knownType(node: Node, scope: Scope): Known | undefined {
  switch (node.type) {
    case 'literal':
      return typeof node.value === 'boolean' ? 'boolean' : undefined;
    case 'not':
    case 'compare':
      return 'boolean';
    case 'call':
      return BOOLEAN_FUNCTIONS.has(node.name) ? 'boolean' : undefined;
    case 'property':
      return propertyType(node.object, node.key, scope);
    default:
      return undefined;
  }
}

function propertyType(object: Node, key: string, scope: Scope): Known | undefined {
  const name = key.toLowerCase();
  if (object.type === 'context') {
    if (object.name === 'inputs') {
      const type = scope.inputs.get(name);
      return type === 'boolean' || type === 'number' ? type : undefined;
    }
    return object.name === 'run' && name === 'attempt' ? 'number' : undefined;
  }
  // steps.<id>.outputs.<key>
  if (object.type !== 'property' || object.key.toLowerCase() !== 'outputs') return undefined;
  const step = object.object;
  if (step.type !== 'property' || step.object.type !== 'context' || step.object.name !== 'steps') {
    return undefined;
  }
  const uses = scope.steps.get(step.key.toLowerCase());
  const outputs = uses === undefined ? undefined : outputTypesOf(uses);
  return outputs && Object.entries(outputs).find(([k]) => k.toLowerCase() === name)?.[1];
}

function booleanFix(typed: Node, op: Compare['op'], literal: unknown): string {
  const side = show(typed);
  const text = typeof literal === 'string' ? literal.trim().toLowerCase() : undefined;
  if ((op === '==' || op === '!=') && (text === 'true' || text === 'false')) {
    const wantsTrue = (text === 'true') === (op === '==');
    return `${wantsTrue ? side : `!${side}`} (or ${side} == ${wantsTrue})`;
  }
  return `a comparison with true or false (${side} == true)`;
}

function describeLiteral(value: unknown): string {
  return typeof value === 'string' ? `the string '${value}'` : `the literal ${String(value)}`;
}

/** Source-like text of a node, for messages; `…` where it is not a plain reference. */
function show(node: Node): string {
  switch (node.type) {
    case 'literal':
      return typeof node.value === 'string' ? `'${node.value}'` : String(node.value);
    case 'context':
      return node.name;
    case 'property':
      return `${show(node.object)}.${node.key}`;
    case 'wildcard':
      return `${show(node.object)}.*`;
    case 'call':
      return `${node.name}(…)`;
    case 'not':
      return `!${show(node.operand)}`;
    default:
      return '(…)';
  }
}
