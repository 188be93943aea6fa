import { randomBytes } from 'node:crypto';
import type pg from 'pg';

/**
 * Test databases are named `gh_test_<run>_<file>`: `<run>` is the id of the vitest run that made
 * them. A run holds a session-level advisory lock on its id for as long as it goes on, so a later
 * run on the same server can tell the leftovers of a run that ended (killed, crashed) from the
 * databases of a run going on beside it, which it must never drop.
 */
const PREFIX = 'gh_test_';
// One advisory-lock namespace for test runs (the two-int form keeps clear of the app's own locks).
const LOCK_NAMESPACE = 0x67687472;

export function newTestRunId(): string {
  return randomBytes(4).toString('hex');
}

export function testDatabaseName(runId: string): string {
  return `${PREFIX}${runId}_${randomBytes(6).toString('hex')}`;
}

function lockKey(runId: string): number {
  return Number.parseInt(runId, 16) | 0;
}

/** Marks this run as live for as long as `client` stays connected. */
export async function claimTestRun(client: pg.Client, runId: string): Promise<void> {
  await client.query('select pg_advisory_lock($1, $2)', [LOCK_NAMESPACE, lockKey(runId)]);
}

/**
 * Drops the databases of runs that have ended: those whose run's lock nobody holds. Databases of
 * live runs, and any other database, are left alone. Returns the names dropped.
 */
export async function dropDatabasesOfEndedRuns(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ datname: string }>(`select datname from pg_database where datname ~ '^gh_test_[0-9a-f]{8}_[0-9a-f]+$'`);
  const byRun = new Map<string, string[]>();
  for (const { datname } of rows) {
    const runId = datname.slice(PREFIX.length, PREFIX.length + 8);
    byRun.set(runId, [...(byRun.get(runId) ?? []), datname]);
  }
  const dropped: string[] = [];
  for (const [runId, names] of byRun) {
    // Taking the lock succeeds only when no live run holds it; we hold it while dropping, so a run
    // that starts with the same id (2^-32) waits rather than losing its databases.
    const { rows: got } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [LOCK_NAMESPACE, lockKey(runId)]);
    if (!got[0]?.ok) continue;
    try {
      for (const name of names) {
        await client.query(`drop database if exists "${name}" with (force)`);
        dropped.push(name);
      }
    } finally {
      await client.query('select pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, lockKey(runId)]);
    }
  }
  return dropped;
}
