import type { App } from '../app.js';
import { FlowlineError, QuotaError, ValidationError } from '../errors.js';
import { log } from '../log.js';
import type { StartProblem } from '../start.js';
import { isRedisUnavailable } from '../store/redis-client.js';
import { callerFor } from './auth.js';
import { MAX_BODY_BYTES } from './body.js';
import { type ApiRequest, type ApiResponse, HttpError, problem } from './http.js';
import { createKeySource, describeKeys } from './key-source.js';
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
  const apiKeys = createKeySource({
    list: app.config.apiKeys,
    secretId: app.config.apiKeysSecret,
    client: app.secretsClient,
    ttlMs: API_KEYS_TTL_MS,
  });

  return async function handle(req: ApiRequest): Promise<ApiResponse> {
    try {
      const { entry, params } = route(req.method, req.path);
      if (Buffer.byteLength(req.body) > MAX_BODY_BYTES) {
        throw new HttpError(413, 'Payload Too Large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
      }
      let caller = { tenant: '', identity: '' };
      if (entry.auth) {
        const keys = await apiKeys();
        if (keys.state !== 'ok') {
          // A setting to fix, said once in the log and by health: not a 500 per request.
          throw new HttpError(
            503,
            'API keys unavailable',
            `the API key list is ${describeKeys(keys)}; see GET /v1/health`,
          );
        }
        const found = callerFor(keys.keys, req.headers.authorization);
        if (!found)
          throw new HttpError(
            401,
            'Unauthorized',
            'a valid `Authorization: Bearer <api key>` is required',
          );
        caller = found;
      }
      return await entry.route({ app, req, params, ...caller, apiKeys });
    } catch (err) {
      return problem(toHttpError(err, req));
    }
  };
}

/** Seconds a client should wait before retrying a 503. */
const RETRY_AFTER_S = '2';

/**
 * The answer of a container that could not start (start.ts): 503 naming the
 * setting, health included, so a misconfigured deploy says what to fix.
 */
export function unavailable(p: StartProblem, req: ApiRequest): ApiResponse {
  const res = problem(
    new HttpError(503, 'Service Unavailable', p.message, [], { 'retry-after': RETRY_AFTER_S }),
  );
  if (req.method !== 'GET' || req.path.replace(/\/$/, '') !== '/v1/health') return res;
  return { ...res, body: { ...(res.body as object), settings: p.variables } };
}

function toHttpError(err: unknown, req: ApiRequest): HttpError {
  if (err instanceof HttpError) return err;
  if (isRedisUnavailable(err)) {
    log.warn({ err: (err as Error).message, path: req.path }, 'redis unavailable');
    return new HttpError(
      503,
      'Service Unavailable',
      'the run store is unavailable; retry later (with the same Idempotency-Key for a submit)',
      [],
      { 'retry-after': RETRY_AFTER_S },
    );
  }
  if (err instanceof ValidationError) {
    return err.malformed
      ? new HttpError(400, 'Malformed spec', err.message, err.problems)
      : new HttpError(422, 'Validation failed', err.message, err.problems);
  }
  if (err instanceof QuotaError) {
    return new HttpError(429, err.code, err.message, [], {
      'retry-after': String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))),
    });
  }
  if (err instanceof FlowlineError && err.code === 'RUN_STATE_UNKNOWN') {
    log.error({ err, method: req.method, path: req.path }, 'run write interrupted');
    return new HttpError(
      503,
      'Service Unavailable',
      `${err.message}: look it up (GET /v1/runs) before submitting again, or submit with an Idempotency-Key`,
    );
  }
  if (err instanceof FlowlineError) {
    const status = STATUS_OF_CODE[err.code];
    if (status) return new HttpError(status, err.code, err.message);
  }
  log.error({ err, method: req.method, path: req.path }, 'request failed');
  return new HttpError(
    500,
    'Internal Server Error',
    // Not "safe to retry": a write may have landed before the failure.
    'the request could not be completed',
  );
}
