/**
 * The spec's size limits and the JSON type names its messages use, apart from the
 * zod schemas (schema.ts re-exports them): the engine and the store read them at
 * run time, and importing them must not load the spec schema at a function's init.
 */
export const LIMITS = {
  specBytes: 256 * 1024,
  jobs: 200,
  stepsPerJob: 100,
  matrixEntries: 256,
  /** Job instances per run, after matrix expansion. */
  jobInstances: 1_000,
  expressionBytes: 4 * 1024,
  /** Workflow outputs, and a child run's outputs as its parent's step receives them. */
  outputBytes: 256 * 1024,
  signalPayloadBytes: 64 * 1024,
  /** Signals kept for steps not yet waiting, per run. */
  keptSignals: 100,
} as const;

/** The JSON-Schema-like type name of a parsed JSON value. */
export function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}
