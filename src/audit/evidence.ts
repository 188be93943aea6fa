import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { verifyAudit } from './verify-audit.js';

/** One access a person held or holds, with why they got it, who approved it and when it was verified. */
export interface EvidenceAccess {
  entitlement: string;
  system: string;
  status: string;
  /** `policy:<name>`, `request:<id>`, `exception:<id>`, `drift:<id>`. */
  source: string | null;
  justification: string | null;
  approved_by: string[];
  approved_at: string | null;
  granted_at: string | null;
  verified_at: string | null;
  revoked_at: string | null;
  expires_at: string | null;
}

export interface EvidencePerson {
  email: string;
  employee_id: string;
  status: string;
  access: EvidenceAccess[];
}

export interface Evidence {
  generated_at: string;
  since: string | null;
  audit_chain: { ok: boolean; rows: number; broken_at?: number };
  people: EvidencePerson[];
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/**
 * What an auditor asks for (SOC 2 CC6.1–CC6.3, ISO 27001 A.9.2): per person, each access with its
 * justification (the policy and what it is for, the request's reason, the exception's reason), who
 * approved it and when, and when it was granted, verified and revoked. `since` keeps access that
 * changed on or after that date. The audit chain's state is included, so the export says whether
 * the record behind it is intact.
 */
export async function buildEvidence(db: Db, options: { since?: Date | null; policyDescriptions?: Map<string, string> } = {}): Promise<Evidence> {
  const since = options.since ?? null;
  let query = db
    .selectFrom('grants')
    .innerJoin('people', 'people.id', 'grants.person_id')
    .select(['people.email', 'people.employee_id', 'people.status as person_status', 'grants.entitlement', 'grants.system', 'grants.status', 'grants.source', 'grants.applied_at', 'grants.verified_at', 'grants.revoked_at', 'grants.expires_at', 'grants.updated_at'])
    .orderBy('people.email')
    .orderBy('grants.entitlement');
  if (since) query = query.where('grants.updated_at', '>=', since);
  const rows = await query.execute();

  const requestIds = rows.map((r) => /^request:(\d+)$/.exec(r.source ?? '')?.[1]).filter((id): id is string => Boolean(id)).map(Number);
  const exceptionIds = rows.map((r) => /^exception:(\d+)$/.exec(r.source ?? '')?.[1]).filter((id): id is string => Boolean(id)).map(Number);
  const requests = new Map(
    (requestIds.length > 0 ? await db.selectFrom('access_requests').select(['id', 'justification', 'auto_approved', 'policy', 'decided_at']).where('id', 'in', requestIds).execute() : []).map((r) => [r.id, r]),
  );
  const decisions = requestIds.length > 0 ? await db.selectFrom('request_decisions').select(['request_id', 'approver_slack_id', 'decided_at']).where('request_id', 'in', requestIds).where('decision', '=', 'approved').orderBy('decided_at').execute() : [];
  const exceptions = new Map((exceptionIds.length > 0 ? await db.selectFrom('drift_exceptions').select(['id', 'reason', 'created_by', 'created_at']).where('id', 'in', exceptionIds).execute() : []).map((e) => [e.id, e]));

  const people = new Map<string, EvidencePerson>();
  for (const r of rows) {
    const person = people.get(r.email) ?? { email: r.email, employee_id: r.employee_id, status: r.person_status, access: [] };
    people.set(r.email, person);
    let justification: string | null = null;
    let approvedBy: string[] = [];
    let approvedAt: string | null = null;
    const source = r.source ?? '';
    if (source.startsWith('policy:')) {
      const name = source.slice('policy:'.length);
      justification = `birthright: policy ${name}${options.policyDescriptions?.get(name) ? ` (${options.policyDescriptions.get(name)})` : ''}`;
      approvedBy = [`policy:${name}`];
    } else if (source.startsWith('request:')) {
      const request = requests.get(Number(source.slice('request:'.length)));
      justification = request?.justification ?? null;
      const approvals = decisions.filter((d) => d.request_id === request?.id);
      approvedBy = request?.auto_approved ? [`policy:${request.policy} (auto_approve)`] : approvals.map((d) => `slack:${d.approver_slack_id}`);
      approvedAt = iso(request?.decided_at ?? approvals.at(-1)?.decided_at);
    } else if (source.startsWith('exception:')) {
      const exception = exceptions.get(Number(source.slice('exception:'.length)));
      justification = exception ? `drift exception: ${exception.reason}` : null;
      approvedBy = exception ? [exception.created_by] : [];
      approvedAt = iso(exception?.created_at);
    }
    person.access.push({
      entitlement: r.entitlement,
      system: r.system,
      status: r.status,
      source: r.source,
      justification,
      approved_by: approvedBy,
      approved_at: approvedAt,
      granted_at: iso(r.applied_at),
      verified_at: iso(r.verified_at),
      revoked_at: iso(r.revoked_at),
      expires_at: iso(r.expires_at),
    });
  }
  const chain = await verifyAudit(db);
  return {
    generated_at: new Date().toISOString(),
    since: since ? since.toISOString() : null,
    audit_chain: chain.ok ? { ok: true, rows: chain.rows } : { ok: false, rows: chain.rows, broken_at: chain.brokenAt },
    people: [...people.values()],
  };
}

export const EVIDENCE_COLUMNS = ['email', 'employee_id', 'person_status', 'entitlement', 'system', 'status', 'source', 'justification', 'approved_by', 'approved_at', 'granted_at', 'verified_at', 'revoked_at', 'expires_at'] as const;

/**
 * One CSV field (RFC 4180 quoting). A value a spreadsheet would run as a formula (`=`, `+`, `-`,
 * `@`, tab, CR) is prefixed with `'`: evidence must not become an attack on the auditor's laptop.
 */
export function csvField(value: string | null): string {
  if (value === null) return '';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function evidenceCsv(evidence: Evidence): string {
  const lines = [EVIDENCE_COLUMNS.join(',')];
  for (const p of evidence.people) {
    for (const a of p.access) {
      const values: (string | null)[] = [p.email, p.employee_id, p.status, a.entitlement, a.system, a.status, a.source, a.justification, a.approved_by.join(' '), a.approved_at, a.granted_at, a.verified_at, a.revoked_at, a.expires_at];
      lines.push(values.map(csvField).join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** A person's recent history from the audit log, newest first, for `/access audit @person`. */
export async function personHistory(db: Db, email: string, limit = 50): Promise<{ at: Date; actor: string; action: string; entitlement: string | null; reason: string | null; result: string | null }[]> {
  return db
    .selectFrom('audit_log')
    .select(['at', 'actor', 'action', 'entitlement', 'reason', 'result'])
    .where(sql`lower(subject)`, '=', email.toLowerCase())
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
}
