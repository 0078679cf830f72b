import * as z from 'zod/mini';
import '../zod-messages.js';
import type { FieldProblem } from '../errors.js';

/**
 * The request bodies' schemas, loaded by body.ts's `requestBody` at the first
 * request with a body (not at init).
 */

/**
 * Validate with zod: the value, or every issue as a problem naming its path (body.ts
 * answers 422 with them). The request schemas are zod/mini: every submit parses one,
 * and classic zod's import costs tens of ms of a cold start (bench/cold-start.ts).
 * No HttpError here: a value of the API's own modules imported by this lazily loaded
 * one would be split into a chunk of its own, one more file read at the submit
 * function's init (bench/README.md, cold start).
 */
export function checkBody<T>(
  schema: z.ZodMiniType<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; problems: FieldProblem[] } {
  const parsed = z.safeParse(schema, value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => ({
      path: issue.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, ''),
      message: issue.message,
    })),
  };
}

const jsonObject = z.record(z.string(), z.unknown());

const runEnv = z.optional(
  z.record(
    z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env names are [A-Za-z_][A-Za-z0-9_]*')),
    z.string(),
  ),
);

const RunRequest = z.strictObject({
  inputs: z.optional(jsonObject),
  env: runEnv,
});

const InlineRunRequest = z.strictObject({
  /** The spec as a JSON object, or YAML/JSON text. */
  spec: z.union([jsonObject, z.string()]),
  inputs: z.optional(jsonObject),
  env: runEnv,
});

const CancelRequest = z.strictObject({
  reason: z.optional(z.string().check(z.maxLength(1024))),
});

const RerunRequest = z.strictObject({
  fromJob: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  inputs: z.optional(z.record(z.string(), z.unknown())),
});

const ApprovalRequest = z.strictObject({
  approve: z.boolean(),
  /** Deprecated and ignored: the actor is the identity of the API key (API.md "Auth"). */
  actor: z.optional(z.string().check(z.maxLength(256))),
  comment: z.optional(z.string().check(z.maxLength(4096))),
});

const SignalRequest = z.strictObject({ payload: z.optional(z.unknown()) });

/** Every request body by name (body.ts `requestBody`). */
export const REQUEST_SCHEMAS = {
  run: RunRequest,
  inlineRun: InlineRunRequest,
  cancel: CancelRequest,
  rerun: RerunRequest,
  approval: ApprovalRequest,
  signal: SignalRequest,
};
