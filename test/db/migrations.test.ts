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

/** Every table, column and constraint (with its definition): what a migration can change. */
async function schema(handle: DatabaseHandle): Promise<string[]> {
  const { rows } = await sql<{ item: string }>`
    select 'column ' || table_name || '.' || column_name || ' ' || data_type as item from information_schema.columns
     where table_schema = 'public' and table_name not like 'kysely_%'
    union all
    select 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) from pg_constraint
     where connamespace = 'public'::regnamespace and conrelid::regclass::text not like 'kysely_%'
    union all
    select 'index ' || indexname || ' ' || indexdef from pg_indexes where schemaname = 'public' and tablename not like 'kysely_%'
    order by 1`.execute(handle.db);
  return rows.map((r) => r.item);
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
    const before = await schema(handle);
    const migrations = await createMigrator(handle.db).getMigrations();
    const last = migrations.at(-1)!.name;
    expect(await migrateDown(handle.db)).toEqual([last]);
    // The last migration may add a table, a column or only change a constraint: the schema differs.
    expect(await schema(handle)).not.toEqual(before);
    expect(
      (await createMigrator(handle.db).getMigrations()).find((m) => m.name === last)?.executedAt,
    ).toBeUndefined();
    expect(await migrateToLatest(handle.db)).toEqual([last]);
    expect(await schema(handle)).toEqual(before);
  });
});
