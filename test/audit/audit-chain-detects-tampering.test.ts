import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { appendAudit } from '../../src/audit/append-audit.js';
import { canonicalJson } from '../../src/audit/hash.js';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import type { Db } from '../../src/db/database.js';
import { createMigratedDatabase } from '../helpers/database.js';

/** Lets a test play the attacker with superuser rights: the triggers are what an app role meets. */
async function asTamperer(db: Db, statement: ReturnType<typeof sql>) {
  await db.transaction().execute(async (trx) => {
    await sql`alter table audit_log disable trigger audit_log_no_update_delete`.execute(trx);
    await statement.execute(trx);
    await sql`alter table audit_log enable trigger audit_log_no_update_delete`.execute(trx);
  });
}

describe('the audit chain', () => {
  let db: Db;
  beforeEach(async () => {
    db = (await createMigratedDatabase()).handle.db;
    for (let i = 1; i <= 10; i++) {
      await appendAudit(db, {
        actor: 'policy:base-employee',
        action: 'operation.verified',
        subject: `person${i}@company.com`,
        entitlement: 'okta:group:everyone',
        reason: 'policy:base-employee',
        result: 'verified',
        detail: { run: `run-${i}`, nested: { b: 2, a: [1, 'x'] } },
      });
    }
  });

  it('verifies an untouched log', async () => {
    expect(await verifyAudit(db)).toMatchObject({ ok: true, rows: 10 });
  });

  it('verifies across page boundaries', async () => {
    expect(await verifyAudit(db, { pageSize: 3 })).toMatchObject({ ok: true, rows: 10 });
  });

  it('reports the first altered row when a row in the middle is edited', async () => {
    await asTamperer(db, sql`update audit_log set entitlement = 'okta:group:admins' where seq = 5`);
    expect(await verifyAudit(db)).toMatchObject({ ok: false, brokenAt: 5, rows: 4, reason: expect.stringContaining('altered') });
  });

  it('reports a removed row at the row after the gap', async () => {
    await asTamperer(db, sql`delete from audit_log where seq = 7`);
    expect(await verifyAudit(db)).toMatchObject({ ok: false, brokenAt: 8, reason: expect.stringContaining('removed or reordered') });
  });

  it('detects an edit even when the attacker recomputes that row’s own hash', async () => {
    // Rewriting row 3 consistently still breaks row 4's link to it.
    const row = await db.selectFrom('audit_log').selectAll().where('seq', '=', 3).executeTakeFirstOrThrow();
    const { auditHash } = await import('../../src/audit/hash.js');
    const forged = auditHash(row.prev_hash, { ...row, actor: 'mallory' });
    await asTamperer(db, sql`update audit_log set actor = 'mallory', hash = ${forged} where seq = 3`);
    expect(await verifyAudit(db)).toMatchObject({ ok: false, brokenAt: 4 });
  });

  it('chains concurrent appenders one after another', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => appendAudit(db, { actor: 'system', action: 'test.concurrent', detail: { i } })));
    expect(await verifyAudit(db)).toMatchObject({ ok: true, rows: 30 });
  });

  it('hashes content, not key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
  });
});

describe('gatehouse audit verify (the command)', () => {
  it('exits 0 on an intact chain and 1 naming the first broken row', async () => {
    const { run } = await import('../helpers/process.js');
    const database = await createMigratedDatabase();
    await appendAudit(database.handle.db, { actor: 'system', action: 'a' }, { actor: 'system', action: 'b' }, { actor: 'system', action: 'c' });
    const ok = await run('node', ['bin/gatehouse.js', 'audit', 'verify'], { DATABASE_URL: database.url });
    expect(ok.code).toBe(0);
    expect(ok.output).toContain('3 rows, chain intact');
    await asTamperer(database.handle.db, sql`update audit_log set action = 'z' where seq = 2`);
    const broken = await run('node', ['bin/gatehouse.js', 'audit', 'verify'], { DATABASE_URL: database.url });
    expect(broken.code).toBe(1);
    expect(broken.output).toContain('BROKEN at row 2');
    const json = await run('node', ['bin/gatehouse.js', 'audit', 'verify', '--format', 'json'], { DATABASE_URL: database.url });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.output)).toMatchObject({ ok: false, brokenAt: 2 });
  });
});
