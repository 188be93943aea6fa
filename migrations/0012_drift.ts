import { type Kysely, sql } from 'kysely';

/**
 * Drift: what a scan read from a system (streamed into drift_observations / drift_accounts and
 * compared in SQL), the items it found (one open item per system, class, entitlement and account,
 * so an unresolved item is not alerted again as new), the exceptions people accepted, and the
 * alert messages (updated in place while nothing changes).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('drift_scans')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('memberships', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('accounts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .execute();
  await db.schema
    .createTable('drift_observations')
    .addColumn('scan_id', 'bigint', (c) => c.notNull().references('drift_scans.id').onDelete('cascade'))
    .addColumn('entitlement', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('login', 'text')
    .addColumn('email', 'text')
    .addColumn('employee_id', 'text')
    .execute();
  await db.schema.createIndex('drift_observations_scan_idx').on('drift_observations').columns(['scan_id', 'entitlement', 'account_id']).execute();
  await db.schema
    .createTable('drift_accounts')
    .addColumn('scan_id', 'bigint', (c) => c.notNull().references('drift_scans.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('login', 'text')
    .addColumn('email', 'text')
    .addColumn('employee_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('drift_accounts_scan_idx').on('drift_accounts').columns(['scan_id', 'account_id']).execute();

  await db.schema
    .createTable('drift_items')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('class', 'text', (c) => c.notNull().check(sql`class in ('missing', 'extra', 'orphan', 'level')`))
    .addColumn('entitlement', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('login', 'text')
    .addColumn('email', 'text')
    .addColumn('person_id', 'uuid', (c) => c.references('people.id').onDelete('set null'))
    // For a level mismatch: the level the person should hold.
    .addColumn('expected', 'text')
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('regranted', 'alerted', 'revoked', 'ignored')`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open', 'resolved', 'revoking', 'kept')`))
    .addColumn('first_seen', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'timestamptz')
    .execute();
  await sql`create unique index drift_items_one_open on drift_items (system, class, entitlement, account_id) where status in ('open', 'revoking')`.execute(db);

  await db.schema
    .createTable('drift_exceptions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('entitlement', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'uuid', (c) => c.references('people.id').onDelete('cascade'))
    .addColumn('item_id', 'bigint', (c) => c.references('drift_items.id').onDelete('set null'))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('drift_alerts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('ts', 'text')
    // The open items it shows, so a scan with the same items updates it instead of posting again.
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('posted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['drift_alerts', 'drift_exceptions', 'drift_items', 'drift_accounts', 'drift_observations', 'drift_scans']) await db.schema.dropTable(table).execute();
}
