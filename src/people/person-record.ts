import { z } from 'zod';
import { canonicalTimeZone } from '../policy/calendar-day.js';
import { isPrototypeKey } from './prototype-keys.js';

/**
 * The canonical person record: the HRIS webhook's `data` object (ARCHITECTURE.md → HRIS webhook).
 * Every intake path (webhook, BambooHR, SCIM, CSV/JSON import) produces this shape, and the policy
 * engine evaluates it. Field names are the contract; do not rename them.
 */

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine(
    (v) =>
      !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v),
    {
      message: 'is not a real calendar date',
    },
  );

const stringError = {
  error: (issue: { input: unknown }) => (issue.input === undefined ? 'is required' : 'must be text'),
};

/** Postgres cannot store NUL in text or jsonb; refused with the field named rather than failing on insert. */
const NO_NUL = [(v: string) => !v.includes('\u0000'), 'must not contain NUL (\\u0000) characters'] as const;

const text = (max = 256) =>
  z.string(stringError).trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`).refine(...NO_NUL);

/**
 * The person's IANA time zone (Australia/Sydney): their dates (end_date, start_date) are days on
 * that calendar. Stored as the zone database spells it, so `australia/sydney` reads the same.
 */
const timeZone = z
  .string(stringError)
  .trim()
  .max(64, 'must be at most 64 characters')
  .transform((value, ctx) => {
    const zone = canonicalTimeZone(value);
    if (zone) return zone;
    ctx.addIssue({ code: 'custom', message: `"${value}" is not an IANA time zone; use a name such as Australia/Sydney, America/New_York or UTC` });
    return z.NEVER;
  });

/** Custom attributes: scalar values or lists of strings, keyed by simple names. */
export const attributeValueSchema = z.union([
  z.string().max(1024).refine(...NO_NUL),
  z.number(),
  z.boolean(),
  z.null(),
  z.array(z.string().max(1024).refine(...NO_NUL)).max(500),
]);

export const EMPLOYMENT_TYPES = ['FTE', 'Contractor', 'Intern'] as const;
export const PERSON_STATUSES = ['active', 'terminated'] as const;

export const personRecordSchema = z.object({
  employee_id: text(128),
  email: z.string(stringError).trim().max(320).pipe(z.email('must be an email address')),
  first_name: text().optional(),
  last_name: text().optional(),
  job_title: text().nullish(),
  department: text().nullish(),
  team: text().nullish(),
  employment_type: z
    .enum(EMPLOYMENT_TYPES, { message: `must be one of ${EMPLOYMENT_TYPES.join(', ')}` })
    .nullish(),
  start_date: isoDate.nullish(),
  end_date: isoDate.nullish(),
  manager_email: z.string(stringError).trim().max(320).pipe(z.email('must be an email address')).nullish(),
  location: text().nullish(),
  /** Optional; without it the zone comes from LOCATION_TIME_ZONES, then DEFAULT_TIME_ZONE. */
  time_zone: timeZone.nullish(),
  cost_center: text().nullish(),
  /** Groups the IdP puts the person in (pushed over SCIM); policies test them as `groups`. */
  groups: z.array(z.string().max(256).refine(...NO_NUL)).max(1000).optional(),
  status: z
    .enum(PERSON_STATUSES, { message: `must be one of ${PERSON_STATUSES.join(', ')}` })
    .default('active'),
  attributes: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'attribute names are letters, digits, _ . - (max 64)')
        // Policies read attributes by name; these would name the prototype, not an attribute (issue 27).
        .refine((name) => !name.split('.').some(isPrototypeKey), 'attribute names must not be __proto__, constructor or prototype'),
      attributeValueSchema,
    )
    .refine((a) => Object.keys(a).length <= 200, 'at most 200 custom attributes')
    .default({}),
});

export type PersonRecord = z.output<typeof personRecordSchema>;
export type PersonRecordInput = z.input<typeof personRecordSchema>;

/** A field path and what is wrong with it, for 400 responses and CLI errors alike. */
export interface FieldError {
  path: string;
  message: string;
}

export function toFieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)',
    message: issue.message,
  }));
}

/**
 * The record's content for comparison: a field set to null, an empty `attributes` or an empty
 * `groups` means the same as the field being absent (a CSV leaves cells empty where the webhook
 * sends null), so they are dropped and keys are sorted.
 */
export function personContent(record: unknown): string {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    // No prototype: `out[key] = …` with a stored key "__proto__" must add a key, not replace it.
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value).sort()) {
      const v = strip((value as Record<string, unknown>)[key]);
      if (v === null || v === undefined) continue;
      if (Array.isArray(v) && v.length === 0) continue;
      if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
      out[key] = v;
    }
    return out;
  };
  return JSON.stringify(strip(record));
}
