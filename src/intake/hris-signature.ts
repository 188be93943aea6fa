import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signature's timestamp may be from now, either way (ARCHITECTURE.md → HRIS webhook). */
export const TOLERANCE_SECONDS = 300;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** `t=<unix seconds>,v1=<hex>` — what a sender computes. */
export function signHris(secret: string, rawBody: string | Buffer, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * Limits on the header. Rotation needs two signatures (old and new secret) and a third leaves room
 * for an overlap; 8 is generous, and 8 v1 values with t fit in ~560 characters. Anything longer is
 * not a sender we know, and refusing it bounds the work an unauthenticated request can cause.
 */
export const MAX_SIGNATURES = 8;
export const MAX_HEADER_CHARS = 1024;

const MALFORMED = 'malformed Gatehouse-Signature header: expected t=<unix seconds>,v1=<hex sha256>[,v1=…]';

/**
 * Verifies `Gatehouse-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`: HMAC-SHA256 of "<t>.<raw body>"
 * with the shared secret, any one v1 matching (senders rotating secrets send both), compared in
 * constant time, and t within 300 s of now in either direction (a replay of an old request, or one
 * dated in the future to outlive the window, is refused).
 *
 * The header is parsed strictly: every comma-separated part must be `key=value`; `t` must appear
 * once (two would leave open which one was signed); each v1 must be 64 hex digits. Junk beside a
 * valid signature is refused rather than skipped, because a sender that emits it is broken or is
 * not the sender. Unknown keys (`v0=`, a future `v2=`) are ignored, as Stripe does, so a sender can
 * add a scheme before Gatehouse checks it.
 */
export function verifyHrisSignature(header: string | undefined, rawBody: Buffer, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing Gatehouse-Signature header' };
  if (header.length > MAX_HEADER_CHARS) return { ok: false, reason: `Gatehouse-Signature header is longer than ${MAX_HEADER_CHARS} characters` };
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const match = /^([a-z][a-z0-9]*)=([\x21-\x7e]+)$/.exec(part.trim());
    if (!match) return { ok: false, reason: MALFORMED };
    const [, key, value] = match as unknown as [string, string, string];
    if (key === 't') {
      if (timestamp !== undefined) return { ok: false, reason: 'malformed Gatehouse-Signature header: t= appears more than once' };
      if (!/^\d{1,12}$/.test(value)) return { ok: false, reason: MALFORMED };
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value)) return { ok: false, reason: 'malformed Gatehouse-Signature header: each v1 must be 64 hex digits (HMAC-SHA256)' };
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: MALFORMED };
  if (signatures.length > MAX_SIGNATURES) return { ok: false, reason: `Gatehouse-Signature header has more than ${MAX_SIGNATURES} v1 signatures` };
  if (Math.abs(nowSeconds - timestamp) > TOLERANCE_SECONDS) return { ok: false, reason: `signature timestamp is more than ${TOLERANCE_SECONDS} s from now` };
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
  // Every signature is compared, matching or not, so the time taken does not say which one matched.
  let matches = false;
  for (const given of signatures) matches = timingSafeEqual(given, expected) || matches;
  return matches ? { ok: true } : { ok: false, reason: 'signature does not match' };
}
