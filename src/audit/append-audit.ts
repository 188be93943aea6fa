import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { currentAuditKey } from './audit-key.js';
import { auditHash, auditMac, GENESIS_HASH } from './hash.js';

export interface AuditEntry {
  /** Who did it: `system`, `policy:<name>`, `slack:<user id>`, `hris:<source>`, `scim`, `cli`. */
  actor: string;
  /** What happened, as `noun.verb`: `event.received`, `operation.verified`, `request.approved`. */
  action: string;
  /** Whom it concerns: a person's email or employee id. */
  subject?: string | null;
  entitlement?: string | null;
  /** Why: the policy name, request id or drift id behind it. */
  reason?: string | null;
  result?: string | null;
  detail?: Record<string, unknown>;
  /** Defaults to now; passed in by callers that record something that happened earlier. */
  at?: Date;
}

/** Any place whose audit rows share one chain; a single constant key serialises appenders. */
const CHAIN_LOCK = 0x6761_7465; // "gate"

/**
 * Appends entries to the hash-chained audit log inside the caller's transaction, so the audit row
 * commits with the change it describes, or not at all. A transaction-scoped advisory lock makes
 * appenders take turns, so two transactions never chain onto the same previous row (the database
 * refuses a fork anyway: migration 0014). With AUDIT_KEY set each row also gets its MAC; without
 * it, appending to a chain whose newest row is signed is refused, because an unsigned row after
 * signed ones is what an attacker rewriting the tail would leave (verify reports it as such).
 */
export async function appendAudit(trx: Transaction<Database> | Kysely<Database>, ...entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const run = async (t: Transaction<Database>) => {
    await sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`.execute(t);
    const last = await t.selectFrom('audit_log').select(['seq', 'hash', 'mac']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const key = currentAuditKey();
    if (!key && last?.mac) throw new AuditKeyMissingError(Number(last.seq));
    let prev = last?.hash ?? GENESIS_HASH;
    for (const entry of entries) {
      const fields = {
        // Postgres keeps microseconds; a JS Date has milliseconds: truncate so the hash round-trips.
        at: new Date(Math.floor((entry.at ?? new Date()).getTime())),
        actor: entry.actor,
        action: entry.action,
        subject: entry.subject ?? null,
        entitlement: entry.entitlement ?? null,
        reason: entry.reason ?? null,
        result: entry.result ?? null,
        detail: entry.detail ?? {},
      };
      const hash = auditHash(prev, fields);
      await t
        .insertInto('audit_log')
        .values({ ...fields, detail: JSON.stringify(fields.detail), prev_hash: prev, hash, mac: key ? auditMac(key, hash) : null })
        .execute();
      prev = hash;
    }
  };
  if (trx.isTransaction) await run(trx as Transaction<Database>);
  else await (trx as Kysely<Database>).transaction().execute(run);
}

export class AuditKeyMissingError extends Error {
  constructor(signedSeq: number) {
    super(`the audit log is signed with AUDIT_KEY (row ${signedSeq} has a MAC) but this process has no AUDIT_KEY: set AUDIT_KEY to the key the log is signed with and start again`);
    this.name = 'AuditKeyMissingError';
  }
}
