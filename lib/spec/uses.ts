/**
 * `uses:` of a step names what runs it (SPEC.md "Steps: uses"). Parsing is pure and
 * shared by the schema (rejects unknown kinds at registration) and the engine
 * (dispatches on `kind`).
 */

export type UsesKind =
  | 'http'
  | 'shell'
  | 'action'
  | 'sleep'
  | 'approval'
  | 'signal'
  | 'workflow'
  | 'lambda';

export interface UsesRef {
  kind: UsesKind;
  /** The part after `action:`, `workflow:` or `lambda:`; absent for the other kinds. */
  name?: string;
}

export const SUPPORTED_USES =
  'http, shell (alias builtin:shell), sleep, approval (alias builtin:approval), signal, ' +
  'action:<name>, workflow:<name>, lambda:<function>';

const BARE: Readonly<Record<string, UsesKind>> = {
  http: 'http',
  shell: 'shell',
  'builtin:shell': 'shell',
  sleep: 'sleep',
  approval: 'approval',
  'builtin:approval': 'approval',
  signal: 'signal',
};

// Same rule as a workflow's `name`, so `workflow:<name>` can only name something registrable.
const WORKFLOW_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;
const ACTION_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
// A function name, a partial ARN or a full ARN, optionally with `:alias`/`:version`
// (the AWS Invoke `FunctionName` forms).
const LAMBDA_NAME = /^[a-zA-Z0-9_:.-]{1,170}$/;

const NAMED: Readonly<Record<string, { kind: UsesKind; pattern: RegExp }>> = {
  action: { kind: 'action', pattern: ACTION_NAME },
  workflow: { kind: 'workflow', pattern: WORKFLOW_NAME },
  lambda: { kind: 'lambda', pattern: LAMBDA_NAME },
};

/** The kind (and name) a `uses:` value names, or a message saying why it is not supported. */
export function parseUses(uses: string): UsesRef | string {
  const bare = BARE[uses];
  if (bare) return { kind: bare };

  const colon = uses.indexOf(':');
  const prefix = colon === -1 ? uses : uses.slice(0, colon);
  if (prefix === 'plugin') {
    return `"${uses}": plugin steps are not supported; supported kinds: ${SUPPORTED_USES}`;
  }
  const named = NAMED[prefix];
  if (!named) return `unknown step kind "${uses}"; supported kinds: ${SUPPORTED_USES}`;
  if (colon === -1 || colon === uses.length - 1) {
    return `"${uses}" needs a name after the colon, e.g. ${prefix}:<name>`;
  }
  const name = uses.slice(colon + 1);
  if (!named.pattern.test(name)) {
    return `"${uses}": invalid ${prefix} name "${name}" (must match ${named.pattern.source})`;
  }
  return { kind: named.kind, name };
}
