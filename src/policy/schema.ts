import { z } from 'zod';

/**
 * The policy file format (ARCHITECTURE.md → Policy files). This schema is the source of
 * `policies/schema.json`, which editors use to validate and autocomplete policy YAML.
 */

const scalar = z.union([z.string(), z.number(), z.boolean()]);
/** YAML 1.2 reads `2026-12-01` as a string; a date test compares ISO dates. */
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD');

export const attributeTestSchema = z
  .union([
    scalar.describe('equals (case-sensitive); on a list attribute such as groups: contains'),
    z.object({ in: z.array(scalar).min(1).describe('equals any of these; on a list attribute: shares any') }).strict(),
    z.object({ matches: z.string().min(1).describe('glob: * any text, ? one character') }).strict(),
    z.object({ regex: z.string().min(1).describe('JavaScript regular expression') }).strict(),
    z.object({ exists: z.boolean().describe('the attribute is present and not empty') }).strict(),
    z.object({ before: date.describe('a date attribute earlier than this day') }).strict(),
    z.object({ after: date.describe('a date attribute later than this day') }).strict(),
  ])
  .describe('a test on one person attribute');

export type AttributeTest = z.infer<typeof attributeTestSchema>;

export interface Condition {
  all?: Condition[];
  any?: Condition[];
  not?: Condition;
  [attribute: string]: AttributeTest | Condition | Condition[] | undefined;
}

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z
    .object({
      all: z.array(conditionSchema).min(1).optional().describe('every one of these holds'),
      any: z.array(conditionSchema).min(1).optional().describe('at least one of these holds'),
      not: conditionSchema.optional().describe('this does not hold'),
    })
    .catchall(attributeTestSchema)
    .describe(
      'a map is "all of these": attribute tests (department, team, job_title, employment_type, location, ' +
        'manager_email, cost_center, start_date, end_date, groups, attributes.<key>, …) and all/any/not',
    ),
);

export const durationSchema = z
  .string()
  .regex(/^[1-9]\d*(m|h|d|w)$/, 'must be a duration such as 30m, 8h, 30d or 2w')
  .describe('a duration: minutes (m), hours (h), days (d) or weeks (w)');

export const driftModeSchema = z
  .enum(['alert', 'revoke', 'ignore'])
  .describe('what a drift scan does with access nothing justifies: post an alert (default), revoke it, or ignore it');

export const grantSchema = z.union([
  z.string().describe('an entitlement URI, e.g. github:repo:acme/platform-api#maintain'),
  z
    .object({
      entitlement: z.string().describe('an entitlement URI'),
      critical: z.boolean().optional().describe('if this grant fails for good, undo what the run granted'),
      drift: driftModeSchema.optional(),
    })
    .strict(),
]);

export const approverSchema = z.union([
  z.string().describe('"manager", "owner" (the policy owner), a Slack user group "@name", or a Slack user id "U…"'),
  z.object({ any: z.array(z.string()).min(1).describe('any one of these approves the step') }).strict(),
  z.object({ all: z.array(z.string()).min(1).describe('every one of these must approve') }).strict(),
]);

export const requestableSchema = z
  .object({
    entitlement: z.string().describe('an entitlement URI'),
    description: z.string().optional(),
    max_duration: durationSchema.optional().describe('longest grant; absent: permanent access may be requested'),
    justification: z.enum(['required', 'optional']).default('optional'),
    approvers: z.array(approverSchema).min(1).describe('approval steps, in order'),
    auto_approve: z
      .object({
        when: conditionSchema.describe('skip the human steps when the requester matches this'),
        max_duration: durationSchema,
      })
      .strict()
      .optional(),
  })
  .strict();

export const conflictSchema = z
  .object({
    name: z.string().min(1),
    entitlements: z.array(z.string()).min(2).describe('holding all of these together is a separation-of-duties violation'),
    reason: z.string().min(1),
  })
  .strict();

export const policySchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes (at most 63)')
      .describe('unique policy name'),
    description: z.string().min(1),
    owner: z.string().min(1).describe('Slack user or user group responsible for it, e.g. "@platform-leads"'),
    when: conditionSchema,
    grants: z.array(grantSchema).default([]).describe('birthright: applied automatically'),
    requestable: z.array(requestableSchema).default([]).describe('may be requested, with approval'),
    expires: z
      .string()
      .optional()
      .describe('every grant of this policy ends at the end of the day in this date attribute (e.g. end_date)'),
    mover_overlap: durationSchema.optional().describe('after a transfer, keep old access this long before revoking it'),
    drift: driftModeSchema.optional(),
    conflicts: z.array(conflictSchema).optional(),
  })
  .strict();

export const conflictsFileSchema = z.object({ conflicts: z.array(conflictSchema).min(1) }).strict();

export const policyFileSchema = z.union([policySchema, conflictsFileSchema]);

export type PolicyDocument = z.output<typeof policySchema>;
export type ConflictRule = z.output<typeof conflictSchema>;
export type RequestableDocument = z.output<typeof requestableSchema>;

/** The JSON Schema that `policies/schema.json` holds. */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(policyFileSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }),
    title: 'Gatehouse policy',
    description: 'One access policy (or a file of separation-of-duties conflicts). See ARCHITECTURE.md → Policy files.',
  };
}

export const DURATION_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export function durationMs(duration: string): number {
  const unit = duration.at(-1) as keyof typeof DURATION_MS;
  return Number.parseInt(duration.slice(0, -1), 10) * DURATION_MS[unit];
}
