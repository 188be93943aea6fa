import { type Kysely, sql } from 'kysely';

/** People as the HRIS describes them, and every event that told us so. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('people')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('employee_id', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('slack_user_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'active', 'terminated')`))
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('manager_id', 'uuid', (c) => c.references('people.id').onDelete('set null'))
    .addColumn('source_updated_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Lookups by email are case-insensitive everywhere (Slack, Okta and Google all treat them so).
  await db.schema.createIndex('people_email_idx').on('people').expression(sql`lower(email)`).execute();

  await db.schema
    .createTable('person_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('person_id', 'uuid', (c) => c.references('people.id').onDelete('set null'))
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('classification', 'text')
    .addColumn('applied', 'boolean', (c) => c.notNull().defaultTo(false))
    // The same event delivered twice is stored once: this constraint is the idempotency key.
    .addUniqueConstraint('person_events_source_event_id_key', ['source', 'event_id'])
    .execute();
  await db.schema
    .createIndex('person_events_person_idx')
    .on('person_events')
    .columns(['person_id', 'occurred_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('person_events').execute();
  await db.schema.dropTable('people').execute();
}
