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
 * Verifies `Gatehouse-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`: HMAC-SHA256 of "<t>.<raw body>"
 * with the shared secret, any one v1 matching (senders rotating secrets send both), compared in
 * constant time, and t within 300 s of now in either direction (a replay of an old request, or one
 * dated in the future to outlive the window, is refused).
 */
export function verifyHrisSignature(header: string | undefined, rawBody: Buffer, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing Gatehouse-Signature header' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed Gatehouse-Signature header: expected t=<unix seconds>,v1=<hex sha256>' };
  if (Math.abs(nowSeconds - timestamp) > TOLERANCE_SECONDS) return { ok: false, reason: `signature timestamp is more than ${TOLERANCE_SECONDS} s from now` };
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
  const matches = signatures.some((s) => {
    const given = Buffer.from(s, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true } : { ok: false, reason: 'signature does not match' };
}
