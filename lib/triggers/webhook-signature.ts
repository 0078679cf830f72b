import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a sender signs with (lower-case, as ApiRequest headers are). */
export const SIGNATURE_HEADER = 'x-flowline-signature';

/** `sha256=` and the 64 hex digits of an HMAC-SHA256 (GitHub's `X-Hub-Signature-256` format). */
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

export type SignatureCheck = 'ok' | 'missing' | 'malformed' | 'mismatch';

/** The header value for `body` signed with `secret`: `sha256=<hex HMAC-SHA256>`. */
export function signWebhook(secret: string, body: string): string {
  return `sha256=${digest(secret, body).toString('hex')}`;
}

/**
 * Check a `sha256=<hex>` signature of the raw body. The comparison is constant
 * time over equal-length digests, so a wrong guess leaks nothing of how close it
 * came; a header of any other shape is refused before any comparison. Pure.
 */
export function checkWebhookSignature(
  secret: string,
  body: string,
  header: string | undefined,
): SignatureCheck {
  if (header === undefined || header.trim() === '') return 'missing';
  const hex = SIGNATURE.exec(header.trim())?.[1];
  if (hex === undefined) return 'malformed';
  const given = Buffer.from(hex, 'hex');
  const expected = digest(secret, body);
  return given.length === expected.length && timingSafeEqual(given, expected) ? 'ok' : 'mismatch';
}

function digest(secret: string, body: string): Buffer {
  return createHmac('sha256', secret).update(body, 'utf8').digest();
}
