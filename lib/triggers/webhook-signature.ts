import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a sender signs with (lower-case, as ApiRequest headers are). */
export const SIGNATURE_HEADER = 'x-flowline-signature';

/** A timestamped signature older or newer than this is refused (a replay window of 5 minutes). */
export const SIGNATURE_TOLERANCE_S = 300;

/** `sha256=` and the 64 hex digits of an HMAC-SHA256 (GitHub's `X-Hub-Signature-256` format). */
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;
/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, more `v1=` allowed (a secret being rotated). */
const TIMESTAMPED = /^t=(\d{1,12})((?:,v1=[0-9a-fA-F]{64})+)$/;

export type SignatureCheck = 'ok' | 'missing' | 'malformed' | 'mismatch' | 'expired';

/** The header value for `body` signed with `secret`: `sha256=<hex HMAC-SHA256>`. */
export function signWebhook(secret: string, body: string): string {
  return `sha256=${digest(secret, body).toString('hex')}`;
}

/** The timestamped header value: `t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">`. */
export function signWebhookTimestamped(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${digest(secret, `${unixSeconds}.${body}`).toString('hex')}`;
}

/**
 * Check a signature of the raw body: GitHub's `sha256=<hex>`, or the timestamped
 * `t=…,v1=…` within SIGNATURE_TOLERANCE_S of `nowMs` either way. Comparisons are
 * constant time over equal-length digests, so a wrong guess leaks nothing of how
 * close it came; a header of any other shape is refused before any comparison. Pure.
 */
export function checkWebhookSignature(
  secret: string,
  body: string,
  header: string | undefined,
  nowMs: number = Date.now(),
): SignatureCheck {
  if (header === undefined || header.trim() === '') return 'missing';
  const value = header.trim();
  const hex = SIGNATURE.exec(value)?.[1];
  if (hex !== undefined) return matches(hex, digest(secret, body)) ? 'ok' : 'mismatch';

  const stamped = TIMESTAMPED.exec(value);
  if (!stamped) return 'malformed';
  const t = stamped[1] ?? '';
  const expected = digest(secret, `${t}.${body}`);
  const signed = (stamped[2] ?? '')
    .split(',v1=')
    .filter(Boolean)
    .some((given) => matches(given, expected));
  if (!signed) return 'mismatch';
  // Checked after the HMAC, so only the holder of the secret learns a timestamp was stale.
  return Math.abs(nowMs / 1000 - Number(t)) <= SIGNATURE_TOLERANCE_S ? 'ok' : 'expired';
}

function matches(hex: string, expected: Buffer): boolean {
  const given = Buffer.from(hex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function digest(secret: string, text: string): Buffer {
  return createHmac('sha256', secret).update(text, 'utf8').digest();
}
