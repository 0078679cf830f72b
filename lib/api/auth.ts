import { createHash, timingSafeEqual } from 'node:crypto';

const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A tenant id of the form API keys may name (`[a-z0-9][a-z0-9_-]{0,62}`). */
export const isTenantId = (value: string): boolean => TENANT.test(value);

/** Parses `tenant:key,tenant2:key2` into a lookup that compares keys in constant time. */
export function parseApiKeys(spec: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const pair of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const colon = pair.indexOf(':');
    const tenant = pair.slice(0, colon);
    const key = pair.slice(colon + 1);
    if (colon < 1 || !TENANT.test(tenant) || key.length < 8) {
      throw new Error(
        'API keys must be `tenant:key` pairs (tenant [a-z0-9_-], key of 8+ characters)',
      );
    }
    keys.set(digest(key), tenant);
  }
  return keys;
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * The tenant of an `Authorization: Bearer <key>` header, or undefined. Keys are
 * held as digests and compared digest-to-digest in constant time, so neither the
 * lookup nor the comparison leaks how much of a guess was right.
 */
export function tenantFor(
  keys: Map<string, string>,
  authorization: string | undefined,
): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const given = Buffer.from(digest(match[1]), 'hex');
  let tenant: string | undefined;
  for (const [known, t] of keys) {
    if (timingSafeEqual(Buffer.from(known, 'hex'), given)) tenant = t;
  }
  return tenant;
}
