import { storedKey } from './key.js';

/** A failed call as the page shows it: the problem document's title and detail, never more. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail = '',
  ) {
    super(detail || title);
  }
}

/** Calls the flowline API of this origin with the stored key; JSON in and out. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const key = storedKey();
  if (!key) throw new ApiError(401, 'No API key', 'this browser has no key for the API yet');
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'API unreachable', 'the request did not reach the API; retrying');
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page): only the status is shown.
  }
  if (!res.ok) {
    const problem = (data ?? {}) as { title?: unknown; detail?: unknown };
    throw new ApiError(
      res.status,
      typeof problem.title === 'string' ? problem.title : `HTTP ${res.status}`,
      typeof problem.detail === 'string' ? problem.detail : '',
    );
  }
  return data as T;
}
