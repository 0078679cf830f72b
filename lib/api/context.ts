import type { App } from '../app.js';
import type { ApiRequest, ApiResponse } from './http.js';
import type { KeyState } from './key-source.js';

/**
 * What every route handler receives. Its own module so the route files (rerun, waits,
 * webhooks) and the router that lists them do not import each other.
 */
export interface RouteContext {
  app: App;
  req: ApiRequest;
  params: Record<string, string>;
  /** Set for every route but health (and webhooks later): the caller's tenant. */
  tenant: string;
  /** Who acts: the API key's name, or its tenant for an unnamed key (API.md "Auth"). */
  identity: string;
  /** The API key list's state, for health. */
  apiKeys: () => Promise<KeyState>;
}

export type Route = (ctx: RouteContext) => Promise<ApiResponse>;
