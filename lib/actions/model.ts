import type { StepOutputs } from '../steps/executor.js';

// The shape of an action, apart from the registry: built-ins and the registry both need it.

/** An action's name: what the registry accepts and `uses: action:<name>` parses (steps/kinds.ts). */
export const ACTION_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

export interface ActionContext {
  /** Aborted on timeout or cancel; long-running actions must honour it. */
  signal: AbortSignal;
  env: Record<string, string>;
  /** Stable across retries: pass it on to side effects that accept one. */
  idempotencyKey: string;
}

/** A TypeScript action, run by `uses: action:<name>`; returns the step's outputs. */
export type ActionFn = (
  w: Record<string, unknown>,
  ctx: ActionContext,
) => Promise<StepOutputs | undefined> | StepOutputs | undefined;
