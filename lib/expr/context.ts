/** How the job (or run) is doing so far; drives success()/failure()/cancelled(). */
export type JobStatus = 'success' | 'failure' | 'cancelled';

/** Everything an expression can see. Missing contexts read as null, never throw. */
export interface ExprContext {
  inputs?: Record<string, unknown>;
  env?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
  steps?: Record<
    string,
    { outputs: Record<string, unknown>; outcome?: string; conclusion?: string }
  >;
  needs?: Record<string, { outputs: Record<string, unknown>; result: string }>;
  jobs?: Record<string, { outputs: Record<string, unknown>; result?: string }>;
  matrix?: Record<string, unknown>;
  trigger?: { type: string; actor?: string; payload?: unknown };
  run?: { id: string; attempt: number; workflow: string };
  /** For status functions: success() is status==='success', failure() ..., cancelled() ..., always() true. Default 'success'. */
  status?: JobStatus;
}

/**
 * The top-level names an expression may start with. Checked at parse time so a typo
 * (`input.ref`) is a spec error at registration, not a silent null at run time.
 */
export const CONTEXT_NAMES = [
  'inputs',
  'env',
  'secrets',
  'steps',
  'needs',
  'jobs',
  'matrix',
  'trigger',
  'run',
] as const;

export type ContextName = (typeof CONTEXT_NAMES)[number];

const CONTEXT_SET: ReadonlySet<string> = new Set(CONTEXT_NAMES);

/** Context names are case-insensitive, as in GitHub Actions (`Inputs.ref` works). */
export function toContextName(identifier: string): ContextName | undefined {
  const lower = identifier.toLowerCase();
  return CONTEXT_SET.has(lower) ? (lower as ContextName) : undefined;
}
