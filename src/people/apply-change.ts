import { appendAudit } from '../audit/append-audit.js';
import { sql, type Transaction } from 'kysely';
import type { PgBoss } from 'pg-boss';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Database, PersonStatus } from '../db/schema.js';
import type { Notification } from '../orchestrator/notifications.js';
import { QUEUES } from '../orchestrator/queue.js';
import { endOfDayIn, startOfDayIn, type TimeZoneSettings, timeZoneOf } from '../policy/index.js';
import { type PersonRecord, personContent } from './person-record.js';

export type Classification = 'joiner' | 'mover' | 'leaver' | 'rehire' | 'none' | 'stale';

export interface PersonChange {
  /** Where it came from: `hris`, `bamboohr`, `scim`, `import`. With eventId, the idempotency key. */
  source: string;
  eventId: string;
  eventType: string;
  /** When the source says the change happened; orders changes that arrive out of order. */
  occurredAt: Date;
  record: PersonRecord;
  /** Kept as received, for audit. */
  payload: unknown;
  /** True when the change ends employment (a termination event, SCIM active:false, a delete). */
  terminates: boolean;
}

export interface AppliedChange {
  duplicate: boolean;
  personId: string | null;
  classification: Classification | null;
  /** The reconcile-person job enqueued for this change (null when nothing changed). */
  jobId: string | null;
  /** A second reconcile-person job, deferred to the end of a future end_date (midnight after it, in the person's zone). */
  endDateJobId: string | null;
}

/** The payload of a reconcile-person job (the orchestrator's worker reads it). */
export interface ReconcilePersonJob {
  personId: string;
  reason: Exclude<Classification, 'none' | 'stale'>;
  eventId: string;
  source: string;
}

/** Queue priority: leavers first (ARCHITECTURE.md → rules of the road), then joiners, then movers. */
export const PRIORITY: Record<ReconcilePersonJob['reason'], number> = { leaver: 100, joiner: 60, rehire: 60, mover: 40 };

const DAY_MS = 86_400_000;

/**
 * Applies one HR change to the person store, inside the caller's transaction, so the person, the
 * event and the reconcile job commit together or not at all (a transactional outbox):
 * - the event is stored once per (source, event_id): a redelivery is a no-op (`duplicate`);
 * - an event older than the person's last applied change is kept in history but changes nothing
 *   (`stale`); at the same instant a termination wins, so any delivery order ends the same way;
 * - a termination that arrives before the hire creates the person as terminated;
 * - the change is classified: joiner (new active person), rehire (terminated → active), leaver
 *   (terminated, or end_date already over in the person's zone), mover (the record changed), none;
 * - a reconcile-person job is enqueued on the same transaction, with a singletonKey per person and
 *   leavers first; for someone whose start_date is ahead it waits until the start date minus the
 *   lead time, and a future end_date gets its own job at the midnight after it (both in the
 *   person's time zone: timeZoneOf), so access ends on time.
 */
/**
 * Takes the per-person locks of applyPersonChange for these people, in one order. A batch takes
 * all of its people's locks first: locking them one event at a time, after the first event's audit
 * row, would hold the audit chain's lock while waiting for a person's lock, which a single event for
 * that person holds while it waits for the chain (a deadlock). Taking a lock again is free.
 */
export async function lockPeople(trx: Transaction<Database>, employeeIds: string[]): Promise<void> {
  const ids = [...new Set(employeeIds)].sort();
  for (const id of ids) await sql`select pg_advisory_xact_lock(hashtext(${`person:${id}`}))`.execute(trx);
  // And their rows, for the same reason (a request filed for one of them holds a key-share lock on it).
  if (ids.length > 1) await trx.selectFrom('people').select('id').where('employee_id', 'in', ids).orderBy('employee_id').forUpdate().execute();
}

export interface ApplyOptions {
  now?: Date;
  joinerLeadTimeMs?: number;
  /** Where dates are counted for people whose record names no time_zone (config.timeZones); UTC without it. */
  timeZones?: TimeZoneSettings;
}

export async function applyPersonChange(trx: Transaction<Database>, boss: PgBoss, change: PersonChange, options: ApplyOptions = {}): Promise<AppliedChange> {
  const now = options.now ?? new Date();
  // A termination event whose record still says active (the HRIS sent the last known data) is
  // stored as terminated, so the record and the row agree.
  const record: PersonRecord = change.terminates && change.record.status !== 'terminated' ? { ...change.record, status: 'terminated' } : change.record;
  const noJobs = { jobId: null, endDateJobId: null };
  const inserted = await trx
    .insertInto('person_events')
    .values({ source: change.source, event_id: change.eventId, event_type: change.eventType, occurred_at: change.occurredAt, payload: JSON.stringify(change.payload) })
    .onConflict((oc) => oc.columns(['source', 'event_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return { duplicate: true, personId: null, classification: null, ...noJobs };

  // Two first events for the same new person (a batch and a retry, two sources) would both find no
  // row and both insert; this lock makes the second wait and see the first.
  await lockPeople(trx, [record.employee_id]);
  const existing = await trx.selectFrom('people').selectAll().where('employee_id', '=', record.employee_id).forUpdate().executeTakeFirst();

  // Every event received is in the audit trail, with what it was taken as.
  const audit = (result: string) =>
    appendAudit(trx, { actor: `hris:${change.source}`, action: 'event.received', subject: record.email, reason: `${change.source}:${change.eventId}`, result, detail: { eventType: change.eventType, occurredAt: change.occurredAt.toISOString(), employeeId: record.employee_id } });
  // Dates are days on the person's calendar: access lasts through end_date there (midnight after
  // it, in their zone), exactly as the policy engine reads it.
  const timeZone = timeZoneOf(record, options.timeZones);
  const ended = typeof record.end_date === 'string' && now.getTime() >= endOfDayIn(record.end_date, timeZone).getTime();
  const status: PersonStatus = change.terminates || record.status === 'terminated' || ended ? 'terminated' : 'active';

  const last = existing?.source_updated_at?.getTime();
  const at = change.occurredAt.getTime();
  if (existing && last !== undefined && (last > at || (last === at && existing.status === 'terminated' && status !== 'terminated'))) {
    // A termination is never dropped silently (issue 27). When what is stored is dated after now it
    // cannot be right (an event dated 2030, from before intake refused those), and keeping a leaver
    // active for years is the worse mistake: the termination applies, and its own date replaces the
    // bogus one. A termination older than a real later change follows the ordering rule (a rehire
    // may have followed it), but IT is told either way, since only a human can say which is true.
    const ending = status === 'terminated' && existing.status !== 'terminated';
    if (ending) {
      const stored = new Date(last).toISOString();
      const what = `a termination (${change.source} event ${change.eventId}, dated ${change.occurredAt.toISOString()})`;
      const future = last > now.getTime();
      await raiseEventOrderAlert(
        trx,
        boss,
        `${existing.id}:${change.source}:${change.eventId}`,
        future
          ? `${record.email}: Gatehouse applied ${what} although the last change stored for them is dated ${stored}, in the future, so it would have been filed as stale. Check their HR record and the sender's clock.`
          : `${record.email}: ${what} arrived after a change dated ${stored}, so it was kept as stale and they stay active. If they have left, terminate them again in the HR system; if they were rehired since, nothing is needed.`,
      );
      if (future) await audit('termination applied over a future-dated stored change; IT alerted');
    }
    if (!(ending && last > now.getTime())) {
      await trx.updateTable('person_events').set({ person_id: existing.id, classification: 'stale' }).where('id', '=', inserted.id).execute();
      await audit('stale (older than what is stored; kept, not applied)');
      return { duplicate: false, personId: existing.id, classification: 'stale', ...noJobs };
    }
  }

  let classification: Classification;
  if (!existing) classification = status === 'terminated' ? 'leaver' : 'joiner';
  else if (existing.status === 'terminated' && status === 'active') classification = 'rehire';
  else if (existing.status !== 'terminated' && status === 'terminated') classification = 'leaver';
  else if (status === 'terminated') classification = 'none';
  else classification = personContent(existing.data) === personContent(record) ? 'none' : 'mover';

  const manager = record.manager_email
    ? await trx.selectFrom('people').select('id').where(sql`lower(email)`, '=', record.manager_email.toLowerCase()).where('employee_id', '<>', record.employee_id).executeTakeFirst()
    : undefined;
  const values = {
    email: record.email,
    status,
    data: JSON.stringify(record),
    manager_id: manager?.id ?? null,
    source_updated_at: change.occurredAt,
    updated_at: now,
  };
  const person = existing
    ? await trx.updateTable('people').set(values).where('id', '=', existing.id).returning('id').executeTakeFirstOrThrow()
    : await trx.insertInto('people').values({ employee_id: record.employee_id, ...values }).returning('id').executeTakeFirstOrThrow();
  // People who named this person as manager before they existed (or before this email) now link.
  if (!existing || existing.email.toLowerCase() !== record.email.toLowerCase()) {
    await trx
      .updateTable('people')
      .set({ manager_id: person.id })
      .where('manager_id', 'is', null)
      .where(sql`lower(data->>'manager_email')`, '=', record.email.toLowerCase())
      .where('id', '<>', person.id)
      .execute();
  }

  await trx.updateTable('person_events').set({ person_id: person.id, classification, applied: true }).where('id', '=', inserted.id).execute();
  await audit(classification);
  if (classification === 'none') return { duplicate: false, personId: person.id, classification, ...noJobs };

  const db = bossOnTransaction(trx);
  const job = (reason: ReconcilePersonJob['reason'], startAfter?: Date) => {
    const data: ReconcilePersonJob = { personId: person.id, reason, eventId: change.eventId, source: change.source };
    // The reconcile-person queue is `standard`: a singletonKey labels jobs per person without
    // deduplicating them. A `short` or `singleton` policy would drop a termination behind a
    // deferred joiner job, so the queue must keep that policy.
    return boss.send(QUEUES.reconcilePerson.name, data, { db, singletonKey: person.id, priority: PRIORITY[reason], ...(startAfter ? { startAfter } : {}) });
  };

  let startAfter: Date | undefined;
  if (classification !== 'leaver' && record.start_date) {
    // Nobody is provisioned before their start date minus the lead time, whatever the change.
    const start = startOfDayIn(record.start_date, timeZone).getTime() - (options.joinerLeadTimeMs ?? DAY_MS);
    if (start > now.getTime()) startAfter = new Date(start);
  }
  const jobId = await job(classification, startAfter);

  let endDateJobId: string | null = null;
  // The end instant, not only the date: a move to another zone with the same end_date (London to
  // Sydney) moves the end by hours, and the job scheduled for the old one would be late.
  const previous = existing ? (existing.data as PersonRecord) : null;
  const previousEndMs = previous?.end_date ? endOfDayIn(previous.end_date, timeZoneOf(previous, options.timeZones)).getTime() : null;
  if (status === 'active' && record.end_date) {
    const endsAt = endOfDayIn(record.end_date, timeZone);
    if (endsAt.getTime() !== previousEndMs || classification === 'rehire') endDateJobId = await job('leaver', endsAt);
  }
  return { duplicate: false, personId: person.id, classification, jobId, endDateJobId };
}

/**
 * An `event_order` alert for IT, queued on the same transaction (the outbox of
 * orchestrator/notifications.ts: the same message and singleton key as notify(), sent here
 * directly because notifications.ts imports the Slack renderers, which import this layer).
 */
async function raiseEventOrderAlert(trx: Transaction<Database>, boss: PgBoss, subject: string, message: string): Promise<void> {
  const opened = await trx
    .insertInto('alerts')
    .values({ kind: 'event_order', subject, message })
    .onConflict((oc) => oc.columns(['kind', 'subject']).where('resolved_at', 'is', null).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!opened) return;
  const notification: Notification = { type: 'alert', alertId: opened.id };
  await boss.send(QUEUES.notify.name, notification, { db: bossOnTransaction(trx), singletonKey: `alert-${opened.id}` });
}
