/**
 * Every step kind in one table (SPEC.md "Steps: uses"): how `uses:` names it, the
 * capability it needs, who runs it and the `with` it takes. The spec schema parses
 * `uses` and checks `with` from here, the engine dispatches from here (index.ts), and
 * the workflow permissions list the capabilities from here. Adding `uses: sqs` is one
 * row below, its executor file, and its line of EXECUTORS in index.ts (the compiler
 * asks for it).
 *
 * No executor module is imported here, not even by `import()`: the spec (and so the
 * submit function) loads this table, and a bundler puts every `import()` target into
 * the bundle (the http executor alone brings undici, ~1 MB). For the same reason the
 * executor files do not import this module.
 */
import { ACTION_NAME } from '../actions/model.js';
import { jsonType } from '../spec/limits.js';
import { closest, unknownKeyMessage } from '../suggest.js';

/** Capabilities a deployment can grant (SPEC.md "Capabilities and isolation"). */
export const CAPABILITIES = ['shell', 'http', 'private-network', 'lambda'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Signal names: `with.name` of a signal step and `POST /v1/runs/{id}/signals/{name}`. */
export const SIGNAL_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Same rule as a workflow's `name`, so `workflow:<name>` can only name something registrable. */
export const WORKFLOW_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;
// A function name, a partial ARN or a full ARN, optionally with `:alias`/`:version`
// (the AWS Invoke `FunctionName` forms).
const LAMBDA_NAME = /^[a-zA-Z0-9_:.-]{1,170}$/;

type JsonType = 'string' | 'number' | 'boolean' | 'object' | 'array';

/** One argument of `with`. A string holding `${{ }}` is only known at run time: not checked. */
export interface WithArg {
  /** The JSON types a literal may have; absent: any. */
  type?: JsonType | readonly JsonType[];
  required?: boolean;
  /** A literal string must match it. */
  pattern?: RegExp;
}

export interface StepKind {
  /** How `uses:` names the kind: exact spellings, or `<prefix>:<name>` with the name's rule. */
  uses:
    | { spellings: readonly string[] }
    | {
        prefix: string;
        name: RegExp;
        /** What the name is, in messages (`lambda:<function>`); default `name`. */
        means?: string;
      };
  /** Checked before the executor is even loaded; absent: the kind needs none. */
  capability?: Capability;
  /**
   * `executor`: a step executor runs it, loaded at its first step (lib/steps/index.ts
   * names its module; the compiler asks for it). `engine`: the engine runs it itself,
   * because it suspends the job (waits: lib/engine/waits.ts, child runs: child-run.ts).
   */
  runBy: 'executor' | 'engine';
  /** The arguments `with` takes; absent: any (an action's own). */
  with?: Readonly<Record<string, WithArg>>;
  /** Outputs whose type the kind fixes (comparison warnings rely on them). */
  outputTypes?: Readonly<Record<string, 'boolean' | 'number'>>;
}

const timeoutSeconds: WithArg = { type: 'number' };

export const STEP_KINDS = {
  http: {
    uses: { spellings: ['http'] },
    capability: 'http',
    runBy: 'executor',
    with: {
      url: { type: 'string', required: true },
      method: { type: 'string' },
      headers: { type: 'object' },
      body: {},
      timeoutMs: { type: 'number' },
      expectStatus: { type: ['number', 'array'] },
    },
  },
  shell: {
    uses: { spellings: ['shell', 'builtin:shell'] },
    capability: 'shell',
    runBy: 'executor',
    with: { command: { type: 'string', required: true }, cwd: { type: 'string' } },
    outputTypes: { exitCode: 'number' },
  },
  sleep: {
    uses: { spellings: ['sleep'] },
    runBy: 'engine',
    // One of the two: lib/engine/waits.ts says so when neither is there.
    with: { seconds: { type: 'number' }, until: { type: 'string' } },
  },
  approval: {
    uses: { spellings: ['approval', 'builtin:approval'] },
    runBy: 'engine',
    // `message`: KB Labs specs ask the approver something; kept in the spec, not shown.
    with: { timeoutSeconds, approvers: { type: 'array' }, message: { type: 'string' } },
    outputTypes: { approved: 'boolean' },
  },
  signal: {
    uses: { spellings: ['signal'] },
    runBy: 'engine',
    with: { name: { type: 'string', required: true, pattern: SIGNAL_NAME }, timeoutSeconds },
  },
  action: {
    uses: { prefix: 'action', name: ACTION_NAME },
    runBy: 'executor',
  },
  workflow: {
    uses: { prefix: 'workflow', name: WORKFLOW_NAME },
    runBy: 'engine',
    with: { inputs: { type: 'object' }, wait: { type: 'boolean' }, secrets: { type: 'array' } },
  },
  lambda: {
    uses: { prefix: 'lambda', name: LAMBDA_NAME, means: 'function' },
    capability: 'lambda',
    runBy: 'executor',
    with: { payload: {} },
  },
} as const satisfies Record<string, StepKind>;

export type UsesKind = keyof typeof STEP_KINDS;
/** The kinds a step executor runs (`runBy: 'executor'`). */
export type ExecutorKind = {
  [K in UsesKind]: (typeof STEP_KINDS)[K]['runBy'] extends 'executor' ? K : never;
}[UsesKind];

export interface UsesRef {
  kind: UsesKind;
  /** The part after `<prefix>:` (`action:`, `workflow:`, `lambda:`); absent for the other kinds. */
  name?: string;
}

const KINDS = Object.entries(STEP_KINDS) as [UsesKind, StepKind][];

/** The kind of each exact spelling (`builtin:shell` → shell). */
const SPELLINGS = new Map(
  KINDS.flatMap(([kind, row]) =>
    'spellings' in row.uses ? row.uses.spellings.map((s) => [s, kind] as const) : [],
  ),
);
/** `<prefix>:<name>` kinds by prefix. */
const PREFIXES = new Map(
  KINDS.flatMap(([kind, row]) =>
    'prefix' in row.uses ? [[row.uses.prefix, { kind, name: row.uses.name }] as const] : [],
  ),
);

export const SUPPORTED_USES = KINDS.map(([, row]) => {
  if ('prefix' in row.uses) return `${row.uses.prefix}:<${row.uses.means ?? 'name'}>`;
  const [first, ...aliases] = row.uses.spellings;
  return aliases.length > 0 ? `${first} (alias ${aliases.join(', ')})` : first;
}).join(', ');

/** The kind (and name) a `uses:` value names, or a message saying why it is not supported. */
export function parseUses(uses: string): UsesRef | string {
  const exact = SPELLINGS.get(uses);
  if (exact) return { kind: exact };

  const colon = uses.indexOf(':');
  const prefix = colon === -1 ? uses : uses.slice(0, colon);
  if (prefix === 'plugin') {
    return `"${uses}": plugin steps are not supported; supported kinds: ${SUPPORTED_USES}`;
  }
  const named = PREFIXES.get(prefix);
  if (!named) return `unknown step kind "${uses}"; supported kinds: ${SUPPORTED_USES}`;
  if (colon === -1 || colon === uses.length - 1) {
    return `"${uses}" needs a name after the colon, e.g. ${prefix}:<name>`;
  }
  const name = uses.slice(colon + 1);
  if (!named.name.test(name)) {
    return `"${uses}": invalid ${prefix} name "${name}" (must match ${named.name.source})`;
  }
  return { kind: named.kind, name };
}

/** The row of a parsed kind, typed as the general shape. */
export function stepKind(kind: UsesKind): StepKind {
  return STEP_KINDS[kind];
}

/** What is wrong with a step's literal `with` for its kind (pure): the argument and why. */
export interface WithProblem {
  key: string;
  message: string;
}

const isExpression = (v: unknown): boolean => typeof v === 'string' && v.includes('${{');

/**
 * The `with` of a step of `kind` against its row: required arguments, the types and
 * patterns of literal values, and keys the kind does not take (with the nearest one
 * when a key looks misspelt).
 */
export function withProblems(
  kind: UsesKind,
  w: Readonly<Record<string, unknown>> | undefined,
): WithProblem[] {
  const args = stepKind(kind).with;
  if (!args) return [];
  const given = w ?? {};
  const allowed = Object.keys(args);
  const problems: WithProblem[] = [];
  // A misspelt required argument is one problem (the unknown key says what to write), not two.
  const misspelt = new Set(
    Object.keys(given).flatMap((key) => (key in args ? [] : [closest(key, allowed)])),
  );
  for (const [key, arg] of Object.entries(args)) {
    if (arg.required && given[key] === undefined && !misspelt.has(key)) {
      problems.push({ key, message: `${kind} steps need with.${key}` });
    }
  }
  for (const [key, value] of Object.entries(given)) {
    const arg = args[key];
    if (!arg) {
      problems.push({ key, message: unknownKeyMessage(key, allowed) });
      continue;
    }
    if (value === undefined || value === null || isExpression(value)) continue;
    const types: readonly string[] = arg.type === undefined ? [] : [arg.type].flat();
    if (types.length > 0 && !types.includes(jsonType(value))) {
      problems.push({
        key,
        message: `with.${key} of ${kind} steps must be ${types.join(' or ')}, got ${jsonType(value)}`,
      });
    } else if (arg.pattern && typeof value === 'string' && !arg.pattern.test(value)) {
      problems.push({
        key,
        message: `with.${key} of ${kind} steps must match ${arg.pattern.source}`,
      });
    }
  }
  return problems;
}
