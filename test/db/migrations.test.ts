import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { createMigrator, migrateDown, migrateToLatest } from '../../src/db/migrate.js';
import { createTestDatabase } from '../helpers/database.js';

async function tables(handle: DatabaseHandle): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_name not like 'kysely_%' order by table_name`.execute(handle.db);
  return rows.map((r) => r.table_name);
}

describe('migrations', () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    const database = await createTestDatabase();
    handle = createDatabase(database.url, { max: 2 });
  });
  afterAll(() => handle.destroy());

  it('apply every migration to an empty database, in order', async () => {
    expect(await tables(handle)).toEqual([]);
    const applied = await migrateToLatest(handle.db);
    const known = (await createMigrator(handle.db).getMigrations()).map((m) => m.name);
    expect(applied).toEqual(known);
    expect(applied[0]).toBe('0001_people');
    expect(await tables(handle)).toEqual(expect.arrayContaining(['people', 'person_events', 'audit_log']));
    // A second run is a no-op.
    expect(await migrateToLatest(handle.db)).toEqual([]);
  });

  it('rolls the last migration back and can apply it again', async () => {
    const before = await tables(handle);
    const migrations = await createMigrator(handle.db).getMigrations();
    const last = migrations.at(-1)!.name;
    expect(await migrateDown(handle.db)).toEqual([last]);
    const after = await tables(handle);
    expect(after.length).toBeLessThan(before.length);
    expect(
      (await createMigrator(handle.db).getMigrations()).find((m) => m.name === last)?.executedAt,
    ).toBeUndefined();
    expect(await migrateToLatest(handle.db)).toEqual([last]);
    expect(await tables(handle)).toEqual(before);
  });
});
