import { createHash, randomBytes } from 'node:crypto';

/**
 * Dispatch tokens (DESIGN.md invariant 3): a job task claims its job only with the
 * job's current token, so a token must not be guessable, or a task forged into the
 * queue could claim a job. The n-th token of a run is derived from a random key the
 * run is created with (never shown): `sha1(key ":" n)`, its first 32 hex digits. The
 * scripts that queue a job mint the same way (lua/includes/mint-token.lua), so both sides of
 * a new run's first tasks agree without a round trip.
 */
export function newDispatchKey(): string {
  return randomBytes(16).toString('hex');
}

export function dispatchToken(key: string, n: number): string {
  return createHash('sha1').update(`${key}:${n}`).digest('hex').slice(0, 32);
}
