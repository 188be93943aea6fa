import { z } from 'zod';
import { type FieldError, personRecordSchema, toFieldErrors } from '../people/person-record.js';
import { findPrototypeKey, PROTOTYPE_KEY_MESSAGE } from '../people/prototype-keys.js';

export const HRIS_EVENT_TYPES = ['employee.hired', 'employee.updated', 'employee.terminated'] as const;

export const hrisEventSchema = z
  .object({
    event_type: z.enum(HRIS_EVENT_TYPES, { message: `must be one of ${HRIS_EVENT_TYPES.join(', ')}` }),
    event_id: z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be text') }).trim().min(1).max(200),
    timestamp: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-11-22T15:01:00Z' }),
    data: personRecordSchema,
  })
  .strict();

export type HrisEvent = z.output<typeof hrisEventSchema>;

export const MAX_BATCH = 1000;

export type ParsedHrisBody = { ok: true; events: HrisEvent[]; batch: boolean } | { ok: false; errors: FieldError[] };

/**
 * The webhook body: one event, or `{"events":[…]}`. Every problem is reported with its field
 * path (`events.3.data.email`), and nothing is accepted unless everything is valid.
 */
export function parseHrisBody(raw: Buffer): ParsedHrisBody {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    return { ok: false, errors: [{ path: '(body)', message: `not valid JSON: ${(error as Error).message}` }] };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, errors: [{ path: '(body)', message: 'expected one event object, or {"events":[…]}' }] };
  }
  // Before any schema sees it: zod drops some of these keys silently and keeps others (issue 27).
  const prototypeKey = findPrototypeKey(json);
  if (prototypeKey) return { ok: false, errors: [{ path: prototypeKey, message: PROTOTYPE_KEY_MESSAGE }] };
  if ('events' in json) {
    const events = (json as { events: unknown }).events;
    if (!Array.isArray(events) || events.length === 0 || events.length > MAX_BATCH) {
      return { ok: false, errors: [{ path: 'events', message: `must be a list of 1 to ${MAX_BATCH} events` }] };
    }
    const extra = Object.keys(json).filter((k) => k !== 'events');
    const errors: FieldError[] = extra.map((k) => ({ path: k, message: 'unknown field' }));
    const parsed: HrisEvent[] = [];
    events.forEach((event, i) => {
      const result = hrisEventSchema.safeParse(event);
      if (result.success) parsed.push(result.data);
      else errors.push(...toFieldErrors(result.error, `events.${i}`));
    });
    const seen = new Map<string, number>();
    parsed.forEach((e, i) => {
      if (seen.has(e.event_id)) errors.push({ path: `events.${i}.event_id`, message: `repeats events.${seen.get(e.event_id)}.event_id` });
      seen.set(e.event_id, i);
    });
    return errors.length > 0 ? { ok: false, errors } : { ok: true, events: parsed, batch: true };
  }
  const result = hrisEventSchema.safeParse(json);
  return result.success ? { ok: true, events: [result.data], batch: false } : { ok: false, errors: toFieldErrors(result.error) };
}
