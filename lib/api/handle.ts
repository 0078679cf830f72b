import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { App } from '../app.js';
import { FlowlineError, ValidationError } from '../errors.js';
import { log } from '../log.js';
import { parseApiKeys, tenantFor } from './auth.js';
import { MAX_BODY_BYTES } from './body.js';
import { type ApiRequest, type ApiResponse, HttpError, problem } from './http.js';
import { createRouter } from './routes.js';

/** Statuses for the error codes the API exposes; anything else is a plain 500. */
const STATUS_OF_CODE: Partial<Record<string, number>> = {
  VALIDATION: 422,
  EXPRESSION_ERROR: 422,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAUTHORIZED: 401,
  NOT_IMPLEMENTED: 501,
};

const API_KEYS_TTL_MS = 300_000;

/**
 * The whole HTTP API as one function of (request) → response: routing, auth,
 * body limits and the mapping of errors to problem documents. The submit Lambda
 * only adapts API Gateway events to it.
 */
export function createApi(app: App) {
  const route = createRouter();
  const staticKeys =
    app.config.apiKeys !== undefined ? parseApiKeys(app.config.apiKeys) : undefined;
  let cachedKeys: { keys: Map<string, string>; until: number } | undefined;

  /** Keys from config, else from the Secrets Manager secret (cached per container). */
  async function apiKeys(): Promise<Map<string, string>> {
    if (staticKeys) return staticKeys;
    if (!app.config.apiKeysSecret) return new Map();
    if (cachedKeys && cachedKeys.until > Date.now()) return cachedKeys.keys;
    const out = await app.secretsClient.send(
      new GetSecretValueCommand({ SecretId: app.config.apiKeysSecret }),
    );
    cachedKeys = {
      keys: parseApiKeys(out.SecretString ?? ''),
      until: Date.now() + API_KEYS_TTL_MS,
    };
    return cachedKeys.keys;
  }

  return async function handle(req: ApiRequest): Promise<ApiResponse> {
    try {
      const { entry, params } = route(req.method, req.path);
      if (Buffer.byteLength(req.body) > MAX_BODY_BYTES) {
        throw new HttpError(413, 'Payload Too Large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
      }
      let tenant = '';
      if (entry.auth) {
        const found = tenantFor(await apiKeys(), req.headers.authorization);
        if (!found)
          throw new HttpError(
            401,
            'Unauthorized',
            'a valid `Authorization: Bearer <api key>` is required',
          );
        tenant = found;
      }
      return await entry.route({ app, req, params, tenant });
    } catch (err) {
      return problem(toHttpError(err, req));
    }
  };
}

function toHttpError(err: unknown, req: ApiRequest): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ValidationError) {
    return err.malformed
      ? new HttpError(400, 'Malformed spec', err.message, err.problems)
      : new HttpError(422, 'Validation failed', err.message, err.problems);
  }
  if (err instanceof FlowlineError) {
    const status = STATUS_OF_CODE[err.code];
    if (status) return new HttpError(status, err.code, err.message);
  }
  log.error({ err, method: req.method, path: req.path }, 'request failed');
  return new HttpError(
    500,
    'Internal Server Error',
    'the request could not be completed; it is safe to retry',
  );
}
