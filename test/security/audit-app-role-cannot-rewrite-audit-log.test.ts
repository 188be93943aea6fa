import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { appendAudit } from '../../src/audit/append-audit.js';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createLogger } from '../../src/log.js';
import { startQueue } from '../../src/orchestrator/queue.js';
import { createTestDatabase } from '../helpers/database.js';
import { run } from '../helpers/process.js';

/**
 * Issue 27: the append-only triggers stop UPDATE, DELETE and TRUNCATE, but a table's owner can
 * disable them. `gatehouse migrate --print-roles` makes an owner role (runs migrations) and an app
 * role (runs serve) that owns nothing: here the app role tries every way round the triggers.
 */
describe('the app role Gatehouse runs as', () => {
  let superuserUrl: string;
  const urls = { owner: '', app: '' };
  let app: DatabaseHandle;
  let roles: { owner: string; app: string };

  const ROLE_PASSWORD = 'role-test-password';
  const withUrl = (user: string) => {
    const url = new URL(superuserUrl);
    url.username = user;
    // Embedded Postgres asks for a password (trust auth on a local server does not); the test's
    // roles get one, set below, so the file runs on both.
    url.password = ROLE_PASSWORD;
    return url.toString();
  };
  async function runSql(url: string, text: string) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await client.query(text);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    const database = await createTestDatabase();
    superuserUrl = database.url;
    // Roles belong to the whole server: names unique to this file's database, dropped after.
    roles = { owner: `${database.name}_owner`.toLowerCase(), app: `${database.name}_app`.toLowerCase() };
    const printed = await run('node', ['bin/gatehouse.js', 'migrate', '--print-roles', '--owner-role', roles.owner, '--app-role', roles.app], {});
    expect(printed.code, printed.output).toBe(0);
    await runSql(superuserUrl, printed.output);
    for (const role of [roles.owner, roles.app]) await runSql(superuserUrl, `alter role "${role}" password '${ROLE_PASSWORD}'`);

    urls.owner = withUrl(roles.owner);
    urls.app = withUrl(roles.app);
    const owner = createDatabase(urls.owner, { max: 1 });
    await migrateToLatest(owner.db);
    await owner.destroy();
    // Again after migrating, as the README says: now the audit tables exist to be restricted.
    await runSql(superuserUrl, printed.output);
    app = createDatabase(urls.app, { max: 2 });
  }, 60_000);

  afterAll(async () => {
    await app?.destroy();
    // Roles outlive databases: drop this file's database first (what the roles own goes with it;
    // the helper's own drop then finds nothing), then the roles.
    const admin = inject('adminDatabaseUrl');
    await runSql(admin, `drop database if exists "${new URL(superuserUrl).pathname.slice(1)}" with (force)`);
    await runSql(admin, `drop role if exists "${roles.app}"; drop role if exists "${roles.owner}"`);
  });

  it('appends to the audit log and reads it', async () => {
    await appendAudit(app.db, { actor: 'system', action: 'test.app-role' }, { actor: 'system', action: 'test.app-role' });
    expect(await verifyAudit(app.db)).toMatchObject({ ok: true, rows: 2 });
  });

  it.each([
    ['UPDATE', 'update audit_log set actor = $$mallory$$'],
    ['DELETE', 'delete from audit_log'],
    ['TRUNCATE', 'truncate audit_log'],
    ['ALTER TABLE … DISABLE TRIGGER', 'alter table audit_log disable trigger audit_log_no_update_delete'],
    ['DISABLE TRIGGER USER', 'alter table audit_log disable trigger user'],
    ['DROP TRIGGER', 'drop trigger audit_log_follows_head on audit_log'],
    ['replacing the trigger function', 'create or replace function audit_log_append_only() returns trigger language plpgsql as $f$ begin return new; end $f$'],
    ['DELETE on audit_anchors', 'delete from audit_anchors'],
    ['TRUNCATE on audit_anchors', 'truncate audit_anchors'],
    ['a table of its own in public', 'create table shadow (x int)'],
  ])('is refused %s', async (_what, statement) => {
    await expect(runSql(urls.app, statement)).rejects.toThrow(/permission denied|must be owner/);
    expect((await verifyAudit(app.db)).ok).toBe(true);
  });

  it('still runs the app: migrations (none pending), the queue, and ordinary writes', async () => {
    expect(await migrateToLatest(app.db)).toEqual([]);
    const boss = await startQueue(urls.app, createLogger('silent'), { schedule: false });
    await boss.stop({ graceful: false });
    await app.db.insertInto('rate_limits').values({ system: 'github', capacity: 5, refill_per_second: 1, tokens: 5, updated_at: new Date(), paused_until: null, pause_reason: null }).execute();
    await app.db.deleteFrom('rate_limits').execute();
  }, 60_000);
});
