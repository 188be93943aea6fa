import { type Kysely, sql } from 'kysely';

/**
 * The orchestrator's state: what each person holds (grants, accounts, as applied and verified by
 * Gatehouse), and each reconcile run with its operations. An operation moves
 * pending → running → applied → verified, or ends failed, manual or cancelled.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('grants')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('person_id', 'uuid', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('entitlement', 'text', (c) => c.notNull())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'applied', 'verified', 'failed', 'manual', 'revoking', 'revoked')`))
    .addColumn('source', 'text')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('applied_at', 'timestamptz')
    .addColumn('verified_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('grants_person_entitlement_key', ['person_id', 'entitlement'])
    .execute();

  await db.schema
    .createTable('accounts')
    .addColumn('person_id', 'uuid', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('login', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('accounts_pkey', ['person_id', 'system'])
    .execute();

  await db.schema
    .createTable('runs')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('person_id', 'uuid', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running', 'settled')`))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('settled_at', 'timestamptz')
    .addColumn('summary', 'jsonb')
    .execute();
  await db.schema.createIndex('runs_person_idx').on('runs').columns(['person_id', 'started_at']).execute();

  await db.schema
    .createTable('operations')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('run_id', 'uuid', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('person_id', 'uuid', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('grant', 'revoke')`))
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('entitlement', 'text', (c) => c.notNull())
    .addColumn('depends_on', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('tier', 'integer', (c) => c.notNull())
    .addColumn('critical', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('source', 'text')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('not_before', 'timestamptz')
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'running', 'applied', 'verified', 'failed', 'manual', 'cancelled')`))
    .addColumn('outcome', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error_kind', 'text')
    .addColumn('last_error', 'text')
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addUniqueConstraint('operations_run_key', ['run_id', 'key'])
    .execute();
  await db.schema.createIndex('operations_person_state_idx').on('operations').columns(['person_id', 'state']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('operations').execute();
  await db.schema.dropTable('runs').execute();
  await db.schema.dropTable('accounts').execute();
  await db.schema.dropTable('grants').execute();
}
