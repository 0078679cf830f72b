import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createApi } from '../lib/api/handle.js';
import type { ApiRequest } from '../lib/api/http.js';
import { createApp } from '../lib/app.js';
import { loadConfig } from '../lib/config.js';

const handle = createApi(createApp(loadConfig()));

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
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(
  async (event) => {
    const res = await handle(toApiRequest(event));
    return {
      statusCode: res.status,
      headers: { 'content-type': 'application/json', ...res.headers },
      body: res.text ?? (res.body === undefined ? '' : JSON.stringify(res.body)),
    };
  },
);
