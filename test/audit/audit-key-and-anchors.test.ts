import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { anchorAudit, anchorLine, parseAnchors } from '../../src/audit/anchor-audit.js';
import { appendAudit } from '../../src/audit/append-audit.js';
import { checkAuditKey, setAuditKey } from '../../src/audit/audit-key.js';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import type { Db } from '../../src/db/database.js';
import { publishAuditAnchor } from '../../src/orchestrator/publish-audit-anchor.js';
import type { SlackMessage } from '../../src/slack/notifier.js';
import { createMigratedDatabase } from '../helpers/database.js';

const KEY = 'k'.repeat(40);
const OTHER_KEY = 'o'.repeat(40);

async function append(db: Db, n: number) {
  for (let i = 0; i < n; i++) await appendAudit(db, { actor: 'system', action: 'test.row', detail: { i } });
}

async function asSuperuser(db: Db, statement: ReturnType<typeof sql>) {
  await db.transaction().execute(async (trx) => {
    await sql`alter table audit_log disable trigger user`.execute(trx);
    await statement.execute(trx);
    await sql`alter table audit_log enable trigger user`.execute(trx);
  });
}

afterEach(() => setAuditKey(undefined));

describe('rows signed with AUDIT_KEY', () => {
  it('verify says from which row the log is signed, when rows before the key exist', async () => {
    const { handle } = await createMigratedDatabase();
    await append(handle.db, 3);
    setAuditKey(KEY);
    await append(handle.db, 2);
    expect(await verifyAudit(handle.db)).toMatchObject({ ok: true, rows: 5, keyedFrom: 4 });
    // The first signed row vouches for the unsigned ones before it.
    await asSuperuser(handle.db, sql`update audit_log set actor = 'mallory' where seq = 2`);
    expect(await verifyAudit(handle.db)).toMatchObject({ ok: false, brokenAt: 2 });
  });

  it('without the key, verify of a signed log says the MACs cannot be checked and fails', async () => {
    const { handle } = await createMigratedDatabase();
    setAuditKey(KEY);
    await append(handle.db, 2);
    expect(await verifyAudit(handle.db, { key: null })).toMatchObject({ ok: false, brokenAt: 1, reason: expect.stringMatching(/AUDIT_KEY, which is not set.*cannot be checked/) });
    expect(await verifyAudit(handle.db, { key: OTHER_KEY })).toMatchObject({ ok: false, brokenAt: 1, reason: expect.stringContaining('MAC does not match') });
  });

  it('a process without the key cannot append to a signed log, and serve refuses to start without it or with another', async () => {
    const { handle } = await createMigratedDatabase();
    await checkAuditKey(handle.db, undefined);
    setAuditKey(KEY);
    await append(handle.db, 1);
    setAuditKey(undefined);
    await expect(append(handle.db, 1)).rejects.toThrow(/signed with AUDIT_KEY.*no AUDIT_KEY/);
    await expect(checkAuditKey(handle.db, undefined)).rejects.toThrow(/AUDIT_KEY is not set/);
    await expect(checkAuditKey(handle.db, OTHER_KEY)).rejects.toThrow(/not the key/);
    await checkAuditKey(handle.db, KEY);
    expect(await handle.db.selectFrom('audit_log').select('seq').execute()).toHaveLength(1);
  });

  it('an unsigned row after signed ones is reported', async () => {
    const { handle } = await createMigratedDatabase();
    setAuditKey(KEY);
    await append(handle.db, 3);
    await asSuperuser(handle.db, sql`update audit_log set mac = null where seq = 3`);
    expect(await verifyAudit(handle.db)).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringContaining('carries no MAC though the log is signed from row 1') });
  });
});

describe('anchors', () => {
  it('are signed, recorded, and a forged or edited anchor line is refused', async () => {
    const { handle } = await createMigratedDatabase();
    setAuditKey(KEY);
    await append(handle.db, 2);
    const anchor = await anchorAudit(handle.db, { publishedTo: 'cli' });
    expect(anchor).toMatchObject({ seq: 2, mac: expect.stringMatching(/^[0-9a-f]{64}$/), row_mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await handle.db.selectFrom('audit_anchors').select(['seq', 'published_to']).execute()).toEqual([{ seq: 2, published_to: 'cli' }]);
    const [parsed] = parseAnchors(`\n${anchorLine(anchor)}\n`, 'anchors.jsonl');
    expect(await verifyAudit(handle.db, { anchors: [parsed!] })).toMatchObject({ ok: true, anchorsChecked: 2 });
    // Someone who can write the file but lacks the key moves an anchor back to row 1.
    const forged = { ...parsed!, seq: 1 };
    expect(await verifyAudit(handle.db, { anchors: [forged] })).toMatchObject({ ok: false, reason: expect.stringContaining('is not signed with AUDIT_KEY') });
    expect(() => parseAnchors('{"seq":2}\n', 'anchors.jsonl')).toThrow(/anchors.jsonl line 1 is not an anchor/);
    expect(() => parseAnchors('nope', 'a.jsonl')).toThrow(/a.jsonl line 1 is not JSON/);
  });

  it('catch an anchored row deleted from the middle with the chain recomputed around it', async () => {
    const { handle } = await createMigratedDatabase();
    await append(handle.db, 2);
    await anchorAudit(handle.db, { publishedTo: 'cli' });
    await append(handle.db, 2);
    // Row 2 goes; row 3 is relinked to row 1 (no key, so the hashes are all the attacker needs).
    const { auditHash } = await import('../../src/audit/hash.js');
    const rows = await handle.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    await asSuperuser(handle.db, sql`delete from audit_log where seq = 2`);
    let prev = rows[0]!.hash;
    for (const row of rows.slice(2)) {
      const hash = auditHash(prev, row);
      await asSuperuser(handle.db, sql`update audit_log set prev_hash = ${prev}, hash = ${hash} where seq = ${row.seq}`);
      prev = hash;
    }
    expect(await verifyAudit(handle.db, { databaseAnchors: false })).toMatchObject({ ok: true, rows: 3 });
    expect(await verifyAudit(handle.db)).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringContaining('row 2 was removed') });
  });

  it('the scheduled anchor posts the head to the IT channel as a line audit verify reads', async () => {
    const { handle } = await createMigratedDatabase();
    setAuditKey(KEY);
    await append(handle.db, 3);
    const posted: SlackMessage[] = [];
    await publishAuditAnchor({ db: handle.db, itChannel: 'it-onboarding', notifier: { post: async (m) => (posted.push(m), { channel: m.channel, ts: '1' }) } });
    expect(posted).toHaveLength(1);
    expect(posted[0]!.channel).toBe('it-onboarding');
    const line = /```(.+)```/.exec(posted[0]!.text)![1]!;
    const anchors = parseAnchors(line, 'slack');
    expect(anchors[0]).toMatchObject({ seq: 3 });
    expect(await handle.db.selectFrom('audit_anchors').select('published_to').execute()).toEqual([{ published_to: 'slack:it-onboarding' }]);
    await asSuperuser(handle.db, sql`delete from audit_log where seq = 3`);
    expect(await verifyAudit(handle.db, { anchors, databaseAnchors: false })).toMatchObject({ ok: false, reason: expect.stringContaining('cut short') });
  });
});
