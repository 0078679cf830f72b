import { FlowlineError } from '../errors.js';
import { builtinActions } from './builtin.js';
import { ACTION_NAME, type ActionFn } from './model.js';

export type { ActionContext, ActionFn } from './model.js';

const actions = new Map<string, ActionFn>(Object.entries(builtinActions));

/**
 * Registers `action:<name>`. Names are unique (built-ins included): a second
 * registration is a programming error, not an override. Returns an unregister function.
 */
export function registerAction(name: string, fn: ActionFn): () => void {
  if (!ACTION_NAME.test(name)) {
    throw new FlowlineError('VALIDATION', `action name '${name}' must match ${ACTION_NAME}`);
  }
  if (actions.has(name)) {
    throw new FlowlineError('CONFLICT', `action '${name}' is already registered`);
  }
  actions.set(name, fn);
  return () => {
    if (actions.get(name) === fn) actions.delete(name);
  };
}

export function getAction(name: string): ActionFn | undefined {
  return actions.get(name);
}

/** Registered action names, sorted. */
export function listActions(): string[] {
  return [...actions.keys()].sort();
}
