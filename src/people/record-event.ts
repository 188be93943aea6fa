import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/**
 * Keeps an event in the person history without applying it: a source told us something that does
 * not describe a person yet (BambooHR's Created and Deleted carry no fields; a deletion of someone
 * never seen). Stored once per (source, event_id), like every event, so a redelivery is a duplicate.
 */
export async function recordEvent(
  trx: Transaction<Database>,
  event: { source: string; eventId: string; eventType: string; occurredAt: Date; payload: unknown; personId?: string | null; reason: string },
): Promise<{ duplicate: boolean }> {
  const inserted = await trx
    .insertInto('person_events')
    .values({
      source: event.source,
      event_id: event.eventId,
      event_type: event.eventType,
      occurred_at: event.occurredAt,
      person_id: event.personId ?? null,
      payload: JSON.stringify({ received: event.payload, not_applied: event.reason }),
      classification: 'none',
    })
    .onConflict((oc) => oc.columns(['source', 'event_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return { duplicate: !inserted };
}
