import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../src/audit/append-audit.js';
import { setAuditKey } from '../../src/audit/audit-key.js';
import { auditHash, GENESIS_HASH } from '../../src/audit/hash.js';
import type { Db } from '../../src/db/database.js';
import { createMigratedDatabase } from '../helpers/database.js';
import { run } from '../helpers/process.js';

/**
 * Issue 27, "the audit chain can be cut short or rewritten and `audit verify` still passes".
 * The attacker has database superuser rights: they disable the append-only triggers, change rows,
 * and recompute every unkeyed hash so the chain links up again. What they do not have is AUDIT_KEY
 * or the anchors published outside the database.
 */
const AUDIT_KEY = 'audit-key-SECURITY-0123456789abcdef';

async function asSuperuser(db: Db, statement: ReturnType<typeof sql>) {
  await db.transaction().execute(async (trx) => {
    await sql`alter table audit_log disable trigger user`.execute(trx);
    await sql`alter table audit_anchors disable trigger user`.execute(trx);
    await statement.execute(trx);
    await sql`alter table audit_log enable trigger user`.execute(trx);
    await sql`alter table audit_anchors enable trigger user`.execute(trx);
  });
}

/** Rewrites one row and recomputes every later hash and link, as an attacker without the key can. */
async function rewriteAndRechain(db: Db, seq: number, actor: string, options: { stripMacs?: boolean } = {}) {
  const rows = await db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
  let prev = GENESIS_HASH;
  for (const row of rows) {
    const fields = { ...row, actor: Number(row.seq) === seq ? actor : row.actor };
    const hash = auditHash(prev, fields);
    const mac = options.stripMacs ? null : row.mac;
    await asSuperuser(db, sql`update audit_log set actor = ${fields.actor}, prev_hash = ${prev}, hash = ${hash}, mac = ${mac} where seq = ${row.seq}`);
    prev = hash;
  }
}

const gatehouse = (url: string, args: string[], env: Record<string, string> = {}) => run('node', ['bin/gatehouse.js', ...args], { DATABASE_URL: url, ...env });

describe('a tail cut off the audit log', () => {
  let url: string;
  let db: Db;
  let anchorFile: string;
  beforeAll(async () => {
    const database = await createMigratedDatabase();
    ({ url } = database);
    db = database.handle.db;
    for (let i = 1; i <= 10; i++) await appendAudit(db, { actor: 'system', action: 'operation.verified', subject: `p${i}@company.com` });
    anchorFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-anchors-')), 'anchors.jsonl');
  });

  it('is caught by audit verify against an anchor published before the cut', async () => {
    const anchored = await gatehouse(url, ['audit', 'anchor', '--out', anchorFile]);
    expect(anchored.code, anchored.output).toBe(0);
    expect(JSON.parse(readFileSync(anchorFile, 'utf8').trim())).toMatchObject({ seq: 10 });

    // The attacker removes rows 7–10 and the anchors the database kept of them.
    await asSuperuser(db, sql`delete from audit_log where seq > 6`);
    await asSuperuser(db, sql`delete from audit_anchors`);

    // What is left is a perfect chain of 6 rows: without an anchor nothing can tell.
    const alone = await gatehouse(url, ['audit', 'verify']);
    expect(alone.code, alone.output).toBe(0);

    const against = await gatehouse(url, ['audit', 'verify', '--anchor', anchorFile]);
    expect(against.code, against.output).toBe(1);
    expect(against.output).toMatch(/cut short/);
    expect(against.output).toContain('row 10');
    expect(against.output).toContain('ends at row 6');
  });

  it('is caught from the anchors table when the attacker forgets it', async () => {
    const database = await createMigratedDatabase();
    for (let i = 1; i <= 5; i++) await appendAudit(database.handle.db, { actor: 'system', action: 'a' });
    expect((await gatehouse(database.url, ['audit', 'anchor'])).code).toBe(0);
    await asSuperuser(database.handle.db, sql`delete from audit_log where seq > 3`);
    const verify = await gatehouse(database.url, ['audit', 'verify']);
    expect(verify.code, verify.output).toBe(1);
    expect(verify.output).toMatch(/cut short.*row 5.*ends at row 3/);
  });
});

describe('a row rewritten and the chain recomputed', () => {
  it('fails audit verify with AUDIT_KEY, naming the row', async () => {
    setAuditKey(AUDIT_KEY);
    const database = await createMigratedDatabase();
    for (let i = 1; i <= 10; i++) await appendAudit(database.handle.db, { actor: 'policy:base-employee', action: 'operation.verified', subject: `p${i}@company.com` });
    await rewriteAndRechain(database.handle.db, 4, 'mallory');

    const verify = await gatehouse(database.url, ['audit', 'verify'], { AUDIT_KEY });
    expect(verify.code, verify.output).toBe(1);
    expect(verify.output).toContain('BROKEN at row 4');
    expect(verify.output).toMatch(/MAC/);
  });

  it('fails against the anchor when the attacker also strips every MAC', async () => {
    setAuditKey(AUDIT_KEY);
    const database = await createMigratedDatabase();
    for (let i = 1; i <= 6; i++) await appendAudit(database.handle.db, { actor: 'system', action: 'operation.verified' });
    const anchorFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-anchors-')), 'anchors.jsonl');
    expect((await gatehouse(database.url, ['audit', 'anchor', '--out', anchorFile], { AUDIT_KEY })).code).toBe(0);
    await rewriteAndRechain(database.handle.db, 2, 'mallory', { stripMacs: true });
    await asSuperuser(database.handle.db, sql`delete from audit_anchors`);

    const verify = await gatehouse(database.url, ['audit', 'verify', '--anchor', anchorFile], { AUDIT_KEY });
    expect(verify.code, verify.output).toBe(1);
    expect(verify.output).toMatch(/row 6 or a row before it was rewritten/);
  });
});

describe('a fork in the chain', () => {
  it('is refused by the database: two rows cannot claim the same predecessor, nor one a row that is not the last', async () => {
    const { handle } = await createMigratedDatabase();
    for (let i = 1; i <= 3; i++) await appendAudit(handle.db, { actor: 'system', action: 'a' });
    const rows = await handle.db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq').execute();
    const row = (prev: string) => ({ at: new Date(), actor: 'mallory', action: 'fork', detail: '{}', prev_hash: prev, hash: auditHash(prev, { at: new Date(0), actor: 'mallory', action: 'fork', subject: null, entitlement: null, reason: null, result: null, detail: {} }) });

    // Row 2's hash already has a successor (row 3): a second one is a fork.
    await expect(handle.db.insertInto('audit_log').values(row(rows[1]!.hash)).execute()).rejects.toThrow(/audit_log/);
    // The genesis link belongs to row 1 only.
    await expect(handle.db.insertInto('audit_log').values(row(GENESIS_HASH)).execute()).rejects.toThrow(/audit_log/);
    // A link to nothing at all.
    await expect(handle.db.insertInto('audit_log').values(row('f'.repeat(64))).execute()).rejects.toThrow(/audit_log/);
    // The next row after the head is still accepted.
    await handle.db.insertInto('audit_log').values(row(rows[2]!.hash)).execute();
    expect(await handle.db.selectFrom('audit_log').select('seq').execute()).toHaveLength(4);
  });
});
