import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';

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
  const name = `gh_test_${randomBytes(6).toString('hex')}`;
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
