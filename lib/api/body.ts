import * as z from 'zod/mini';
import '../zod-messages.js';
import { HttpError } from './http.js';

export const MAX_BODY_BYTES = 1024 * 1024;
/** API.md: any JSON body nested deeper than this is 400 (recursive code past it would overflow). */
export const MAX_JSON_DEPTH = 64;

/** How deep the JSON text nests, counted on the raw text (brackets outside strings). */
export function jsonDepth(raw: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) max = Math.max(max, ++depth);
    else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

/** Parse a JSON body (empty → `{}`), answering 400 for malformed or too deeply nested JSON. */
export function parseJsonBody(raw: string): unknown {
  if (raw.trim() === '') return {};
  if (jsonDepth(raw) > MAX_JSON_DEPTH) {
    throw new HttpError(
      400,
      'Too deeply nested',
      `JSON nests deeper than ${MAX_JSON_DEPTH} levels`,
      [{ path: '', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
    );
  }
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new HttpError(
      400,
      'Malformed JSON',
      err instanceof Error ? err.message : 'invalid JSON',
      [{ path: '', message: 'body is not valid JSON' }],
    );
  }
}

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

export const RunRequest = z.strictObject({
  inputs: z.optional(jsonObject),
  env: runEnv,
});

export const InlineRunRequest = z.strictObject({
  /** The spec as a JSON object, or YAML/JSON text. */
  spec: z.union([jsonObject, z.string()]),
  inputs: z.optional(jsonObject),
  env: runEnv,
});

export const CancelRequest = z.strictObject({
  reason: z.optional(z.string().check(z.maxLength(1024))),
});
