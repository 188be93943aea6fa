import { type Kysely, sql } from 'kysely';

/**
 * Intake: which SCIM user drives a person (kept when the user's employeeNumber changes, so the
 * person is renamed or handed over rather than left active as a twin), and the lookup that links
 * reports to a manager who arrives after them.
 *
 * `scim_user_id` has no foreign key: `scim_users` comes from a later-numbered migration, and
 * migrations run in name order on a fresh database. The SCIM server clears it on DELETE.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('people').addColumn('scim_user_id', 'uuid').execute();
  await db.schema.createIndex('people_scim_user_idx').unique().on('people').column('scim_user_id').where(sql.ref('scim_user_id'), 'is not', null).execute();
  // Every applied change looks for people naming the changed person as their manager; without
  // this index a 10,000-row import would scan the table 10,000 times.
  await db.schema
    .createIndex('people_manager_email_idx')
    .on('people')
    .expression(sql`lower(data->>'manager_email')`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('people_manager_email_idx').execute();
  await db.schema.dropIndex('people_scim_user_idx').execute();
  await db.schema.alterTable('people').dropColumn('scim_user_id').execute();
}
