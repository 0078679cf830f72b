/**
 * Warnings about a valid spec (pure): things that run but are likely unsafe or do not
 * mean what they seem to (a comparison that is always false). Each
 * check is a small function of the spec; registration, inline runs and
 * `flowline validate` report what they find without refusing the spec.
 */
import type { FieldProblem } from '../errors.js';
import type { Node } from '../expr/parser.js';
import { parseTemplate, type TemplatePart } from '../expr/template.js';
import { walk } from '../expr/walk.js';
import { parseUses, withProblems } from '../steps/kinds.js';
import { type PlacedStep, placedSteps } from './check.js';
import { constantComparisonWarnings } from './comparison-warnings.js';
import { joinPath } from './path.js';
import type { Workflow } from './schema.js';

type Check = (spec: Workflow) => FieldProblem[];

/** Every warning of `spec`, in the order of CHECKS. */
export function specWarnings(spec: Workflow): FieldProblem[] {
  return CHECKS.flatMap((check) => check(spec));
}

// ---------------------------------------------------------------------------- injection

/** A reference to a value the workflow's caller or a step's output controls. */
function untrusted(root: string, keys: string[]): boolean {
  if (root === 'inputs') return true;
  if (root === 'trigger') return keys[0] === 'payload';
  if (root === 'steps' || root === 'needs') return keys[1] === 'outputs';
  return false;
}

/** `a.b['c'][x]` as `['a', 'b', 'c', '*']` when it is a chain of reads on a context. */
function accessChain(node: Node): string[] | undefined {
  if (node.type === 'context') return [node.name];
  if (node.type !== 'property' && node.type !== 'index') return undefined;
  const inner = accessChain(node.object);
  if (!inner) return undefined;
  if (node.type === 'property') return [...inner, node.key];
  const i = node.index;
  const key =
    i.type === 'literal' && (typeof i.value === 'string' || typeof i.value === 'number')
      ? String(i.value)
      : '*';
  return [...inner, key];
}

/** The untrusted references an expression reads, as `inputs.ref`, `steps.build.outputs.tag`. */
function untrustedRefs(root: Node): string[] {
  const refs: string[] = [];
  walk(root, (node) => {
    const chain = accessChain(node);
    if (chain && untrusted(chain[0] as string, chain.slice(1))) refs.push(chain.join('.'));
  });
  // walk meets `inputs.a.b` before `inputs.a`: keep the longest read of each chain.
  return refs.filter((r, i) => !refs.slice(0, i).some((longer) => longer.startsWith(`${r}.`)));
}

function templateParts(src: string): TemplatePart[] {
  try {
    return parseTemplate(src).parts;
  } catch {
    return []; // a syntax error is checkSpec's to report
  }
}

/** Whether literal text before an expression leaves it in a URL's scheme or host part. */
function inUrlHost(before: string): boolean {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(before);
  if (!scheme) return !/[/?#]/.test(before);
  return !/[/?#]/.test(before.slice(scheme[0].length));
}

/** The untrusted references interpolated where `inPlace` says (given the text before each). */
function refsIn(src: string, inPlace: (before: string) => boolean): string[] {
  const refs: string[] = [];
  let before = '';
  for (const part of templateParts(src)) {
    if (part.kind === 'text') before += part.text;
    else {
      if (inPlace(before)) refs.push(...untrustedRefs(part.node));
      before += '\u0000'; // an expression's value: not a separator the host could end at
    }
  }
  return [...new Set(refs)];
}

/** What a warning says: which references, where, and the fix. */
function refsMessage(refs: string[], into: string, fix: string): string {
  const one = refs.length === 1;
  return `${refs.join(', ')} ${one ? 'is' : 'are'} interpolated into ${into}: whoever sets ${one ? 'it' : 'them'} controls ${into === 'a shell command' ? 'the command' : 'where the request goes'}; ${fix}`;
}

/** The fix for a shell command: the value as an environment variable, quoted. */
function viaEnv(ref: string): string {
  const name = (ref.split('.').at(-1) ?? '').replace(/\W/g, '_').toUpperCase() || 'VALUE';
  return `pass it through env: (env: {${name}: "\${{ ${ref} }}"}) and quote "$${name}" in the command`;
}

/** Steps of every job and hook, with their paths. */
const allSteps = (spec: Workflow): PlacedStep[] =>
  Object.entries(spec.jobs).flatMap(([name, job]) => placedSteps(job, joinPath('jobs', name)));

const kindOf = (step: PlacedStep): string | undefined => {
  const uses = parseUses(step.step.uses);
  return typeof uses === 'string' ? undefined : uses.kind;
};

/** `inputs.*`, `trigger.payload.*` or step/job outputs in a shell step's command. */
const shellInjection: Check = (spec) =>
  allSteps(spec).flatMap((p) => {
    const command = p.step.with?.command;
    if (kindOf(p) !== 'shell' || typeof command !== 'string') return [];
    const refs = refsIn(command, () => true);
    if (refs.length === 0) return [];
    const message = refsMessage(refs, 'a shell command', viaEnv(refs[0] as string));
    return [{ path: joinPath(p.path, 'with', 'command'), message }];
  });

/** The same in the scheme or host of an http step's URL (the path and query are the step's own). */
const urlHostInjection: Check = (spec) =>
  allSteps(spec).flatMap((p) => {
    const url = p.step.with?.url;
    if (kindOf(p) !== 'http' || typeof url !== 'string') return [];
    const refs = refsIn(url, inUrlHost);
    if (refs.length === 0) return [];
    const fix =
      "keep the host literal (values belong in the path, query or body), or pass it through env: and check it against fixed hosts in the step's if:";
    return [
      {
        path: joinPath(p.path, 'with', 'url'),
        message: refsMessage(refs, "an http URL's host", fix),
      },
    ];
  });

// ---------------------------------------------------------------------------- with

/**
 * A step's `with` against its kind's arguments (lib/steps/kinds.ts): a missing required
 * one, a literal of the wrong type (the step would fail at run time), an argument the
 * kind does not take (ignored, often a typo). Warnings, not errors: such specs always
 * registered, and a step with `continueOnError` may be meant to fail.
 */
const stepWith: Check = (spec) =>
  allSteps(spec).flatMap((p) => {
    const uses = parseUses(p.step.uses);
    if (typeof uses === 'string') return [];
    return withProblems(uses.kind, p.step.with).map(({ key, message }) => ({
      path: joinPath(p.path, 'with', key),
      message,
    }));
  });

const CHECKS: readonly Check[] = [
  shellInjection,
  urlHostInjection,
  constantComparisonWarnings,
  stepWith,
];
