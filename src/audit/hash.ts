import { createHash } from 'node:crypto';
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
