import type { Db } from '../db/database.js';
import { currentAuditKey } from './audit-key.js';
import { anchorMac, GENESIS_HASH } from './hash.js';
import type { AuditAnchor } from './verify-audit.js';

/**
 * Takes the head of the audit chain (its newest row's seq, hash and MAC), signs it with AUDIT_KEY
 * when set, and records it in audit_anchors. The caller publishes the returned anchor somewhere the
 * database's users cannot rewrite (a file, the IT channel); `audit verify` then fails when the log
 * is shorter than an anchor says, or the anchored row differs.
 */
export async function anchorAudit(db: Db, options: { publishedTo: string; at?: Date }): Promise<AuditAnchor> {
  const head = await db.selectFrom('audit_log').select(['seq', 'hash', 'mac']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const key = currentAuditKey();
  const fields = { seq: head ? Number(head.seq) : 0, hash: head?.hash ?? GENESIS_HASH, row_mac: head?.mac ?? null, at: new Date(Math.floor((options.at ?? new Date()).getTime())) };
  const mac = key ? anchorMac(key, fields) : null;
  await db.insertInto('audit_anchors').values({ ...fields, mac, published_to: options.publishedTo }).execute();
  return { seq: fields.seq, hash: fields.hash, row_mac: fields.row_mac, at: fields.at.toISOString(), mac };
}

/** One anchor as the JSON line `audit anchor` prints and `--out` appends. */
export function anchorLine(anchor: AuditAnchor): string {
  return JSON.stringify({ seq: anchor.seq, hash: anchor.hash, row_mac: anchor.row_mac, at: anchor.at, mac: anchor.mac });
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Reads a file of anchors, one JSON line each (blank lines ignored). A line that is not an anchor is
 * an error naming it: skipping it would let a damaged file weaken the check without a word.
 */
export function parseAnchors(text: string, name: string): AuditAnchor[] {
  const anchors: AuditAnchor[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${name} line ${index + 1}`;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${where} is not JSON`);
    }
    const { seq, hash, row_mac: rowMac, at, mac } = value ?? {};
    const ok =
      Number.isSafeInteger(seq) && (seq as number) >= 0 && typeof hash === 'string' && HEX64.test(hash) &&
      (rowMac === null || (typeof rowMac === 'string' && HEX64.test(rowMac))) &&
      typeof at === 'string' && !Number.isNaN(Date.parse(at)) &&
      (mac === null || mac === undefined || (typeof mac === 'string' && HEX64.test(mac)));
    if (!ok) throw new Error(`${where} is not an anchor: expected {"seq":…,"hash":…,"row_mac":…,"at":…,"mac":…} as gatehouse audit anchor writes it`);
    anchors.push({ seq: seq as number, hash: hash as string, row_mac: (rowMac as string | null) ?? null, at: at as string, mac: (mac as string | null | undefined) ?? null, source: where });
  });
  return anchors;
}
