import type * as z from 'zod/mini';
import { type ApiRequest, HttpError } from './http.js';

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

type Schemas = typeof import('./body-schemas.js').REQUEST_SCHEMAS;

/**
 * A route's body: JSON (400 when malformed or nested too deep, `parseJsonBody`)
 * matching the named request schema (422 naming each bad path). The schemas (zod)
 * load at the first request that has a body: none of it at the submit function's
 * init, nothing for health or reads (bench/cold-start.ts).
 */
export async function requestBody<K extends keyof Schemas>(
  req: Pick<ApiRequest, 'body'>,
  name: K,
): Promise<z.output<Schemas[K]>> {
  const value = parseJsonBody(req.body);
  const { REQUEST_SCHEMAS, checkBody } = await import('./body-schemas.js');
  const schema: z.ZodMiniType = REQUEST_SCHEMAS[name];
  const checked = checkBody(schema, value);
  if (!checked.ok) {
    throw new HttpError(
      422,
      'Invalid request body',
      'the body does not match the expected shape',
      checked.problems,
    );
  }
  return checked.value as z.output<Schemas[K]>;
}
