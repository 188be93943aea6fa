import type { PgBoss } from 'pg-boss';
import { isDatabaseUnavailable } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import { readBody, sendJson } from '../http/body.js';
import type { Route } from '../http/router.js';
import { applyPersonChange } from '../people/apply-change.js';
import { type FieldError, personRecordSchema, toFieldErrors } from '../people/person-record.js';
import { type BambooFieldMap, bambooBodySchema, mapBambooEmployee, verifyBambooSignature } from './bamboohr.js';

export interface BambooDeps {
  db: Db;
  boss: PgBoss;
  key: string | undefined;
  fieldMap: BambooFieldMap;
  joinerLeadTimeMs?: number;
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
 * the stored record (read FOR UPDATE in the same transaction) before validation.
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
        const body = bambooBodySchema.safeParse(json);
        if (!body.success) {
          sendJson(res, 400, { errors: toFieldErrors(body.error) });
          return;
        }
        try {
          const results = await deps.db.transaction().execute(async (trx) => {
            const out: { id: string; status: string }[] = [];
            const errors: FieldError[] = [];
            for (const [i, employee] of body.data.employees.entries()) {
              const mapped = mapBambooEmployee(employee, deps.fieldMap);
              errors.push(...mapped.errors.map((e) => ({ ...e, path: `employees.${i}.${e.path}` })));
              const stored = await trx.selectFrom('people').select('data').where('employee_id', '=', String(mapped.fields.employee_id)).forUpdate().executeTakeFirst();
              const merged = { ...((stored?.data as Record<string, unknown>) ?? {}), ...mapped.fields, ...(employee.action === 'Deleted' ? { status: 'terminated' } : {}) };
              const record = personRecordSchema.safeParse(merged);
              if (!record.success) {
                errors.push(...toFieldErrors(record.error, `employees.${i}`));
                continue;
              }
              if (errors.length > 0) continue;
              const applied = await applyPersonChange(
                trx,
                deps.boss,
                {
                  source: 'bamboohr',
                  eventId: `${employee.id}:${employee.action}:${employee.timestamp}`,
                  eventType: `employee.${employee.action.toLowerCase()}`,
                  occurredAt: new Date(employee.timestamp),
                  record: record.data,
                  payload: employee,
                  terminates: employee.action === 'Deleted' || record.data.status === 'terminated',
                },
                { joinerLeadTimeMs: deps.joinerLeadTimeMs },
              );
              out.push({ id: employee.id, status: applied.duplicate ? 'duplicate' : 'accepted' });
            }
            if (errors.length > 0) throw new Invalid(errors);
            return out;
          });
          const accepted = results.some((r) => r.status === 'accepted');
          sendJson(res, accepted ? 202 : 200, { accepted, employees: results });
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
