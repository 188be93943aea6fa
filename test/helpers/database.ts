import { join } from 'node:path';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createAdapterRegistry } from '../../src/orchestrator/adapter-registry.js';
import { startQueue } from '../../src/orchestrator/queue.js';
import type { ReconcileDeps } from '../../src/orchestrator/reconcile-person.js';
import { buildPolicySet, loadPolicies } from '../../src/policy/index.js';
import { testDatabaseName } from './test-run-databases.js';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the suite's Postgres, dropped when the file's tests end. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = testDatabaseName(inject('testRunId'));
  await admin((c) => c.query(`create database "${name}"`));
  const url = new URL(inject('adminDatabaseUrl'));
  url.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await admin((c) => c.query(`drop database if exists "${name}" with (force)`));
  };
  afterAll(drop);
  return { name, url: url.toString(), drop };
}

/** A database with every migration applied, and a kysely handle to it (closed after the file). */
export async function createMigratedDatabase(): Promise<TestDatabase & { handle: DatabaseHandle }> {
  const database = await createTestDatabase();
  const handle = createDatabase(database.url, { max: 5 });
  await migrateToLatest(handle.db);
  afterAll(() => handle.destroy());
  return { ...database, handle };
}

/**
 * A migrated database and a pg-boss queue on it without workers (the queue as reconcile and intake
 * use it), for the file's tests: filled in before they run, the queue stopped after them.
 */
export function migratedDatabaseWithQueue(): { url: string; handle: DatabaseHandle; boss: PgBoss } {
  const env = {} as { url: string; handle: DatabaseHandle; boss: PgBoss };
  beforeAll(async () => {
    const database = await createMigratedDatabase();
    env.url = database.url;
    env.handle = database.handle;
    env.boss = await startQueue(database.url, createLogger('silent'), { schedule: false });
  });
  afterAll(() => env.boss?.stop({ graceful: false }));
  return env;
}

/**
 * What reconcilePerson needs, over migratedDatabaseWithQueue's database: the example policies
 * (policies/) and every system sandboxed. Filled in before the file's tests run.
 */
export function reconcileDepsOnExamplePolicies(env: { url: string; handle: DatabaseHandle; boss: PgBoss }): { current: ReconcileDeps } {
  const deps = {} as { current: ReconcileDeps };
  beforeAll(async () => {
    const policiesDir = join(import.meta.dirname, '..', '..', 'policies');
    const config = loadConfig({ DATABASE_URL: env.url, POLICIES_DIR: policiesDir });
    deps.current = { db: env.handle.db, boss: env.boss, policies: buildPolicySet(await loadPolicies(policiesDir)), adapters: createAdapterRegistry(config, { sql: env.handle.pool }) };
  });
  return deps;
}
