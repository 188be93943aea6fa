import { createHash } from 'node:crypto';

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

/** JSON with object keys sorted at every depth, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

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
