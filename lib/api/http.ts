import type { FieldProblem } from '../errors.js';

/** A request as the API sees it, free of API Gateway types. Header names are lower-case. */
export interface ApiRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  /** The raw body (already base64-decoded). */
  body: string;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** A body sent as it is instead of as JSON (the web UI's page, script and style). */
  text?: string;
}

/** An error meant for the client: becomes a problem document with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldProblem[],
    /** Extra response headers, e.g. `allow` on a 405. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }
}

/** No run of the tenant has this id: 404, another tenant's run included (API.md "Auth"). */
export const noSuchRun = (runId: string | undefined): HttpError =>
  new HttpError(404, 'Not Found', `no run '${runId}'`);

export const json = (
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): ApiResponse => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

/** RFC 9457 problem document (API.md). Never carries a stack trace. */
export function problem(err: HttpError): ApiResponse {
  return {
    status: err.status,
    headers: { ...err.headers, 'content-type': 'application/problem+json' },
    body: {
      type: 'about:blank',
      title: err.title,
      status: err.status,
      ...(err.detail ? { detail: err.detail } : {}),
      errors: err.errors ?? [],
    },
  };
}
