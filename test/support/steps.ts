import { FlowlineError } from '../../lib/errors.js';
import type { StepRequest } from '../../lib/steps/index.js';

/** A StepRequest for executor tests: a file's defaults, then a test's overrides. */
export function stepRequest(
  defaults: Partial<StepRequest>,
  overrides: Partial<StepRequest> = {},
): StepRequest {
  return {
    uses: 'action:noop',
    with: {},
    env: {},
    idempotencyKey: 'run-1:job:s0',
    signal: new AbortController().signal,
    capabilities: new Set(),
    ...defaults,
    ...overrides,
  };
}

/** The FlowlineError a promise rejects with; fails the test if it resolves or throws another. */
export async function failure(promise: Promise<unknown>): Promise<FlowlineError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FlowlineError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}
