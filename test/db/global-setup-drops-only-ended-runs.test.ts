import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { claimTestRun, dropDatabasesOfEndedRuns, newTestRunId, testDatabaseName } from '../helpers/test-run-databases.js';

// Issue 17 (CI tells the truth): the global setup used to drop every idle gh_test_% database,
// which raced with a concurrent run's freshly created ones on the same server.
describe('the test global setup on a shared Postgres server', () => {
  const clients: pg.Client[] = [];
  const connect = async () => {
    const c = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
    await c.connect();
    clients.push(c);
    return c;
  };
  const exists = async (c: pg.Client, name: string) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
  });

  it("drops the databases of a run that ended and keeps an idle one of a run going on beside it", async () => {
    const admin = await connect();
    // A run going on beside this one: it holds its lock, and its database is idle (nobody connected).
    const liveRun = newTestRunId();
    const liveLock = await connect();
    await claimTestRun(liveLock, liveRun);
    const liveDb = testDatabaseName(liveRun);
    // A run that was killed: its lock went with its connection.
    const deadRun = newTestRunId();
    const deadLock = await connect();
    await claimTestRun(deadLock, deadRun);
    const deadDbs = [testDatabaseName(deadRun), testDatabaseName(deadRun)];
    for (const name of [liveDb, ...deadDbs]) await admin.query(`create database "${name}"`);
    await deadLock.end();

    const dropped = await dropDatabasesOfEndedRuns(admin);

    expect(dropped.sort()).toEqual(expect.arrayContaining([...deadDbs].sort()));
    expect(dropped).not.toContain(liveDb);
    expect(await exists(admin, liveDb)).toBe(true);
    for (const name of deadDbs) expect(await exists(admin, name)).toBe(false);
    // This run's own databases are live too (the global setup holds this run's lock).
    expect(dropped.some((name) => name.startsWith(`gh_test_${inject('testRunId')}_`))).toBe(false);
    await admin.query(`drop database "${liveDb}" with (force)`);
  });

  it('leaves databases it did not name alone', async () => {
    const admin = await connect();
    const other = `gh_test_${'x'.repeat(6)}_${Date.now()}`;
    await admin.query(`create database "${other}"`);
    try {
      expect(await dropDatabasesOfEndedRuns(admin)).not.toContain(other);
      expect(await exists(admin, other)).toBe(true);
    } finally {
      await admin.query(`drop database "${other}" with (force)`);
    }
  });
});
