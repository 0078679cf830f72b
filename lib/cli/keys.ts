/**
 * `flowline keys add|list`: the API key list of a deployed stack lives in one
 * Secrets Manager secret (FLOWLINE_API_KEYS_SECRET) as `tenant[/name]:key,…`, the
 * format of FLOWLINE_API_KEYS. `add` makes a strong key, appends it and prints it
 * once; `list` prints the labels, never a key. Two `add`s at the same instant may
 * race (read, append, write): run them one at a time.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { formatApiKey, isTenantId } from '../api/auth.js';
import { type Context, UsageError } from './commands.js';

export interface KeyStore {
  client: SecretsManagerClient;
  secretId: string;
}

/** `acme` or `acme/ci`: a tenant id, and optionally a key name of the same form. */
export function parseKeyLabel(label: string): string {
  const [tenant = '', name, ...rest] = label.split('/');
  if (!isTenantId(tenant) || rest.length > 0 || (name !== undefined && !isTenantId(name))) {
    throw new UsageError(
      `'${label}' is not TENANT or TENANT/NAME (each [a-z0-9][a-z0-9_-], up to 63 characters)`,
    );
  }
  return label;
}

/** 256 random bits; base64url has no `,` or `:`, the list's separators. */
export function generateKey(): string {
  return `fl_${randomBytes(32).toString('base64url')}`;
}

/** The labels (`tenant[/name]`) of a key list, in order. */
export function keyLabels(list: string): string[] {
  return list
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => entry.slice(0, Math.max(0, entry.indexOf(':'))));
}

/** The list with `label:key` appended; a label already there is refused. */
export function withKey(list: string, label: string, key: string): string {
  if (keyLabels(list).includes(label)) {
    throw new UsageError(`a key named '${label}' exists already (add another NAME: ${label}/…)`);
  }
  const [tenant = '', name] = label.split('/');
  return [list.trim(), formatApiKey({ tenant, name, key })].filter(Boolean).join(',');
}

/** The list, or undefined if the secret does not exist yet. */
async function readList(store: KeyStore): Promise<string | undefined> {
  try {
    const out = await store.client.send(new GetSecretValueCommand({ SecretId: store.secretId }));
    return out.SecretString ?? '';
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

export async function addKey(ctx: Context, store: KeyStore, label: string): Promise<number> {
  parseKeyLabel(label);
  const current = await readList(store);
  const key = generateKey();
  const next = withKey(current ?? '', label, key);
  if (current === undefined) {
    await store.client.send(
      new CreateSecretCommand({
        Name: store.secretId,
        Description: 'flowline API keys (tenant[/name]:key,…), written by `flowline keys add`',
        SecretString: next,
      }),
    );
  } else {
    await store.client.send(
      new PutSecretValueCommand({ SecretId: store.secretId, SecretString: next }),
    );
  }
  ctx.err(`added ${label} to ${store.secretId}; the key is shown only now:`);
  ctx.out(key);
  return 0;
}

export async function listKeys(ctx: Context, store: KeyStore): Promise<number> {
  const list = await readList(store);
  if (list === undefined) {
    ctx.err(`${store.secretId} does not exist yet: flowline keys add TENANT creates it`);
    return 0;
  }
  for (const label of keyLabels(list)) ctx.out(label);
  return 0;
}
