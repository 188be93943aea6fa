import { sql, type Transaction } from 'kysely';
import type { PgBoss } from 'pg-boss';
import { canonicalJson } from '../canonical-json.js';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Database, PersonStatus } from '../db/schema.js';
import { QUEUES } from '../orchestrator/queue.js';
import type { PersonRecord } from './person-record.js';

export type Classification = 'joiner' | 'mover' | 'leaver' | 'rehire' | 'none' | 'stale';

export interface PersonChange {
  /** Where it came from: `hris`, `bamboohr`, `scim`, `import`. */
  source: string;
  eventId: string;
  eventType: string;
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
  jobId: string | null;
}

/** Queue priority: leavers first (ARCHITECTURE.md → rules of the road), then joiners, then movers. */
export const PRIORITY: Record<Exclude<Classification, 'none' | 'stale'>, number> = { leaver: 100, joiner: 60, rehire: 60, mover: 40 };

const DAY_MS = 86_400_000;

/**
 * Applies one HR change to the person store, inside the caller's transaction:
 * - the event is stored once per (source, event_id): a redelivery is a no-op;
 * - an event older than the person's last applied change is kept in history but changes nothing;
 * - the change is classified (joiner, mover, leaver, rehire) and a reconcile-person job is
 *   enqueued in the same transaction, deferred to the start date minus the lead time for a future
 *   joiner. A termination that arrives before the hire creates the person as terminated.
 */
export async function applyPersonChange(trx: Transaction<Database>, boss: PgBoss, change: PersonChange, options: { now?: Date; joinerLeadTimeMs?: number } = {}): Promise<AppliedChange> {
  const now = options.now ?? new Date();
  const inserted = await trx
    .insertInto('person_events')
    .values({ source: change.source, event_id: change.eventId, event_type: change.eventType, occurred_at: change.occurredAt, payload: JSON.stringify(change.payload) })
    .onConflict((oc) => oc.columns(['source', 'event_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return { duplicate: true, personId: null, classification: null, jobId: null };

  const existing = await trx.selectFrom('people').selectAll().where('employee_id', '=', change.record.employee_id).forUpdate().executeTakeFirst();
  const status: PersonStatus = change.terminates || change.record.status === 'terminated' ? 'terminated' : 'active';

  if (existing?.source_updated_at && existing.source_updated_at.getTime() > change.occurredAt.getTime()) {
    await trx.updateTable('person_events').set({ person_id: existing.id, classification: 'stale' }).where('id', '=', inserted.id).execute();
    return { duplicate: false, personId: existing.id, classification: 'stale', jobId: null };
  }

  let classification: Classification;
  if (!existing) classification = status === 'terminated' ? 'leaver' : 'joiner';
  else if (existing.status === 'terminated' && status === 'active') classification = 'rehire';
  else if (existing.status !== 'terminated' && status === 'terminated') classification = 'leaver';
  else if (status === 'terminated') classification = 'none';
  // Postgres reorders jsonb keys, so compare content, not text.
  else classification = canonicalJson(existing.data) === canonicalJson(change.record) ? 'none' : 'mover';

  const manager = change.record.manager_email
    ? await trx.selectFrom('people').select('id').where(sql`lower(email)`, '=', change.record.manager_email.toLowerCase()).where('employee_id', '<>', change.record.employee_id).executeTakeFirst()
    : undefined;
  const values = {
    email: change.record.email,
    status,
    data: JSON.stringify(change.record),
    manager_id: manager?.id ?? null,
    source_updated_at: change.occurredAt,
    updated_at: now,
  };
  const person = existing
    ? await trx.updateTable('people').set(values).where('id', '=', existing.id).returning('id').executeTakeFirstOrThrow()
    : await trx.insertInto('people').values({ employee_id: change.record.employee_id, ...values }).returning('id').executeTakeFirstOrThrow();
  // People who named this person as manager before they existed now link to them.
  if (!existing) {
    await trx
      .updateTable('people')
      .set({ manager_id: person.id })
      .where('manager_id', 'is', null)
      .where(sql`lower(data->>'manager_email')`, '=', change.record.email.toLowerCase())
      .execute();
  }

  await trx.updateTable('person_events').set({ person_id: person.id, classification, applied: true }).where('id', '=', inserted.id).execute();
  if (classification === 'none') return { duplicate: false, personId: person.id, classification, jobId: null };

  let startAfter: Date | undefined;
  if ((classification === 'joiner' || classification === 'rehire') && change.record.start_date) {
    const start = Date.parse(`${change.record.start_date}T00:00:00Z`) - (options.joinerLeadTimeMs ?? DAY_MS);
    if (start > now.getTime()) startAfter = new Date(start);
  }
  const jobId = await boss.send(
    QUEUES.reconcilePerson.name,
    { personId: person.id, reason: classification, eventId: change.eventId, source: change.source },
    { db: bossOnTransaction(trx), priority: PRIORITY[classification], ...(startAfter ? { startAfter } : {}) },
  );
  return { duplicate: false, personId: person.id, classification, jobId };
}
