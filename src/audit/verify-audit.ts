import type { Db } from '../db/database.js';
import { currentAuditKey } from './audit-key.js';
import { anchorMac, auditHash, auditMac, GENESIS_HASH, sameMac } from './hash.js';

/** A published head of the chain, as `gatehouse audit anchor` writes it (one JSON line). */
export interface AuditAnchor {
  seq: number;
  hash: string;
  row_mac: string | null;
  /** ISO time it was published. */
  at: string;
  /** HMAC of the anchor under AUDIT_KEY; null when it was made without a key. */
  mac: string | null;
  /** Where this copy was read from, for messages: `anchors.jsonl line 3`, `database anchor #12`. */
  source?: string;
}

export type AuditVerification =
  | {
      ok: true;
      rows: number;
      lastSeq: number;
      lastHash: string;
      /** The first row with a MAC; rows before it predate AUDIT_KEY and are vouched for by its MAC. Null: no row is signed. */
      keyedFrom: number | null;
      anchorsChecked: number;
    }
  | { ok: false; rows: number; brokenAt: number; reason: string };

export interface VerifyOptions {
  pageSize?: number;
  /** AUDIT_KEY; defaults to the process's (setAuditKey). Null checks without a key. */
  key?: string | null;
  /** Anchors kept outside the database (`--anchor FILE`). */
  anchors?: AuditAnchor[];
  /** Also check the anchors recorded in audit_anchors (default true). */
  databaseAnchors?: boolean;
}

const short = (hash: string | null) => (hash ? `${hash.slice(0, 16)}…` : 'none');
const anchorName = (a: AuditAnchor) => `the anchor of ${a.at}${a.source ? ` (${a.source})` : ''}`;

/**
 * Recomputes the chain from the first row. Reads in pages by sequence number, so a long log
 * verifies in constant memory. Reports the first row whose content, link or MAC does not match,
 * and any anchor the log no longer agrees with: a row an anchor names that is gone or different
 * (rewritten), or an anchor beyond the newest row (cut short).
 */
export async function verifyAudit(db: Db, options: VerifyOptions = {}): Promise<AuditVerification> {
  const pageSize = options.pageSize ?? 5_000;
  const key = options.key === undefined ? currentAuditKey() : options.key;
  const anchors = [...(options.anchors ?? [])];
  if (options.databaseAnchors ?? true) {
    const recorded = await db.selectFrom('audit_anchors').selectAll().orderBy('id').execute();
    anchors.push(...recorded.map((a) => ({ seq: Number(a.seq), hash: a.hash, row_mac: a.row_mac, at: a.at.toISOString(), mac: a.mac, source: `database anchor #${a.id}` })));
  }
  if (key) {
    for (const anchor of anchors) {
      if (anchor.mac !== null && !sameMac(anchor.mac, anchorMac(key, { ...anchor, at: new Date(anchor.at) }))) {
        return { ok: false, rows: 0, brokenAt: anchor.seq, reason: `${anchorName(anchor)} is not signed with AUDIT_KEY: it was forged, or signed with another key` };
      }
    }
  }
  // An anchor of the empty log (seq 0) vouches for nothing; the rest are walked in step with the rows.
  const bySeq = new Map<number, AuditAnchor[]>();
  for (const anchor of anchors.filter((a) => a.seq > 0)) bySeq.set(anchor.seq, [...(bySeq.get(anchor.seq) ?? []), anchor]);
  const anchoredSeqs = [...bySeq.keys()].sort((a, b) => a - b);
  let nextAnchor = 0;

  let prev = GENESIS_HASH;
  let after = 0;
  let rows = 0;
  let keyedFrom: number | null = null;
  const fail = (brokenAt: number, reason: string): AuditVerification => ({ ok: false, rows, brokenAt, reason });
  for (;;) {
    const page = await db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(pageSize).execute();
    for (const row of page) {
      const seq = Number(row.seq);
      // An anchor between the last row and this one names a row that is gone.
      if (nextAnchor < anchoredSeqs.length && anchoredSeqs[nextAnchor]! < seq) {
        const missing = anchoredSeqs[nextAnchor]!;
        const anchor = bySeq.get(missing)![0]!;
        return fail(missing, `row ${missing} was removed: ${anchorName(anchor)} says it existed (hash ${short(anchor.hash)})`);
      }
      if (row.prev_hash !== prev) {
        return fail(seq, `row ${seq} does not follow row ${after || 'genesis'} (its prev_hash is not that row's hash): a row was removed or reordered`);
      }
      const expected = auditHash(prev, { ...row, detail: row.detail });
      if (expected !== row.hash) {
        return fail(seq, `row ${seq} was altered: its content no longer matches its hash`);
      }
      if (row.mac !== null) {
        keyedFrom ??= seq;
        if (key && !sameMac(row.mac, auditMac(key, row.hash))) {
          return fail(seq, `row ${seq}'s MAC does not match: this row or one before it was rewritten and the chain recomputed, or AUDIT_KEY is not the key the log was signed with`);
        }
      } else if (keyedFrom !== null) {
        return fail(seq, `row ${seq} carries no MAC though the log is signed from row ${keyedFrom} on: it was written without AUDIT_KEY, or its MAC was stripped`);
      }
      if (anchoredSeqs[nextAnchor] === seq) nextAnchor++;
      for (const anchor of bySeq.get(seq) ?? []) {
        if (anchor.hash !== row.hash) {
          return fail(seq, `row ${seq} or a row before it was rewritten: row ${seq}'s hash is ${short(row.hash)}, ${anchorName(anchor)} says ${short(anchor.hash)}`);
        }
        if (anchor.row_mac !== null && anchor.row_mac !== row.mac) {
          return fail(seq, `row ${seq} or a row before it was rewritten: row ${seq}'s MAC is ${short(row.mac)}, ${anchorName(anchor)} says ${short(anchor.row_mac)}`);
        }
      }
      prev = row.hash;
      after = seq;
      rows++;
    }
    if (page.length < pageSize) break;
  }
  if (nextAnchor < anchoredSeqs.length) {
    const beyond = bySeq.get(anchoredSeqs.at(-1)!)![0]!;
    return fail(beyond.seq, `the log was cut short: ${anchorName(beyond)} says row ${beyond.seq} (hash ${short(beyond.hash)}) existed; the log now ends at row ${after}${after === 0 ? ' (it is empty)' : ''}`);
  }
  if (!key && keyedFrom !== null) {
    return fail(keyedFrom, `rows from ${keyedFrom} on are signed with AUDIT_KEY, which is not set here: their MACs cannot be checked (the hash chain itself is intact); set AUDIT_KEY and verify again`);
  }
  return { ok: true, rows, lastSeq: after, lastHash: prev, keyedFrom, anchorsChecked: anchors.length };
}
