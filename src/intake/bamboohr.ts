import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { FieldError } from '../people/person-record.js';
import { TOLERANCE_SECONDS } from './hris-signature.js';

/**
 * BambooHR's field-based ("global") webhooks, as documented at
 * https://documentation.bamboohr.com/docs/field-based-webhooks (JSON format):
 * `{"employees":[{"action":"Updated","changedFields":["First Name"],"fields":{"First Name":"Bryony"},
 * "id":"12345","timestamp":"2026-01-31T18:42:00+0000"}]}`. Field names are BambooHR's English
 * names unless the webhook sets aliases; Created and Deleted carry empty `changedFields` and
 * `fields` (https://documentation.bamboohr.com/docs/global-webhooks → Webhook Data Format).
 * Signed with the webhook's private key (https://documentation.bamboohr.com/docs/webhooks →
 * Security): `X-BambooHR-Signature` is the hex SHA-256 HMAC of the raw body followed by the
 * `X-BambooHR-Timestamp` header's value.
 */
export const bambooEmployeeSchema = z
  .object({
    id: z.union([z.string().min(1).max(64), z.number().int()]).transform(String),
    action: z.enum(['Created', 'Updated', 'Deleted'], { message: 'must be Created, Updated or Deleted' }),
    timestamp: z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'must be a date-time'),
    changedFields: z.array(z.string()).optional(),
    fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
  })
  .passthrough();

export const bambooBodySchema = z.object({ employees: z.array(bambooEmployeeSchema).min(1, 'must list at least one employee').max(1000, 'at most 1000 employees') }).passthrough();

/**
 * Event-based webhooks (https://documentation.bamboohr.com/docs/event-based-webhooks) post
 * `{"type":"employee.updated","data":{"employeeId",…}}` with no field values, which Gatehouse cannot
 * turn into a person record without API access. They are refused with a message saying what to change.
 */
export function isEventBasedPayload(json: unknown): boolean {
  const o = json as { type?: unknown; data?: unknown; employees?: unknown } | null;
  return Boolean(o) && typeof o === 'object' && typeof o!.type === 'string' && o!.type.startsWith('employee.') && o!.employees === undefined;
}
export type BambooEmployee = z.output<typeof bambooEmployeeSchema>;

/** Our person-record field → the BambooHR field name (or alias) that carries it. */
export type BambooFieldMap = Record<string, string>;

export const DEFAULT_BAMBOO_FIELD_MAP: BambooFieldMap = {
  email: 'Work Email',
  first_name: 'First Name',
  last_name: 'Last Name',
  job_title: 'Job Title',
  department: 'Department',
  team: 'Division',
  location: 'Location',
  start_date: 'Hire Date',
  end_date: 'Termination Date',
  employment_type: 'Employment Status',
  manager_email: 'Supervisor Email',
  status: 'Status',
};

/** BambooHR's "Employment Status" values → ours. */
const EMPLOYMENT: Record<string, string> = { 'full-time': 'FTE', 'part-time': 'FTE', contractor: 'Contractor', contract: 'Contractor', intern: 'Intern', internship: 'Intern' };

export function signBamboo(key: string, rawBody: string | Buffer, timestamp = Math.floor(Date.now() / 1000)): { signature: string; timestamp: string } {
  const t = String(timestamp);
  return { signature: createHmac('sha256', key).update(rawBody).update(t).digest('hex'), timestamp: t };
}

/** The timestamp header as unix seconds: BambooHR documents "the timestamp when the request was sent" without a format, so seconds and ISO 8601 are both read. */
function headerSeconds(timestamp: string): number | undefined {
  if (/^\d{1,12}$/.test(timestamp)) return Number(timestamp);
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(timestamp) ? Date.parse(timestamp) : Number.NaN;
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * Checks X-BambooHR-Signature against HMAC-SHA256(key, raw body + X-BambooHR-Timestamp), in
 * constant time, and refuses a timestamp more than 300 s from now either way (a replayed request).
 */
export function verifyBambooSignature(signature: string | undefined, timestamp: string | undefined, rawBody: Buffer, key: string, nowSeconds = Math.floor(Date.now() / 1000)): { ok: true } | { ok: false; reason: string } {
  // One reading of each header for every step: the freshness window and the HMAC must judge the
  // same timestamp, or a value could be fresh as one string and signed as another. Surrounding
  // whitespace is not part of a header value (RFC 9110 §5.5).
  const t = timestamp?.trim();
  const given = signature?.trim();
  if (!given || !t) return { ok: false, reason: 'missing X-BambooHR-Signature or X-BambooHR-Timestamp header' };
  const seconds = headerSeconds(t);
  if (seconds === undefined) return { ok: false, reason: 'X-BambooHR-Timestamp must be unix seconds or an ISO 8601 date-time' };
  if (Math.abs(nowSeconds - seconds) > TOLERANCE_SECONDS) return { ok: false, reason: `X-BambooHR-Timestamp is more than ${TOLERANCE_SECONDS} s from now` };
  if (!/^[0-9a-f]{64}$/i.test(given)) return { ok: false, reason: 'X-BambooHR-Signature must be a hex SHA-256 HMAC' };
  const expected = createHmac('sha256', key).update(rawBody).update(t).digest();
  return timingSafeEqual(Buffer.from(given, 'hex'), expected) ? { ok: true } : { ok: false, reason: 'X-BambooHR-Signature does not match the body: check BAMBOOHR_WEBHOOK_SECRET is the webhook\'s private key' };
}

/** Dates arrive as YYYY-MM-DD; BambooHR writes "0000-00-00" for "none". */
function date(value: unknown): string | null | undefined {
  if (value === null || value === '' || value === '0000-00-00') return null;
  return typeof value === 'string' ? value.slice(0, 10) : undefined;
}

/**
 * One BambooHR employee → the fields of our person record it carries (`attributes.<name>` keys of
 * the map fill custom attributes). Updated events carry only the fields the webhook posts, so this
 * is partial; the route merges it over what the store knows.
 */
export function mapBambooEmployee(employee: BambooEmployee, map: BambooFieldMap): { fields: Record<string, unknown>; errors: FieldError[] } {
  const fields: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  const attributes: Record<string, unknown> = {};
  for (const [ours, theirs] of Object.entries(map)) {
    // Own fields only: `in` would also find what employee.fields inherits ("constructor", "toString").
    if (theirs === '' || !Object.hasOwn(employee.fields, theirs)) continue;
    const value = employee.fields[theirs];
    if (ours.startsWith('attributes.')) attributes[ours.slice('attributes.'.length)] = value;
    else if (ours === 'start_date' || ours === 'end_date') fields[ours] = date(value);
    else if (ours === 'employment_type') {
      const mapped = value === null ? null : EMPLOYMENT[String(value).trim().toLowerCase()];
      if (mapped === undefined) errors.push({ path: `fields.${theirs}`, message: `"${value}" is not a known employment status (${Object.keys(EMPLOYMENT).join(', ')})` });
      else fields[ours] = mapped;
    } else if (ours === 'status') fields[ours] = String(value).toLowerCase() === 'inactive' ? 'terminated' : 'active';
    else fields[ours] = value === null ? null : String(value);
  }
  if (Object.keys(attributes).length > 0) fields.attributes = attributes;
  // BambooHR's own id is in every event; map employee_id to "Employee #" to key on that instead.
  fields.employee_id ??= employee.id;
  return { fields, errors };
}
