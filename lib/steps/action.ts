import { getAction, listActions } from '../actions/registry.js';
import {
  isPlainObject,
  type StepExecutor,
  StepFailedError,
  type StepOutputs,
  type StepRequest,
} from './executor.js';

/** `uses: action:<name>`: a TypeScript action from `lib/actions/`. Needs no capability. */
export const actionExecutor: StepExecutor = {
  async run(req: StepRequest): Promise<StepOutputs> {
    const name = req.uses.startsWith('action:') ? req.uses.slice('action:'.length) : req.uses;
    const fn = getAction(name);
    if (fn === undefined) {
      throw new StepFailedError(
        `unknown action '${name}'; known actions: ${listActions().join(', ')}`,
      );
    }
    const result = await fn(req.with, {
      signal: req.signal,
      env: req.env,
      idempotencyKey: req.idempotencyKey,
    });
    if (result === undefined || result === null) return {};
    if (!isPlainObject(result)) {
      throw new StepFailedError(`action '${name}' returned a non-object as outputs`);
    }
    return result;
  },
};
