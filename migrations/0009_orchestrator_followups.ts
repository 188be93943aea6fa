import { type Kysely, sql } from 'kysely';

/**
 * What the orchestrator needs beyond a write and a read:
 * - operations.phase: `write` (call the adapter), `progress` (an asynchronous write the vendor is
 *   still carrying out, followed by its `reference`), `verify` (written; re-reading on a bounded
 *   schedule until it shows); `checks` counts the reads/progress checks made so far.
 * - alerts: something IT must act on (a system's credentials refused, a leaver past the SLA), at
 *   most one open per (kind, subject), which is what makes "alert once, not once per job" hold
 *   across replicas.
 * - manual_tasks: work a human does (a laptop, a legacy app), posted to the IT channel with a
 *   Done button; its operation stays `manual` until someone marks it done.
 * - runs.sla_alerted_at: a leaver's run is reported at most once when it misses LEAVER_SLA.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('operations')
    .addColumn('phase', 'text', (c) => c.notNull().defaultTo('write').check(sql`phase in ('write', 'progress', 'verify')`))
    .addColumn('reference', 'text')
    .addColumn('checks', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema.alterTable('runs').addColumn('sla_alerted_at', 'timestamptz').execute();
  await sql`create index runs_open_leavers_idx on runs (started_at) where reason = 'leaver' and sla_alerted_at is null`.execute(db);

  await db.schema
    .createTable('alerts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('auth', 'leaver_sla')`))
    // The system for `auth`, the run id for `leaver_sla`.
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('opened_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('resolved_at', 'timestamptz')
    .execute();
  await sql`create unique index alerts_one_open on alerts (kind, subject) where resolved_at is null`.execute(db);

  await db.schema
    .createTable('manual_tasks')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('operation_id', 'bigint', (c) => c.notNull().unique().references('operations.id').onDelete('cascade'))
    .addColumn('person_id', 'uuid', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('grant', 'revoke')`))
    .addColumn('entitlement', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open', 'done', 'cancelled')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('done_at', 'timestamptz')
    .addColumn('done_by', 'text')
    // Where the task was posted, to update the message when it is done.
    .addColumn('slack_channel', 'text')
    .addColumn('slack_ts', 'text')
    .execute();
  await sql`create index manual_tasks_open_idx on manual_tasks (created_at) where status = 'open'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('manual_tasks').execute();
  await db.schema.dropTable('alerts').execute();
  await sql`drop index runs_open_leavers_idx`.execute(db);
  await db.schema.alterTable('runs').dropColumn('sla_alerted_at').execute();
  await db.schema.alterTable('operations').dropColumn('phase').dropColumn('reference').dropColumn('checks').execute();
}
