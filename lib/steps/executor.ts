import { type ErrorCode, FlowlineError } from '../errors.js';

export interface StepRequest {
  /** Raw `uses`, e.g. `http`, `shell`, `builtin:shell`, `action:echo`. */
  uses: string;
  /** Already expression-evaluated. */
  with: Record<string, unknown>;
  /** Merged workflow → job → step env. Secret values are never in here. */
  env: Record<string, string>;
  /** `<runId>:<jobKey>:<stepId or index>`, the same on every retry (DESIGN.md invariant 3). */
  idempotencyKey: string;
  /** Aborted on timeout or cancel; its `reason` is the FlowlineError to surface. */
  signal: AbortSignal;
  /** The step's time budget, when it has one (set by runWithTimeout): `signal` aborts then. */
  timeoutMs?: number;
  /**
   * Granted capabilities (kinds.ts): deployment ∩ workflow `permissions.capabilities`.
   * executorFor checks the kind's; an executor checks only finer ones (`private-network`).
   */
  capabilities: ReadonlySet<string>;
  /** Workflow `permissions.hosts` (exact or `*.example.org`); undefined = any host. */
  allowedHosts?: string[];
}

export type StepOutputs = Record<string, unknown>;

export interface StepExecutor {
  run(req: StepRequest): Promise<StepOutputs>;
}

/** A failure that still records outputs (shell non-zero exit, http unexpected status). */
export class StepFailedError extends FlowlineError {
  override readonly name: string = 'StepFailedError';
  constructor(
    message: string,
    readonly outputs?: StepOutputs,
    code: ErrorCode = 'STEP_FAILED',
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/**
 * The error to reject with once `signal` is aborted: its reason when that is a
 * FlowlineError (runWithTimeout aborts with TIMEOUT or CANCELLED), else CANCELLED.
 */
export function abortError(signal: AbortSignal): FlowlineError {
  const reason: unknown = signal.reason;
  if (reason instanceof FlowlineError) return reason;
  return new FlowlineError('CANCELLED', 'step cancelled', { cause: reason });
}

/** Rejects as soon as `signal` aborts, for work that cannot itself be aborted (DNS lookups). */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
