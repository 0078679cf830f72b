import { createHash, timingSafeEqual } from 'node:crypto';

const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const MIN_KEY_LENGTH = 8;

/** A tenant id of the form API keys may name (`[a-z0-9][a-z0-9_-]{0,62}`). */
export const isTenantId = (value: string): boolean => TENANT.test(value);

/** A key's name (`tenant/name:key`) has the form of a tenant id. */
export const isKeyName = isTenantId;

/** Who a request is: its tenant, and the identity that acts (the key's name, else the tenant). */
export interface Caller {
  tenant: string;
  identity: string;
}

/** Key digest → caller. */
export type ApiKeys = Map<string, Caller>;

/** The key list does not parse; `message` names entries by position, never their text. */
export class MalformedKeyList extends Error {
  override readonly name = 'MalformedKeyList';
}

/**
 * One entry of a key list, as `flowline keys add` appends it: `tenant:key` or
 * `tenant/name:key`. Throws on a bad tenant, name or key.
 */
export function formatApiKey(entry: { tenant: string; name?: string; key: string }): string {
  const { tenant, name, key } = entry;
  if (!isTenantId(tenant)) throw new MalformedKeyList('the tenant must match [a-z0-9][a-z0-9_-]*');
  if (name !== undefined && !isKeyName(name)) {
    throw new MalformedKeyList('the key name must match [a-z0-9][a-z0-9_-]*');
  }
  if (!isKeyText(key)) {
    throw new MalformedKeyList(
      `the key must be ${MIN_KEY_LENGTH}+ characters without a comma or space`,
    );
  }
  return `${tenant}${name === undefined ? '' : `/${name}`}:${key}`;
}

const isKeyText = (key: string): boolean => key.length >= MIN_KEY_LENGTH && !/[\s,]/.test(key);

/**
 * Parses a key list: entries `tenant:key` or `tenant/name:key` (a named key: its
 * identity is `name`), separated by commas or newlines. Keys are kept as digests.
 * Throws MalformedKeyList naming the entry by its position (never its text, which
 * may be a key); an empty list parses to no keys.
 */
export function parseApiKeys(list: string): ApiKeys {
  const keys: ApiKeys = new Map();
  const entries = list
    .split(/[,\n]/)
    .map((p) => p.trim())
    .filter(Boolean);
  entries.forEach((entry, i) => {
    const at = `entry ${i + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 1) throw new MalformedKeyList(`${at} is not \`tenant[/name]:key\``);
    const [tenant = '', name, ...rest] = entry.slice(0, colon).split('/');
    const key = entry.slice(colon + 1);
    if (!isTenantId(tenant) || rest.length > 0) {
      throw new MalformedKeyList(`${at}: the tenant must match [a-z0-9][a-z0-9_-]*`);
    }
    if (name !== undefined && !isKeyName(name)) {
      throw new MalformedKeyList(`${at}: the key name must match [a-z0-9][a-z0-9_-]*`);
    }
    if (!isKeyText(key)) {
      throw new MalformedKeyList(
        `${at}: the key must be ${MIN_KEY_LENGTH}+ characters without a comma or space`,
      );
    }
    const d = digest(key);
    const caller = { tenant, identity: name ?? tenant };
    const before = keys.get(d);
    if (before && (before.tenant !== caller.tenant || before.identity !== caller.identity)) {
      throw new MalformedKeyList(`${at} reuses the key of another entry`);
    }
    keys.set(d, caller);
  });
  return keys;
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * The caller of an `Authorization: Bearer <key>` header, or undefined. Keys are held
 * as digests and compared digest-to-digest in constant time, so neither the lookup
 * nor the comparison leaks how much of a guess was right.
 */
export function callerFor(keys: ApiKeys, authorization: string | undefined): Caller | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const given = Buffer.from(digest(match[1]), 'hex');
  let caller: Caller | undefined;
  for (const [known, c] of keys) {
    if (timingSafeEqual(Buffer.from(known, 'hex'), given)) caller = c;
  }
  return caller;
}
