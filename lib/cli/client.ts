/**
 * A small client of the HTTP API (API.md). Every non-2xx answer becomes an ApiError
 * carrying the problem document; a server that cannot be reached is ApiUnreachableError.
 */

import type {
  EventPage,
  Problem,
  RerunSummary,
  RunDoc,
  RunPage,
  RunSummary,
  WorkflowRegistered,
  WorkflowSummary,
} from '../api/documents.js';
import { type ErrorCode, FlowlineError } from '../errors.js';

/** The API answered with a problem document (or something we turned into one). */
export class ApiError extends FlowlineError {
  override readonly name = 'ApiError';
  constructor(readonly problem: Problem) {
    super(codeOf(problem.status), `${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
  }
  get status(): number {
    return this.problem.status;
  }
}

export class ApiUnreachableError extends FlowlineError {
  override readonly name = 'ApiUnreachableError';
  constructor(url: string, cause: unknown) {
    const reason = cause instanceof Error ? causeMessage(cause) : String(cause);
    super('INTERNAL', `cannot reach the flowline API at ${url}: ${reason}`, { cause });
  }
}

export interface ClientOptions {
  baseUrl: string;
  apiKey?: string;
  fetch: typeof fetch;
  /** Per request; a hung server must not hang the CLI. */
  timeoutMs?: number;
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

interface RequestInit {
  body?: unknown;
  /** Sends `body` (a string) as is with this content type instead of JSON. */
  contentType?: string;
  headers?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
}

export type Client = ReturnType<typeof createClient>;

export function createClient(opts: ClientOptions) {
  const base = opts.baseUrl.replace(/\/+$/, '');

  async function call<T>(method: string, path: string, init: RequestInit = {}): Promise<Answer<T>> {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(init.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      headers['content-type'] = init.contentType ?? 'application/json';
      body = init.contentType ? String(init.body) : JSON.stringify(init.body);
    }
    let res: Response;
    let text: string;
    try {
      res = await opts.fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
      text = await res.text();
    } catch (err) {
      throw new ApiUnreachableError(base, err);
    }
    const parsed = parseJson(text);
    if (!res.ok) throw new ApiError(toProblem(res, parsed, text));
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  const run = (id: string) => `/v1/runs/${encodeURIComponent(id)}`;

  return {
    call,
    registerWorkflow: (name: string, text: string, format: 'yaml' | 'json') =>
      call<WorkflowRegistered>('PUT', `/v1/workflows/${encodeURIComponent(name)}`, {
        body: text,
        contentType: format === 'yaml' ? 'application/yaml' : 'application/json',
      }),
    startRun: (
      target: { workflow: string } | { spec: string },
      inputs: Record<string, unknown> | undefined,
      idempotencyKey: string | undefined,
    ) =>
      call<RunSummary>(
        'POST',
        'workflow' in target
          ? `/v1/workflows/${encodeURIComponent(target.workflow)}/runs`
          : '/v1/runs',
        {
          body: {
            ...('spec' in target ? { spec: target.spec } : {}),
            ...(inputs ? { inputs } : {}),
          },
          ...(idempotencyKey !== undefined
            ? { headers: { 'idempotency-key': idempotencyKey } }
            : {}),
        },
      ),
    listWorkflows: async () =>
      (await call<{ items: WorkflowSummary[] }>('GET', '/v1/workflows')).body,
    getRun: async (id: string) => (await call<RunDoc>('GET', run(id))).body,
    listRuns: async (query: {
      workflow?: string;
      status?: string;
      limit?: string;
      cursor?: string;
    }) => (await call<RunPage>('GET', '/v1/runs', { query })).body,
    events: async (id: string, after: string | undefined) =>
      (
        await call<EventPage>('GET', `${run(id)}/events`, {
          query: { after, limit: 1000 },
        })
      ).body,
    cancel: (id: string, reason?: string) =>
      call<unknown>('POST', `${run(id)}/cancel`, { body: reason ? { reason } : {} }),
    approve: (id: string, step: string, decision: { approve: boolean; comment?: string }) =>
      call<unknown>('POST', `${run(id)}/approvals/${encodeURIComponent(step)}`, { body: decision }),
    signal: (id: string, name: string, payload: unknown) =>
      call<unknown>('POST', `${run(id)}/signals/${encodeURIComponent(name)}`, {
        body: payload === undefined ? {} : { payload },
      }),
    rerun: (id: string, fromJob?: string) =>
      call<RerunSummary>('POST', `${run(id)}/rerun`, { body: fromJob ? { fromJob } : {} }),
  };
}

/** Gateways and proxies answer in HTML or plain text; those still become problems. */
function toProblem(res: Response, parsed: unknown, text: string): Problem {
  if (isProblem(parsed)) {
    return {
      ...parsed,
      status: res.status,
      errors: Array.isArray(parsed.errors) ? parsed.errors : [],
    };
  }
  const snippet = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  return {
    title: res.statusText || `HTTP ${res.status}`,
    status: res.status,
    ...(snippet ? { detail: snippet } : {}),
    errors: [],
  };
}

function isProblem(v: unknown): v is Problem {
  return typeof v === 'object' && v !== null && typeof (v as Problem).title === 'string';
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** fetch says "fetch failed"; the reason (ECONNREFUSED, a timeout) is in `cause`. */
function causeMessage(err: Error): string {
  if (err.name === 'TimeoutError') return 'timed out';
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: string }).code;
    return code ? `${err.message} (${code})` : `${err.message}: ${cause.message}`;
  }
  return err.message;
}

function codeOf(status: number): ErrorCode {
  if (status === 400 || status === 413 || status === 422) return 'VALIDATION';
  if (status === 401 || status === 403) return 'UNAUTHORIZED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 501) return 'NOT_IMPLEMENTED';
  return 'INTERNAL';
}
