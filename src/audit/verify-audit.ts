import type { Db } from '../db/database.js';
import { auditHash, GENESIS_HASH } from './hash.js';

export type AuditVerification =
  | { ok: true; rows: number; lastHash: string }
  | { ok: false; rows: number; brokenAt: number; reason: string };

/**
 * Recomputes the chain from the first row. Reads in pages by sequence number, so a long log
 * verifies in constant memory. Reports the first row whose content or link does not match.
 */
export async function verifyAudit(db: Db, pageSize = 5_000): Promise<AuditVerification> {
  let prev = GENESIS_HASH;
  let after = 0;
  let rows = 0;
  for (;;) {
    const page = await db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(pageSize).execute();
    for (const row of page) {
      const seq = Number(row.seq);
      if (row.prev_hash !== prev) {
        return { ok: false, rows, brokenAt: seq, reason: `row ${seq} does not follow row ${after || 'genesis'} (its prev_hash is not that row's hash): a row was removed or reordered` };
      }
      const expected = auditHash(prev, { ...row, detail: row.detail });
      if (expected !== row.hash) {
        return { ok: false, rows, brokenAt: seq, reason: `row ${seq} was altered: its content no longer matches its hash` };
      }
      prev = row.hash;
      after = seq;
      rows++;
    }
    if (page.length < pageSize) return { ok: true, rows, lastHash: prev };
  }
}
