import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createApi, unavailable } from '../lib/api/handle.js';
import type { ApiRequest, ApiResponse } from '../lib/api/http.js';
import { metrics } from '../lib/metrics.js';
import { appStarter } from '../lib/start.js';

// A request answers 503 at once when Redis is away, and nothing of it lands later.
const start = appStarter(process.env, { redisFailFast: true });
let handle: ReturnType<typeof createApi> | undefined;

function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {}))
    if (v !== undefined) headers[k.toLowerCase()] = v;
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {}))
    if (v !== undefined) query[k] = v;
  const raw = event.body ?? '';
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    headers,
    query,
    body: event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw,
  };
}

/** API Gateway HTTP API (catch-all route) → the flowline HTTP API. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .handler(async (event) => {
    const started = await start();
    const req = toApiRequest(event);
    // A bad setting: every request (health too) is a 503 naming it.
    if (!started.ok) return toGatewayResponse(unavailable(started.problem, req));
    handle ??= createApi(started.app);
    return toGatewayResponse(await handle(req));
  })
  .use(logMetrics(metrics));

function toGatewayResponse(res: ApiResponse): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: res.status,
    headers: { 'content-type': 'application/json', ...res.headers },
    body: res.text ?? (res.body === undefined ? '' : JSON.stringify(res.body)),
  };
}
