import { transact } from '../db/transact.js';
import type { PgBoss } from 'pg-boss';
import { isDatabaseUnavailable } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import { readBody, sendJson } from '../http/body.js';
import type { Route } from '../http/router.js';
import { applyPersonChange, lockPeople } from '../people/apply-change.js';
import type { TimeZoneSettings } from '../policy/index.js';
import { type FieldError, personRecordSchema, toFieldErrors } from '../people/person-record.js';
import { findPrototypeKey, PROTOTYPE_KEY_MESSAGE } from '../people/prototype-keys.js';
import { recordEvent } from '../people/record-event.js';
import { futureDatedError } from './future-dated.js';
import { type BambooFieldMap, bambooBodySchema, isEventBasedPayload, mapBambooEmployee, verifyBambooSignature } from './bamboohr.js';

export interface BambooDeps {
  db: Db;
  boss: PgBoss;
  key: string | undefined;
  fieldMap: BambooFieldMap;
  joinerLeadTimeMs?: number;
  /** Where dates are counted for people whose record names no time_zone (config.timeZones). */
  timeZones?: TimeZoneSettings;
  /** How far ahead of now an employee's timestamp may be (HR_EVENT_MAX_FUTURE; 24h without it). */
  maxFutureMs?: number;
}

class Invalid extends Error {
  readonly errors: FieldError[];
  constructor(errors: FieldError[]) {
    super('invalid');
    this.errors = errors;
  }
}

/**
 * `POST /hris/bamboohr`: BambooHR's field-based webhook, verified with its private key, mapped to
 * canonical person changes. An Updated event carries only the posted fields, so it is merged over
 * the stored record (read FOR UPDATE in the same transaction) before validation. All employees of
 * one post commit together or, if any is invalid, none does (400 naming each). Responses as for
 * `/hris/events`: 202 `{"accepted":true,"employees":[{"id","status":"accepted|recorded|duplicate"}]}`
 * (`recorded`: kept in history, nothing to apply), 200 with `"duplicate":true` when all were
 * already stored, 401, 400, 413, 503.
 */
export function createBambooRoutes(deps: BambooDeps): Route[] {
  return [
    {
      method: 'POST',
      path: '/hris/bamboohr',
      handler: async (req, res) => {
        if (!deps.key) {
          sendJson(res, 503, { error: 'the BambooHR webhook is not configured: set BAMBOOHR_WEBHOOK_SECRET to the webhook\'s private key' });
          return;
        }
        const raw = await readBody(req);
        const check = verifyBambooSignature(req.headers['x-bamboohr-signature'] as string | undefined, req.headers['x-bamboohr-timestamp'] as string | undefined, raw, deps.key);
        if (!check.ok) {
          sendJson(res, 401, { error: check.reason });
          return;
        }
        let json: unknown;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch (error) {
          sendJson(res, 400, { errors: [{ path: '(body)', message: `not valid JSON: ${(error as Error).message}` }] });
          return;
        }
        const prototypeKey = findPrototypeKey(json);
        if (prototypeKey) {
          sendJson(res, 400, { errors: [{ path: prototypeKey, message: PROTOTYPE_KEY_MESSAGE }] });
          return;
        }
        if (isEventBasedPayload(json)) {
          sendJson(res, 400, {
            errors: [{ path: 'type', message: 'this is an Event-Based webhook, which carries no field values; in BambooHR (Account Settings → Webhooks) choose the Field-Based data structure and post the fields Gatehouse maps (README → BambooHR)' }],
          });
          return;
        }
        const body = bambooBodySchema.safeParse(json);
        if (!body.success) {
          sendJson(res, 400, { errors: toFieldErrors(body.error) });
          return;
        }
        const now = new Date();
        const future = body.data.employees.flatMap((e, i) => futureDatedError(e.timestamp, `employees.${i}.timestamp`, now, deps.maxFutureMs) ?? []);
        if (future.length > 0) {
          sendJson(res, 400, { errors: future });
          return;
        }
        try {
          const results = await transact(deps.db, async (trx) => {
            const out: { id: string; status: 'accepted' | 'duplicate' | 'recorded' }[] = [];
            const errors: FieldError[] = [];
            await lockPeople(trx, body.data.employees.map((e) => String(mapBambooEmployee(e, deps.fieldMap).fields.employee_id)));
            for (const [i, employee] of body.data.employees.entries()) {
              const mapped = mapBambooEmployee(employee, deps.fieldMap);
              errors.push(...mapped.errors.map((e) => ({ ...e, path: `employees.${i}.${e.path}` })));
              const employeeId = String(mapped.fields.employee_id);
              const stored = await trx.selectFrom('people').select(['id', 'data']).where('employee_id', '=', employeeId).forUpdate().executeTakeFirst();
              const event = { source: 'bamboohr', eventId: `${employee.id}:${employee.action}:${employee.timestamp}`, eventType: `employee.${employee.action.toLowerCase()}`, occurredAt: new Date(employee.timestamp), payload: employee };
              const carriesFields = Object.keys(employee.fields).length > 0;
              if (!stored && (employee.action === 'Deleted' || (employee.action === 'Created' && !carriesFields))) {
                // Nothing to apply yet (Created and Deleted come without fields, per BambooHR's
                // docs): keep it in history and acknowledge, or BambooHR retries it forever.
                if (errors.length === 0) {
                  const kept = await recordEvent(trx, { ...event, reason: employee.action === 'Deleted' ? 'deletion of an employee Gatehouse never saw' : 'Created carries no fields; the person is created by the Updated that follows' });
                  out.push({ id: employee.id, status: kept.duplicate ? 'duplicate' : 'recorded' });
                }
                continue;
              }
              const known = (stored?.data as Record<string, unknown> | undefined) ?? {};
              const merged = {
                ...known,
                ...mapped.fields,
                // Custom attributes merge key by key: a post carrying one does not erase the others.
                ...(mapped.fields.attributes ? { attributes: { ...(known.attributes as Record<string, unknown> | undefined), ...(mapped.fields.attributes as Record<string, unknown>) } } : {}),
                ...(employee.action === 'Deleted' ? { status: 'terminated' } : {}),
              };
              const record = personRecordSchema.safeParse(merged);
              if (!record.success) {
                const unknown = stored ? '' : ` (BambooHR employee ${employee.id} is new to Gatehouse, so the webhook must post every mapped field it needs; see BAMBOOHR_FIELD_MAP)`;
                errors.push(...toFieldErrors(record.error, `employees.${i}`).map((e) => ({ ...e, message: `${e.message}${unknown}` })));
                continue;
              }
              if (errors.length > 0) continue;
              const applied = await applyPersonChange(
                trx,
                deps.boss,
                { ...event, record: record.data, terminates: employee.action === 'Deleted' || record.data.status === 'terminated' },
                { joinerLeadTimeMs: deps.joinerLeadTimeMs, timeZones: deps.timeZones },
              );
              out.push({ id: employee.id, status: applied.duplicate ? 'duplicate' : 'accepted' });
            }
            if (errors.length > 0) throw new Invalid(errors);
            return out;
          });
          // 202 when anything new was committed; 200 when every employee was already stored.
          const fresh = results.some((r) => r.status !== 'duplicate');
          sendJson(res, fresh ? 202 : 200, { accepted: fresh, ...(fresh ? {} : { duplicate: true }), employees: results });
        } catch (error) {
          if (error instanceof Invalid) {
            sendJson(res, 400, { errors: error.errors });
            return;
          }
          if (isDatabaseUnavailable(error)) {
            sendJson(res, 503, { error: 'the database is unavailable; retry later' }, { 'retry-after': '5' });
            return;
          }
          throw error;
        }
      },
    },
  ];
}
