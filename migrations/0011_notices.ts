import { type Kysely, sql } from 'kysely';

/**
 * - runs.summary_ts: the IT channel message of a run's summary, so a retried delivery posts the
 *   operation log into its thread instead of posting the summary twice.
 * - contractor_notices: each notice before a contractor's end_date (30, 7 and 1 days), sent once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('summary_channel', 'text').addColumn('summary_ts', 'text').execute();
  await db.schema
    .createTable('contractor_notices')
    .addColumn('person_id', 'uuid', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('end_date', 'text', (c) => c.notNull())
    .addColumn('days_before', 'integer', (c) => c.notNull())
    .addColumn('sent_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('contractor_notices_pkey', ['person_id', 'end_date', 'days_before'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('contractor_notices').execute();
  await db.schema.alterTable('runs').dropColumn('summary_channel').dropColumn('summary_ts').execute();
}
