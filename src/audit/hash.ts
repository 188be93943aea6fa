import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';

export { canonicalJson };

/** The fields of an audit row that its hash covers (everything but the sequence number). */
export interface AuditFields {
  at: Date;
  actor: string;
  action: string;
  subject: string | null;
  entitlement: string | null;
  reason: string | null;
  result: string | null;
  detail: unknown;
}

export const GENESIS_HASH = '0'.repeat(64);

/** sha256(previous hash ‖ canonical row): changing any earlier row changes every later hash. */
export function auditHash(prevHash: string, fields: AuditFields): string {
  const body = canonicalJson({
    at: fields.at.toISOString(),
    actor: fields.actor,
    action: fields.action,
    subject: fields.subject,
    entitlement: fields.entitlement,
    reason: fields.reason,
    result: fields.result,
    detail: fields.detail ?? {},
  });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

/**
 * HMAC-SHA256(AUDIT_KEY, row hash). The hash chains every earlier row, so a row's MAC vouches for
 * all of history up to it: recomputing the chain after an edit is easy, signing it again is not
 * without the key. The domain prefix keeps a row MAC from ever being mistaken for an anchor MAC.
 */
export function auditMac(key: string, hash: string): string {
  return createHmac('sha256', key).update('gatehouse audit row\n').update(hash).digest('hex');
}

/** The published head of the chain: its newest row, and when it was published. */
export interface AnchorFields {
  seq: number;
  hash: string;
  /** The newest row's MAC as the database held it (null for an unkeyed row). */
  row_mac: string | null;
  at: Date;
}

/** HMAC over an anchor, so an anchor file can be checked for lines written without the key. */
export function anchorMac(key: string, anchor: AnchorFields): string {
  const body = canonicalJson({ seq: anchor.seq, hash: anchor.hash, row_mac: anchor.row_mac, at: anchor.at.toISOString() });
  return createHmac('sha256', key).update('gatehouse audit anchor\n').update(body).digest('hex');
}

/** Constant-time equality of two hex MACs. */
export function sameMac(a: string | null | undefined, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
