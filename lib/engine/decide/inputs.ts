import { type FieldProblem, ValidationError } from '../../errors.js';
import { jsonType } from '../../spec/limits.js';
import type { Workflow } from '../../spec/schema.js';

/** Inputs above this are refused at submit (SPEC.md limits). */
const MAX_INPUT_BYTES = 256 * 1024;

/**
 * Check submitted inputs against the workflow's declarations and apply defaults.
 * Pure; every problem is reported with its path (`inputs.ref`).
 */
export function resolveInputs(
  spec: Workflow,
  given: Record<string, unknown> = {},
): Record<string, unknown> {
  const defs = spec.inputs ?? {};
  const problems: FieldProblem[] = [];
  if (Buffer.byteLength(JSON.stringify(given)) > MAX_INPUT_BYTES) {
    problems.push({ path: 'inputs', message: `inputs exceed ${MAX_INPUT_BYTES} bytes` });
  }
  const resolved: Record<string, unknown> = {};
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(defs, name))
      problems.push({ path: `inputs.${name}`, message: 'unknown input' });
  }
  for (const [name, def] of Object.entries(defs)) {
    const value = Object.hasOwn(given, name) ? given[name] : def.default;
    if (value === undefined) {
      if (def.required)
        problems.push({ path: `inputs.${name}`, message: 'required input is missing' });
      continue;
    }
    if (jsonType(value) !== def.type) {
      problems.push({
        path: `inputs.${name}`,
        message: `must be of type ${def.type}, got ${jsonType(value)}`,
      });
      continue;
    }
    if (def.enum && !def.enum.some((v) => JSON.stringify(v) === JSON.stringify(value))) {
      problems.push({
        path: `inputs.${name}`,
        message: `must be one of ${JSON.stringify(def.enum)}`,
      });
      continue;
    }
    resolved[name] = value;
  }
  if (problems.length > 0) throw new ValidationError('invalid inputs', problems);
  return resolved;
}
