import { type Kysely, sql } from 'kysely';

/**
 * alerts.kind 'sod': reconcile withheld a grant that would have completed a separation-of-duties
 * rule (the last line behind the checks at filing and at the final approval). One open alert per
 * (person, rule): subject `<person id>:<rule>`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table alerts drop constraint alerts_kind_check`.execute(db);
  await sql`alter table alerts add constraint alerts_kind_check check (kind in ('auth', 'leaver_sla', 'sod'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from alerts where kind = 'sod'`.execute(db);
  await sql`alter table alerts drop constraint alerts_kind_check`.execute(db);
  await sql`alter table alerts add constraint alerts_kind_check check (kind in ('auth', 'leaver_sla'))`.execute(db);
}
