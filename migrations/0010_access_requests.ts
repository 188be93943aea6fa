import { type Kysely, sql } from 'kysely';

/**
 * Access requests (`/access`): one row per request with its state machine
 * (pending → approved → provisioning → active → expired | revoked, or denied | cancelled |
 * timed_out), the approval steps resolved to Slack users when it was filed, and every decision.
 * A time-bound request's clock (`expires_at`) starts when its grant is verified.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('access_requests')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('person_id', 'uuid', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('requester_slack_id', 'text')
    .addColumn('entitlement', 'text', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    // The policy's words for it ("Production admin"), shown to approvers.
    .addColumn('description', 'text')
    // null: until revoked (the policy sets no max_duration).
    .addColumn('duration_ms', 'bigint')
    .addColumn('justification', 'text')
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('pending', 'approved', 'provisioning', 'active', 'expired', 'revoked', 'denied', 'cancelled', 'timed_out')`),
    )
    // [{ mode: 'any' | 'all', approvers: [{ label, users: [slack ids] }] }]
    .addColumn('steps', 'jsonb', (c) => c.notNull())
    .addColumn('current_step', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('auto_approved', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('step_started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('activated_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .addColumn('end_reason', 'text')
    .addColumn('reminded_at', 'timestamptz')
    .addColumn('expiry_reminded_at', 'timestamptz')
    .addColumn('holder_notified_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('access_requests_person_idx').on('access_requests').columns(['person_id', 'state']).execute();
  await sql`create index access_requests_open_idx on access_requests (state, expires_at) where state in ('pending', 'approved', 'provisioning', 'active')`.execute(db);

  await db.schema
    .createTable('request_decisions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('request_id', 'bigint', (c) => c.notNull().references('access_requests.id').onDelete('cascade'))
    .addColumn('step', 'integer', (c) => c.notNull())
    .addColumn('approver_slack_id', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull().check(sql`decision in ('approved', 'denied')`))
    .addColumn('reason', 'text')
    .addColumn('decided_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('request_decisions_once', ['request_id', 'step', 'approver_slack_id'])
    .execute();

  // The approval DMs, to update in place once decided.
  await db.schema
    .createTable('request_messages')
    .addColumn('request_id', 'bigint', (c) => c.notNull().references('access_requests.id').onDelete('cascade'))
    .addColumn('step', 'integer', (c) => c.notNull())
    .addColumn('approver_slack_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('ts', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('request_messages_pkey', ['request_id', 'step', 'approver_slack_id'])
    .execute();

  // Slack user ids by email (users.lookupByEmail is Tier 3): refreshed after a day.
  await db.schema
    .createTable('slack_users')
    .addColumn('email', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text')
    .addColumn('fetched_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('slack_users').execute();
  await db.schema.dropTable('request_messages').execute();
  await db.schema.dropTable('request_decisions').execute();
  await db.schema.dropTable('access_requests').execute();
}
