import { type Kysely, sql } from 'kysely';

/**
 * The sandbox: each target system's accounts and grants kept in Postgres, so every flow runs end
 * to end without vendor credentials. `sandbox_writes` counts the changes made to each grant, so a
 * test can prove that no side effect happened twice; `sandbox_faults` lets tests, benchmarks and
 * the soak make a system slow, rate-limited or failing, across processes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sandbox_accounts')
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull().defaultTo(sql`gen_random_uuid()::text`))
    .addColumn('employee_id', 'text')
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('login', 'text')
    .addColumn('display_name', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'suspended', 'pending')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('sandbox_accounts_pkey', ['system', 'id'])
    .execute();
  await db.schema.createIndex('sandbox_accounts_email_idx').unique().on('sandbox_accounts').expression(sql`system, lower(email)`).execute();
  await db.schema.createIndex('sandbox_accounts_employee_idx').on('sandbox_accounts').columns(['system', 'employee_id']).execute();

  await db.schema
    .createTable('sandbox_grants')
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('entitlement', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('active', 'pending')`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('sandbox_grants_pkey', ['system', 'account_id', 'entitlement'])
    .addForeignKeyConstraint('sandbox_grants_account_fkey', ['system', 'account_id'], 'sandbox_accounts', ['system', 'id'], (fk) => fk.onDelete('cascade'))
    .execute();
  await db.schema.createIndex('sandbox_grants_entitlement_idx').on('sandbox_grants').columns(['system', 'entitlement']).execute();

  await db.schema
    .createTable('sandbox_writes')
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('entitlement', 'text', (c) => c.notNull())
    .addColumn('op', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('sandbox_writes_pkey', ['system', 'account_id', 'entitlement', 'op'])
    .execute();

  await db.schema
    .createTable('sandbox_faults')
    .addColumn('system', 'text', (c) => c.primaryKey())
    .addColumn('latency_ms', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rate_429', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('retry_after_ms', 'integer', (c) => c.notNull().defaultTo(1000))
    .addColumn('rate_5xx', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('rate_timeout', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('auth_failing', 'boolean', (c) => c.notNull().defaultTo(false))
    // The next N calls fail with this kind, whatever the rates: deterministic faults for tests.
    .addColumn('fail_next', 'text')
    .addColumn('fail_next_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sandbox_faults').execute();
  await db.schema.dropTable('sandbox_writes').execute();
  await db.schema.dropTable('sandbox_grants').execute();
  await db.schema.dropTable('sandbox_accounts').execute();
}
