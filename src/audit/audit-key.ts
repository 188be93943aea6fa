import type { Db } from '../db/database.js';
import { auditMac, sameMac } from './hash.js';

/**
 * The key that signs audit rows (AUDIT_KEY), set once by the composition root (serve, the CLI)
 * from the parsed config. It is process-wide rather than passed down because every operation that
 * records something calls appendAudit inside its own transaction (some thirty call sites, in every
 * layer): threading a secret through all of them would put it in every deps object and log line
 * that prints one. Only src/audit reads it.
 */
let key: string | undefined;

export function setAuditKey(value: string | undefined): void {
  key = value === '' ? undefined : value;
}

export function currentAuditKey(): string | undefined {
  return key;
}

/**
 * At start-up: the configured key must be the one the log is signed with. A process without the
 * key could not append to a signed log (appendAudit refuses), and one with another key would sign
 * rows that never verify; both are refused here, before anything is served, with what to do.
 */
export async function checkAuditKey(db: Db, key: string | undefined): Promise<void> {
  const head = await db.selectFrom('audit_log').select(['seq', 'hash', 'mac']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (!head?.mac) return;
  if (!key) throw new Error(`the audit log is signed with AUDIT_KEY (row ${head.seq} has a MAC) but AUDIT_KEY is not set: set it to the key the log is signed with and start again`);
  if (!sameMac(head.mac, auditMac(key, head.hash))) {
    throw new Error(`AUDIT_KEY is not the key the audit log is signed with (row ${head.seq}'s MAC does not match it): set the right key, or run gatehouse audit verify to see whether the log was rewritten`);
  }
}
