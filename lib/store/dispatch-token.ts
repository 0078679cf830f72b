import { createHash, randomBytes } from 'node:crypto';

/**
 * Dispatch tokens (DESIGN.md invariant 3): a job task claims its job only with the
 * job's current token, so a token must not be guessable, or a task forged into the
 * queue could claim a job. The n-th token of a run is derived from a random key the
 * run is created with (never shown): `sha1(key ":" n)`, its first 32 hex digits. The
 * scripts that queue a job mint the same way (DISPATCH_TOKEN_LUA), so both sides of
 * a new run's first tasks agree without a round trip.
 */
export function newDispatchKey(): string {
  return randomBytes(16).toString('hex');
}

export function dispatchToken(key: string, n: number): string {
  return createHash('sha1').update(`${key}:${n}`).digest('hex').slice(0, 32);
}

/** `mintToken()` for scripts: the run's next token (KEYS[1] is the run hash, as `runKey`). */
export const DISPATCH_TOKEN_LUA = /* lua */ `
local function mintToken()
  local n = rcall('HINCRBY', runKey, 'dispatch', 1)
  return string.sub(redis.sha1hex((rcall('HGET', runKey, 'dispatchKey') or '') .. ':' .. n), 1, 32)
end
`;
