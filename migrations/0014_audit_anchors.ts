import { type Kysely, sql } from 'kysely';

/**
 * Anchoring the audit chain (issue 27): without these, someone with database access could cut the
 * tail off audit_log, or rewrite rows and recompute the hashes, and the chain still verified.
 *
 * - `audit_log.mac`: HMAC-SHA256 of the row's hash under AUDIT_KEY. The hash chains every earlier
 *   row, so one MAC vouches for the whole history up to it. Null for rows written without a key.
 * - One line of succession, in the database: a row's prev_hash is unique (no two rows claim the
 *   same predecessor) and must be the hash of the newest row (or genesis for the first), so no row
 *   can be slipped in beside or behind the head. The unique index also catches two inserts racing
 *   without appendAudit's lock: the second waits for the first and fails.
 * - `audit_anchors`: every head published outside the database (`gatehouse audit anchor`, the
 *   scheduled post to the IT channel), append-only like audit_log.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_log').addColumn('mac', 'text').execute();
  await db.schema.alterTable('audit_log').addUniqueConstraint('audit_log_prev_hash_key', ['prev_hash']).execute();

  await sql`
    create function audit_log_one_line() returns trigger language plpgsql as $$
    declare
      head text;
    begin
      -- The primary key's index answers this with one backward step: appends stay O(log n).
      select hash into head from audit_log order by seq desc limit 1;
      if new.prev_hash is distinct from coalesce(head, repeat('0', 64)) then
        raise exception 'audit_log has one line of succession: a new row must follow the newest row (prev_hash %), not %', coalesce(head, repeat('0', 64)), new.prev_hash
          using errcode = 'integrity_constraint_violation';
      end if;
      return new;
    end
    $$`.execute(db);
  await sql`
    create trigger audit_log_follows_head before insert on audit_log
    for each row execute function audit_log_one_line()`.execute(db);

  await db.schema
    .createTable('audit_anchors')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('row_mac', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('mac', 'text')
    .addColumn('published_to', 'text', (c) => c.notNull())
    .execute();
  await sql`
    create function audit_anchors_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_anchors is append-only: % is not allowed', tg_op
        using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);
  await sql`
    create trigger audit_anchors_no_update_delete before update or delete on audit_anchors
    for each row execute function audit_anchors_append_only()`.execute(db);
  await sql`
    create trigger audit_anchors_no_truncate before truncate on audit_anchors
    for each statement execute function audit_anchors_append_only()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_anchors').execute();
  await sql`drop function audit_anchors_append_only()`.execute(db);
  await sql`drop trigger audit_log_follows_head on audit_log`.execute(db);
  await sql`drop function audit_log_one_line()`.execute(db);
  await db.schema.alterTable('audit_log').dropConstraint('audit_log_prev_hash_key').execute();
  await db.schema.alterTable('audit_log').dropColumn('mac').execute();
}
