import { transact } from '../db/transact.js';
import type { PgBoss } from 'pg-boss';
import { isDatabaseUnavailable } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import { readBody, sendJson } from '../http/body.js';
import type { Route } from '../http/router.js';
import type { Logger } from '../log.js';
import { applyPersonChange, lockPeople } from '../people/apply-change.js';
import type { TimeZoneSettings } from '../policy/index.js';
import { futureDatedError } from './future-dated.js';
import { parseHrisBody } from './hris-event.js';
import { verifyHrisSignature } from './hris-signature.js';

export interface HrisDeps {
  db: Db;
  boss: PgBoss;
  secret: string | undefined;
  log: Logger;
  joinerLeadTimeMs?: number;
  /** Where dates are counted for people whose record names no time_zone (config.timeZones). */
  timeZones?: TimeZoneSettings;
  /** How far ahead of now an event's timestamp may be (HR_EVENT_MAX_FUTURE; 24h without it). */
  maxFutureMs?: number;
}

/**
 * `POST /hris/events` (ARCHITECTURE.md → HRIS webhook). The route only transports: it checks the
 * signature on the raw bytes, parses, and hands every event to applyPersonChange in one
 * transaction, so a 202 means the whole body is committed, with its reconcile jobs.
 *
 * A batch (`{"events":[…]}`, up to 1000) is all or nothing: any invalid event is a 400 naming its
 * path (`events.3.data.email`) and nothing is stored. Otherwise it answers
 * `202 {"accepted":true,"events":[{"event_id","status":"accepted|duplicate"}]}` when at least one
 * event was new, and `200 {"accepted":false,"duplicate":true,"events":[…]}` when all were stored before.
 */
export function createHrisRoutes(deps: HrisDeps): Route[] {
  return [
    {
      method: 'POST',
      path: '/hris/events',
      handler: async (req, res) => {
        if (!deps.secret) {
          sendJson(res, 503, { error: 'the HRIS webhook is not configured: set HRIS_WEBHOOK_SECRET' });
          return;
        }
        const raw = await readBody(req);
        const signature = verifyHrisSignature(req.headers['gatehouse-signature'] as string | undefined, raw, deps.secret);
        if (!signature.ok) {
          sendJson(res, 401, { error: signature.reason });
          return;
        }
        const parsed = parseHrisBody(raw);
        if (!parsed.ok) {
          sendJson(res, 400, { errors: parsed.errors });
          return;
        }
        const now = new Date();
        const future = parsed.events.flatMap((e, i) => futureDatedError(e.timestamp, parsed.batch ? `events.${i}.timestamp` : 'timestamp', now, deps.maxFutureMs) ?? []);
        if (future.length > 0) {
          sendJson(res, 400, { errors: future });
          return;
        }
        let results: { event_id: string; duplicate: boolean }[];
        try {
          results = await transact(deps.db, async (trx) => {
            const out: { event_id: string; duplicate: boolean }[] = [];
            await lockPeople(trx, parsed.events.map((e) => e.data.employee_id));
            for (const event of parsed.events) {
              const applied = await applyPersonChange(
                trx,
                deps.boss,
                {
                  source: 'hris',
                  eventId: event.event_id,
                  eventType: event.event_type,
                  occurredAt: new Date(event.timestamp),
                  record: event.data,
                  payload: event,
                  terminates: event.event_type === 'employee.terminated',
                },
                { joinerLeadTimeMs: deps.joinerLeadTimeMs, timeZones: deps.timeZones },
              );
              out.push({ event_id: event.event_id, duplicate: applied.duplicate });
            }
            return out;
          });
        } catch (error) {
          if (isDatabaseUnavailable(error)) {
            // The sender retries: nothing was committed.
            sendJson(res, 503, { error: 'the database is unavailable; retry later' }, { 'retry-after': '5' });
            return;
          }
          throw error;
        }
        if (!parsed.batch) {
          const [result] = results;
          if (result!.duplicate) sendJson(res, 200, { duplicate: true });
          else sendJson(res, 202, { accepted: true, event_id: result!.event_id });
          return;
        }
        // A batch is one transaction: 202 when any event was new, 200 (and duplicate) when none was.
        const accepted = results.filter((r) => !r.duplicate).length;
        sendJson(res, accepted > 0 ? 202 : 200, {
          accepted: accepted > 0,
          ...(accepted === 0 ? { duplicate: true } : {}),
          events: results.map((r) => ({ event_id: r.event_id, status: r.duplicate ? 'duplicate' : 'accepted' })),
        });
      },
    },
  ];
}
