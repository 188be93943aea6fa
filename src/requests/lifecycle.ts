import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import { appendAudit } from '../audit/append-audit.js';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import { notify } from '../orchestrator/notifications.js';
import { QUEUES } from '../orchestrator/queue.js';
import { addDays, dateIn, daysBetween, endOfDayIn, type TimeZoneSettings, timeZoneOf } from '../policy/index.js';
import { endRequests, LIVE_STATES } from './service.js';

/** `request:<id>` → id, or null for another source. */
export function requestIdOf(source: string | null | undefined): number | null {
  const match = /^request:(\d+)$/.exec(source ?? '');
  return match ? Number(match[1]) : null;
}

/**
 * A request's grant is verified in the target system: its clock starts now (an approval that took
 * an hour to provision does not lose that hour), its revocation is scheduled for expires_at, and
 * the requester is told that it works. Runs in the transaction that records the verification.
 */
export async function activateRequest(db: Db, boss: PgBoss, requestId: number, now = new Date()): Promise<void> {
  const request = await db.selectFrom('access_requests').select(['id', 'person_id', 'entitlement', 'duration_ms']).where('id', '=', requestId).where('state', 'in', ['approved', 'provisioning']).executeTakeFirst();
  if (!request) return;
  const expiresAt = request.duration_ms === null ? null : new Date(now.getTime() + Number(request.duration_ms));
  await db.updateTable('access_requests').set({ state: 'active', activated_at: now, expires_at: expiresAt }).where('id', '=', request.id).execute();
  await db.updateTable('grants').set({ expires_at: expiresAt, updated_at: now }).where('person_id', '=', request.person_id).where('entitlement', '=', request.entitlement).execute();
  if (expiresAt) {
    // The timer; the sweeper (every minute) catches any timer lost to downtime.
    await boss.send(QUEUES.requestExpiry.name, { requestId: request.id }, { db: bossOnTransaction(db as never), startAfter: expiresAt, singletonKey: `expire-${request.id}` });
  }
  const person = await db.selectFrom('people').select('email').where('id', '=', request.person_id).executeTakeFirstOrThrow();
  await appendAudit(db as never, { actor: 'system', action: 'request.active', subject: person.email, entitlement: request.entitlement, result: expiresAt ? `until ${expiresAt.toISOString()}` : 'until revoked', detail: { requestId: request.id } });
  await notify(db, boss, { type: 'request-active', requestId: request.id });
}

/** The request's grant failed for good: the requester hears why (IT has the dead letter and the run summary). */
export async function requestGrantFailed(db: Db, boss: PgBoss, requestId: number, error: string): Promise<void> {
  const request = await db.selectFrom('access_requests').select('id').where('id', '=', requestId).where('state', 'in', ['approved', 'provisioning']).executeTakeFirst();
  if (request) await notify(db, boss, { type: 'request-failed', requestId, error: error.slice(0, 300) });
}

/** A revoke was verified: holders of requests for it that have ended are told, once. */
export async function requestAccessRemoved(db: Db, boss: PgBoss, personId: string, entitlement: string, now = new Date()): Promise<void> {
  const ended = await db
    .updateTable('access_requests')
    .set({ holder_notified_at: now })
    .where('person_id', '=', personId)
    .where('entitlement', '=', entitlement)
    .where('state', 'in', ['expired', 'revoked'])
    .where('holder_notified_at', 'is', null)
    .returning('id')
    .execute();
  for (const r of ended) await notify(db, boss, { type: 'request-ended', requestId: r.id });
}

export interface SweepSettings {
  /** Remind (and escalate to the next approver in an `any` step) after this long without a decision. */
  approvalReminderMs: number;
  /** A request pending this long times out. */
  approvalTimeoutMs: number;
}

export interface SweepResult {
  expired: number;
  timedOut: number;
  reminded: number;
  expiryReminders: number;
  contractorNotices: number;
}

/** Before a time-bound grant ends its holder is told, with an Extend button: 1 h before for grants of a day or less, 3 days before for longer ones. */
export function expiryReminderLeadMs(durationMs: number): number {
  return durationMs <= 86_400_000 ? 3_600_000 : 3 * 86_400_000;
}

/**
 * Every minute: expire what is past due (so expiry never depends on one timer surviving a
 * restart), time out approvals nobody decided, remind approvers and escalate, and warn holders
 * before their access ends.
 */
export async function sweepRequests(deps: { db: Db; boss: PgBoss; now?: () => Date; timeZones?: TimeZoneSettings }, settings: SweepSettings): Promise<SweepResult> {
  const now = deps.now?.() ?? new Date();
  const expired = await endRequests(deps, { dueBy: now }, 'expired', 'its time ran out', 'system');

  const stale = await deps.db.selectFrom('access_requests').select(['id', 'current_step']).where('state', '=', 'pending').where('created_at', '<', new Date(now.getTime() - settings.approvalTimeoutMs)).execute();
  for (const r of stale) {
    await deps.db.transaction().execute(async (trx) => {
      const done = await trx.updateTable('access_requests').set({ state: 'timed_out', ended_at: now, end_reason: 'no decision in time' }).where('id', '=', r.id).where('state', '=', 'pending').returning(['person_id', 'entitlement']).executeTakeFirst();
      if (!done) return;
      const person = await trx.selectFrom('people').select('email').where('id', '=', done.person_id).executeTakeFirstOrThrow();
      await appendAudit(trx, { actor: 'system', action: 'request.timed_out', subject: person.email, entitlement: done.entitlement, detail: { requestId: r.id } });
      await notify(trx as unknown as Db, deps.boss, { type: 'request-decided', requestId: r.id, step: r.current_step });
      await notify(trx as unknown as Db, deps.boss, { type: 'request-timed-out', requestId: r.id });
    });
  }

  const waiting = await deps.db
    .updateTable('access_requests')
    .set({ reminded_at: now })
    .where('state', '=', 'pending')
    .where('reminded_at', 'is', null)
    .where('step_started_at', '<', new Date(now.getTime() - settings.approvalReminderMs))
    .returning(['id', 'current_step'])
    .execute();
  for (const r of waiting) await notify(deps.db, deps.boss, { type: 'approval-requested', requestId: r.id, step: r.current_step, escalate: true });

  const live = await deps.db.selectFrom('access_requests').select(['id', 'duration_ms', 'expires_at']).where('state', '=', 'active').where('expiry_reminded_at', 'is', null).where('expires_at', 'is not', null).where('expires_at', '<', new Date(now.getTime() + 3 * 86_400_000)).execute();
  let expiryReminders = 0;
  for (const r of live) {
    if (r.expires_at!.getTime() - now.getTime() > expiryReminderLeadMs(Number(r.duration_ms))) continue;
    const claimed = await deps.db.updateTable('access_requests').set({ expiry_reminded_at: now }).where('id', '=', r.id).where('expiry_reminded_at', 'is', null).returning('id').executeTakeFirst();
    if (!claimed) continue;
    await notify(deps.db, deps.boss, { type: 'request-expiring', requestId: r.id });
    expiryReminders++;
  }
  const contractorNotices = await sweepContractorNotices(deps);
  return { expired: expired.length, timedOut: stale.length, reminded: waiting.length, expiryReminders, contractorNotices };
}

/** Days before a contractor's end_date that they, their manager and IT are told. */
export const CONTRACTOR_NOTICE_DAYS = [30, 7, 1] as const;

/**
 * Contractors' access lasts through their end_date on their own calendar (the policy's
 * `expires: end_date`, then the leaver run at midnight after it, in the zone timeZoneOf picks).
 * The notice for N days is due from the midnight, in that zone, that starts the day N days before
 * end_date; the contractor, their manager (the sponsor, with a Request extension button) and IT
 * are told once per notice (contractor_notices), with the calendar days really left. A contractor
 * added late gets only the most urgent notice that is due, the others are marked sent with it.
 */
export async function sweepContractorNotices(deps: { db: Db; boss: PgBoss; now?: () => Date; timeZones?: TimeZoneSettings }): Promise<number> {
  const now = deps.now?.() ?? new Date();
  // Zones run from UTC−12 to UTC+14, so a local "today" is within a day of UTC's: this only
  // narrows the rows; the check below is per person, in their zone.
  const earliest = addDays(now.toISOString().slice(0, 10), -1);
  const contractors = await deps.db
    .selectFrom('people')
    .select(['id', 'data'])
    .where('status', '=', 'active')
    .where(sql<boolean>`data->>'employment_type' = 'Contractor'`)
    .where(sql<boolean>`data->>'end_date' >= ${earliest}`)
    .execute();
  let sent = 0;
  for (const person of contractors) {
    const data = person.data as { end_date?: string; time_zone?: string | null; location?: string | null };
    const endDate = String(data.end_date);
    const timeZone = timeZoneOf(data, deps.timeZones);
    if (now.getTime() >= endOfDayIn(endDate, timeZone).getTime()) continue;
    const daysLeft = Math.max(0, daysBetween(dateIn(now, timeZone), endDate));
    const due = CONTRACTOR_NOTICE_DAYS.filter((days) => daysLeft <= days);
    if (due.length === 0) continue;
    const urgent = Math.min(...due);
    await deps.db.transaction().execute(async (trx) => {
      const rows = await trx
        .insertInto('contractor_notices')
        .values(due.map((days) => ({ person_id: person.id, end_date: endDate, days_before: days })))
        .onConflict((oc) => oc.doNothing())
        .returning('days_before')
        .execute();
      if (!rows.some((r) => r.days_before === urgent)) return;
      await notify(trx as unknown as Db, deps.boss, { type: 'contractor-notice', personId: person.id, daysBefore: urgent, endDate, daysLeft, timeZone });
      sent++;
    });
  }
  return sent;
}

export { LIVE_STATES };
