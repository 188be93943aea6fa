import { type Kysely, sql } from 'kysely';

/**
 * One token bucket per target system, shared by every Gatehouse replica: the rate limit a vendor
 * enforces is per tenant, not per process, so the bucket lives in the database.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rate_limits')
    .addColumn('system', 'text', (c) => c.primaryKey())
    .addColumn('capacity', 'double precision', (c) => c.notNull().check(sql`capacity >= 1`))
    .addColumn('refill_per_second', 'double precision', (c) => c.notNull().check(sql`refill_per_second > 0`))
    .addColumn('tokens', 'double precision', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    // Set from a vendor's 429 (Retry-After / reset headers): nobody calls the system before then.
    .addColumn('paused_until', 'timestamptz')
    .addColumn('pause_reason', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
}
