/**
 * The one error family of flowline. `code` is the machine-readable code that
 * appears in run documents and problem+json answers (API.md); only the API layer
 * maps codes to HTTP statuses.
 */
export type ErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'STEP_FAILED'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'NOT_IMPLEMENTED'
  | 'SECRET_NOT_FOUND'
  | 'SECRET_LEAK'
  | 'CAPABILITY_DENIED'
  | 'EXPRESSION_ERROR'
  | 'RETRIES_EXHAUSTED'
  | 'LEASE_EXPIRED'
  | 'APPROVAL_REJECTED'
  | 'APPROVAL_TIMEOUT'
  | 'DEAD_LETTER'
  | 'FORBIDDEN'
  | 'JOB_FAILED'
  | 'INTERNAL'
  | 'QUOTA_EXCEEDED'
  | 'RATE_LIMITED'
  | 'OUTPUT_TOO_LARGE'
  /** A write failed after it may have reached Redis: the caller must look before retrying. */
  | 'RUN_STATE_UNKNOWN';

export interface FieldProblem {
  /** Dotted path of the bad field, e.g. `jobs.build.steps[2].uses`. */
  path: string;
  message: string;
  /** 1-based line in the YAML source, when known. */
  line?: number;
}

export class FlowlineError extends Error {
  override readonly name: string = 'FlowlineError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Bad input: every problem found, each with the path of the field. `malformed`: the
 * text does not even parse (YAML or JSON syntax), which the API answers 400, not 422.
 */
export class ValidationError extends FlowlineError {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly problems: FieldProblem[],
    readonly malformed = false,
  ) {
    super('VALIDATION', message);
  }
}

/** A tenant over a quota or rate: refused, nothing written; try again after `retryAfterMs`. */
export class QuotaError extends FlowlineError {
  override readonly name = 'QuotaError';
  constructor(
    code: 'QUOTA_EXCEEDED' | 'RATE_LIMITED',
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(code, message);
  }
}

/** The `{message, code}` shape errors take inside run documents and events. */
export interface ErrorRecord {
  code: string;
  message: string;
}

export function toErrorRecord(err: unknown): ErrorRecord {
  if (err instanceof FlowlineError) return { code: err.code, message: err.message };
  if (err instanceof Error && err.name === 'AbortError')
    return { code: 'CANCELLED', message: err.message };
  return { code: 'STEP_FAILED', message: err instanceof Error ? err.message : String(err) };
}
