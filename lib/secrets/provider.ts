import type { GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { FlowlineError } from '../errors.js';
import { getSecretValue, type SecretsClient } from './secrets-client.js';

export interface SecretsProviderOptions {
  client: SecretsClient;
  /** Secret ids are `${prefix}${tenant}/${NAME}` (SPEC.md default prefix `flowline/`). */
  prefix: string;
  /** How long a fetched value is reused by this warm container. */
  ttlMs: number;
  now?: () => number;
}

export interface SecretsProvider {
  /** The values of `names` for `tenant`, keyed by name. Rejects with SECRET_NOT_FOUND. */
  get(tenant: string, names: string[]): Promise<Record<string, string>>;
}

interface CacheEntry {
  value: Promise<string>;
  /** Infinity while the fetch is in flight, so concurrent gets share it. */
  expiresAt: number;
}

/** No `/` in tenants or names: `a/b` + `c` must never address the secret of `a` + `b/c`. */
const SEGMENT = /^[A-Za-z0-9_+=.@-]+$/;

/**
 * Secrets Manager behind a per-container TTL cache (a Map that lives as long as the
 * warm Lambda). Misses are not cached, so a secret created after a failure is seen at
 * the next get. Values never appear in errors or logs (DESIGN.md invariant 6).
 */
export function createSecretsProvider(options: SecretsProviderOptions): SecretsProvider {
  const { client, prefix, ttlMs, now = Date.now } = options;
  const cache = new Map<string, CacheEntry>();

  async function load(id: string, name: string): Promise<string> {
    let out: GetSecretValueCommandOutput;
    try {
      out = await getSecretValue(client, id);
    } catch (err) {
      if (err instanceof Error && err.name === 'ResourceNotFoundException') {
        throw new FlowlineError('SECRET_NOT_FOUND', `secret ${name} not found`);
      }
      throw new FlowlineError('INTERNAL', `could not read secret ${name}`, { cause: err });
    }
    if (typeof out.SecretString !== 'string') {
      throw new FlowlineError(
        'SECRET_NOT_FOUND',
        `secret ${name} has no SecretString (binary secrets are not supported)`,
      );
    }
    return out.SecretString;
  }

  function fetchOne(id: string, name: string): Promise<string> {
    const hit = cache.get(id);
    if (hit !== undefined && hit.expiresAt > now()) return hit.value;
    const entry: CacheEntry = { value: load(id, name), expiresAt: Number.POSITIVE_INFINITY };
    cache.set(id, entry);
    entry.value.then(
      () => {
        entry.expiresAt = now() + ttlMs;
      },
      () => {
        if (cache.get(id) === entry) cache.delete(id);
      },
    );
    return entry.value;
  }

  return {
    async get(tenant, names) {
      if (!SEGMENT.test(tenant)) throw new FlowlineError('VALIDATION', 'invalid tenant id');
      for (const name of names) {
        if (!SEGMENT.test(name)) {
          throw new FlowlineError('VALIDATION', `invalid secret name '${name}'`);
        }
      }
      const unique = [...new Set(names)];
      const values = await Promise.all(
        unique.map((name) => fetchOne(`${prefix}${tenant}/${name}`, name)),
      );
      return Object.fromEntries(unique.map((name, i) => [name, values[i] ?? '']));
    },
  };
}
