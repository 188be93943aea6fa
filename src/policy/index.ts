/** The policy engine's public face: load a folder once, then evaluate people against it. */
export { addDays, canonicalTimeZone, dateIn, daysBetween, endOfDayIn, startOfDayIn } from './calendar-day.js';
export type { Explanation, PolicyPerson } from './condition.js';
export { parseEntitlement } from './entitlement.js';
export {
  buildPolicySet,
  diffPlans,
  evaluate,
  type EvaluateOptions,
  findConflicts,
  isActive,
  matchingPolicies,
  type PersonPlan,
  type PlanDelta,
  type PlannedGrant,
  type PolicySet,
  type RequestableEntry,
  type Violation,
  type WhyAnswer,
  why,
} from './evaluate.js';
export { formatPolicyError, type LoadedPolicies, loadPolicies, type PolicyError } from './loader.js';
export { policyJsonSchema } from './schema.js';
export { locationKey, type TimeZoneSettings, timeZoneOf, UTC_ONLY } from './time-zone.js';
export type { ApprovalStep, CompiledPolicy, CompiledRequestable, DriftMode } from './types.js';
