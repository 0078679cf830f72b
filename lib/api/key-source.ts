import { log } from '../log.js';
import { getSecretValue, type SecretsClient } from '../secrets/secrets-client.js';
import { type ApiKeys, MalformedKeyList, parseApiKeys } from './auth.js';

/**
 * The API key list as the API sees it. `missing` and `malformed` are settings to fix
 * (health says which); `unavailable` is Secrets Manager failing, tried again next time.
 */
export type KeyState =
  | { state: 'ok'; keys: ApiKeys }
  | { state: 'missing'; reason: string }
  | { state: 'malformed'; reason: string }
  | { state: 'unavailable'; reason: string };

/** How health shows it: `ok`, `missing`, `malformed: <reason>` or `unavailable`. */
export function describeKeys(s: KeyState): string {
  if (s.state === 'malformed') return `malformed: ${s.reason}`;
  return s.state;
}

export interface KeySourceOptions {
  /** FLOWLINE_API_KEYS. */
  list: string | undefined;
  /** FLOWLINE_API_KEYS_SECRET: read when `list` is not set. */
  secretId: string | undefined;
  client: SecretsClient;
  ttlMs: number;
  now?: () => number;
}

/**
 * The key list from the environment, else from the Secrets Manager secret (cached
 * per warm container for `ttlMs`, so a key added with `flowline keys add` is seen
 * within that time). Never throws: a bad list is a state, logged once per change,
 * not an error for every request.
 */
export function createKeySource(options: KeySourceOptions): () => Promise<KeyState> {
  const { list, secretId, client, ttlMs, now = Date.now } = options;
  let cached: { state: KeyState; until: number } | undefined;
  let logged = '';

  const report = (s: KeyState): KeyState => {
    const said = s.state === 'ok' ? 'ok' : `${s.state}: ${s.reason}`;
    if (said !== logged && s.state !== 'ok') {
      log.error({ apiKeys: s.state, reason: s.reason }, 'API keys unusable: requests answer 503');
    }
    logged = said;
    return s;
  };

  async function fromSecret(id: string): Promise<KeyState> {
    try {
      const out = await getSecretValue(client, id);
      return parsed(out.SecretString ?? '', `secret ${id}`);
    } catch (err) {
      if (err instanceof Error && err.name === 'ResourceNotFoundException') {
        return {
          state: 'missing',
          reason: `secret ${id} (FLOWLINE_API_KEYS_SECRET) does not exist`,
        };
      }
      return { state: 'unavailable', reason: `secret ${id} could not be read` };
    }
  }

  // A list from the environment (or none at all) is known at cold start: said then.
  if (list !== undefined || !secretId) {
    const state: KeyState =
      list !== undefined
        ? parsed(list, 'FLOWLINE_API_KEYS')
        : {
            state: 'missing',
            reason: 'neither FLOWLINE_API_KEYS nor FLOWLINE_API_KEYS_SECRET is set',
          };
    report(state);
    return async () => state;
  }
  return async () => {
    if (cached && cached.until > now()) return cached.state;
    const state = await fromSecret(secretId);
    // Unavailable is not cached: the next request tries again.
    cached = state.state === 'unavailable' ? undefined : { state, until: now() + ttlMs };
    return report(state);
  };
}

function parsed(text: string, source: string): KeyState {
  try {
    const keys = parseApiKeys(text);
    if (keys.size === 0) return { state: 'missing', reason: `${source} holds no keys` };
    return { state: 'ok', keys };
  } catch (err) {
    if (!(err instanceof MalformedKeyList)) throw err;
    return { state: 'malformed', reason: `${source}: ${err.message}` };
  }
}
