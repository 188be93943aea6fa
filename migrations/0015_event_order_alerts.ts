import { type Kysely, sql } from 'kysely';

/**
 * alerts.kind 'event_order': an HR termination arrived whose order against what is stored is in
 * doubt (older than the last applied change, or the stored change is dated in the future), so IT
 * checks it by hand (issue 27). Subject `<person id>:<source>:<event id>`: one alert per event.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table alerts drop constraint alerts_kind_check`.execute(db);
  await sql`alter table alerts add constraint alerts_kind_check check (kind in ('auth', 'leaver_sla', 'sod', 'event_order'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from alerts where kind = 'event_order'`.execute(db);
  await sql`alter table alerts drop constraint alerts_kind_check`.execute(db);
  await sql`alter table alerts add constraint alerts_kind_check check (kind in ('auth', 'leaver_sla', 'sod'))`.execute(db);
}
