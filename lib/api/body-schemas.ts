import * as z from 'zod/mini';
import '../zod-messages.js';
import { HttpError } from './http.js';

/**
 * The request bodies' schemas, loaded by body.ts's `requestBody` at the first
 * request with a body (not at init).
 */

/**
 * Validate with zod; every issue becomes a 422 problem naming its path. The request
 * schemas are zod/mini: every submit parses one, and classic zod's import costs tens
 * of ms of a cold start (bench/cold-start.ts).
 */
export function validateBody<T>(schema: z.ZodMiniType<T>, value: unknown, what = 'body'): T {
  const parsed = z.safeParse(schema, value);
  if (parsed.success) return parsed.data;
  throw new HttpError(
    422,
    'Invalid request body',
    `the ${what} does not match the expected shape`,
    parsed.error.issues.map((issue) => ({
      path: issue.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, ''),
      message: issue.message,
    })),
  );
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
