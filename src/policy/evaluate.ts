import { endOfDayIn } from './calendar-day.js';
import { compareText } from './compare.js';
import { type Explanation, type PolicyPerson, readAttribute } from './condition.js';
import { rankOfUri } from './entitlement.js';
import type { LoadedPolicies } from './loader.js';
import { type TimeZoneSettings, timeZoneOf } from './time-zone.js';
import type { ApprovalStep, CompiledConflict, CompiledPolicy, DriftMode } from './types.js';

export interface PlannedGrant {
  entitlement: string;
  /** The first (by name) of the policies that grant it. */
  policy: string;
  policies: string[];
  expires_at: string | null;
  critical: boolean;
  drift: DriftMode;
}

export interface RequestableEntry {
  entitlement: string;
  policy: string;
  description: string | null;
  max_duration: string | null;
  justification: 'required' | 'optional';
  approvers: ApprovalStep[];
  /** Whether this person would be auto-approved, and for how long at most. */
  auto_approve: { eligible: boolean; max_duration: string } | null;
}

export interface Violation {
  kind: 'sod' | 'expiry';
  name: string;
  entitlements: string[];
  reason: string;
}

export interface PersonPlan {
  email: string;
  employee_id: string;
  active: boolean;
  grants: PlannedGrant[];
  requestable: RequestableEntry[];
  violations: Violation[];
}

export interface PolicySet {
  policies: CompiledPolicy[];
  conflicts: CompiledConflict[];
  /** attribute → value → policies whose condition requires that value (by position in `policies`). */
  index: Map<string, Map<string, number[]>>;
  /** Policies with no indexable equality test: checked for everyone. */
  unindexed: number[];
}

/**
 * Indexes policies by one equality test each condition requires (`department: Sales`), so a
 * person is only tested against policies that could match them. With 200 policies most people
 * reach a handful.
 */
export function buildPolicySet(loaded: Pick<LoadedPolicies, 'policies' | 'conflicts'>): PolicySet {
  const policies = [...loaded.policies].sort((a, b) => compareText(a.name, b.name));
  const index = new Map<string, Map<string, number[]>>();
  const unindexed: number[] = [];
  policies.forEach((policy, i) => {
    // The most selective required test: the one with the fewest allowed values.
    const anchor = [...policy.when.required.entries()].sort((a, b) => a[1].size - b[1].size || compareText(a[0], b[0]))[0];
    if (!anchor) {
      unindexed.push(i);
      return;
    }
    const [attribute, values] = anchor;
    let byValue = index.get(attribute);
    if (!byValue) index.set(attribute, (byValue = new Map()));
    for (const value of values) {
      const list = byValue.get(value);
      if (list) list.push(i);
      else byValue.set(value, [i]);
    }
  });
  return { policies, conflicts: [...loaded.conflicts].sort((a, b) => compareText(a.name, b.name)), index, unindexed };
}

const endCache = new Map<string, string | null>();

/**
 * The end of the given day where the person is: access that ends "on" end_date lasts through that
 * day on their calendar (a contractor in Sydney ending 31 January keeps access until midnight
 * Sydney time, 2026-01-31T13:00:00Z). Null for a value that is not a date. Memoised: many people
 * share a few end dates and zones.
 */
function endOfDay(date: string, timeZone: string): string | null {
  const key = `${date.slice(0, 10)} ${timeZone}`;
  let end = endCache.get(key);
  if (end === undefined) {
    end = /^\d{4}-\d{2}-\d{2}/.test(date) ? endOfDayIn(date.slice(0, 10), timeZone).toISOString() : null;
    if (endCache.size > 100_000) endCache.clear();
    endCache.set(key, end);
  }
  return end;
}

/**
 * Active people have desired access; terminated people and those past the end of their end_date
 * (in `timeZone`, the person's: see timeZoneOf) have none.
 */
export function isActive(person: PolicyPerson, now: Date, timeZone = 'UTC'): boolean {
  if ((person.status ?? 'active') !== 'active') return false;
  const end = typeof person.end_date === 'string' ? endOfDay(person.end_date, timeZone) : null;
  return !(end && Date.parse(end) <= now.getTime());
}

/** Policies whose condition holds for the person, in name order. */
export function matchingPolicies(set: PolicySet, person: PolicyPerson): CompiledPolicy[] {
  const candidates = new Set<number>(set.unindexed);
  for (const [attribute, byValue] of set.index) {
    const value = readAttribute(person, attribute);
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
      for (const i of byValue.get(String(v)) ?? []) candidates.add(i);
    }
  }
  return [...candidates]
    .sort((a, b) => a - b)
    .map((i) => set.policies[i]!)
    .filter((policy) => policy.when.test(person));
}

const rankCache = new Map<string, { key: string; rank: number } | null>();

/** Rank of a ranked entitlement (memoised: the set of distinct entitlements is small). */
function rankInfo(uri: string): { key: string; rank: number } | null {
  let info = rankCache.get(uri);
  if (info === undefined) {
    info = rankOfUri(uri) ?? null;
    if (rankCache.size > 100_000) rankCache.clear();
    rankCache.set(uri, info);
  }
  return info;
}

/** Does holding `held` satisfy a rule naming `wanted` (same entitlement, or a higher ranked level)? */
function satisfies(held: string, wanted: string): boolean {
  if (held === wanted) return true;
  const hr = rankInfo(held);
  const wr = rankInfo(wanted);
  return Boolean(hr && wr && hr.key === wr.key && hr.rank >= wr.rank);
}

/** Separation-of-duties rules that `entitlements` (held together) break. */
export function findConflicts(set: Pick<PolicySet, 'conflicts'>, entitlements: readonly string[]): Violation[] {
  if (set.conflicts.length === 0) return [];
  const exact = new Set(entitlements);
  const ranked = new Map<string, number>();
  for (const e of entitlements) {
    const info = rankInfo(e);
    if (info && (ranked.get(info.key) ?? -1) < info.rank) ranked.set(info.key, info.rank);
  }
  const holds = (wanted: string) => {
    if (exact.has(wanted)) return true;
    const info = rankInfo(wanted);
    return Boolean(info && (ranked.get(info.key) ?? -1) >= info.rank);
  };
  const out: Violation[] = [];
  for (const rule of set.conflicts) {
    if (rule.entitlements.every(holds)) out.push({ kind: 'sod', name: rule.name, entitlements: [...rule.entitlements].sort(), reason: rule.reason });
  }
  return out;
}

export interface EvaluateOptions {
  now?: Date;
  /**
   * Where people's dates are counted when their record names no `time_zone` (LOCATION_TIME_ZONES,
   * DEFAULT_TIME_ZONE); without it, UTC. The zone itself is chosen by timeZoneOf.
   */
  timeZones?: TimeZoneSettings;
}

/**
 * A person's plan: birthright grants (with the policies behind each and when they expire), the
 * catalog they may request, and any separation-of-duties violations. Deterministic: the same
 * person and policies give the same plan whatever the order of either.
 */
export function evaluate(set: PolicySet, person: PolicyPerson, options: EvaluateOptions = {}): PersonPlan {
  const now = options.now ?? new Date();
  const nowIso = now.toISOString();
  const timeZone = timeZoneOf(person, options.timeZones);
  const active = isActive(person, now, timeZone);
  const matched = matchingPolicies(set, person);
  const violations: Violation[] = [];
  const grants = new Map<string, PlannedGrant>();

  if (active) {
    for (const policy of matched) {
      let expiresAt: string | null = null;
      if (policy.expires) {
        const value = readAttribute(person, policy.expires);
        expiresAt = typeof value === 'string' ? endOfDay(value, timeZone) : null;
        if (!expiresAt) {
          violations.push({
            kind: 'expiry',
            name: policy.name,
            entitlements: [],
            reason: `policy ${policy.name} grants access until ${policy.expires}, but this person has no ${policy.expires}: its grants are withheld until it is set`,
          });
          continue;
        }
        if (expiresAt <= nowIso) continue;
      }
      for (const grant of policy.grants) {
        const existing = grants.get(grant.entitlement);
        if (!existing) {
          grants.set(grant.entitlement, { entitlement: grant.entitlement, policy: policy.name, policies: [policy.name], expires_at: expiresAt, critical: grant.critical, drift: grant.drift });
          continue;
        }
        existing.policies.push(policy.name);
        existing.critical ||= grant.critical;
        // A permanent grant outlasts an expiring one; two expiring ones last until the later.
        existing.expires_at = existing.expires_at === null || expiresAt === null ? null : existing.expires_at > expiresAt ? existing.expires_at : expiresAt;
      }
    }
    // One level per ranked resource: a repo at maintain from one policy and write from another
    // is maintain.
    const best = new Map<string, PlannedGrant>();
    for (const grant of grants.values()) {
      const rank = rankInfo(grant.entitlement);
      if (!rank) continue;
      const current = best.get(rank.key);
      if (!current) {
        best.set(rank.key, grant);
        continue;
      }
      const currentRank = rankInfo(current.entitlement)!.rank;
      const [keep, drop] = rank.rank > currentRank ? [grant, current] : [current, grant];
      keep.policies.push(...drop.policies);
      keep.expires_at = keep.expires_at === null || drop.expires_at === null ? null : keep.expires_at > drop.expires_at ? keep.expires_at : drop.expires_at;
      grants.delete(drop.entitlement);
      best.set(rank.key, keep);
    }
  }

  // Policies were visited in name order, so `policies` is already sorted unless a rank merge
  // appended another grant's list: only then dedupe and re-sort.
  // Default sort compares UTF-16 code units, like compareText, without a JS callback per comparison.
  const sortedGrants = [...grants.keys()].sort().map((k) => grants.get(k)!);
  for (const g of sortedGrants) {
    if (g.policies.length > 1) {
      g.policies = [...new Set(g.policies)].sort(compareText);
      g.policy = g.policies[0]!;
    }
  }
  violations.push(...findConflicts(set, sortedGrants.map((g) => g.entitlement)));

  const requestable = new Map<string, RequestableEntry>();
  if (active) {
    for (const policy of matched) {
      for (const r of policy.requestable) {
        if (grants.has(r.entitlement) || requestable.has(r.entitlement)) continue;
        requestable.set(r.entitlement, {
          entitlement: r.entitlement,
          policy: policy.name,
          description: r.description,
          max_duration: r.maxDuration,
          justification: r.justification,
          approvers: r.approvers,
          auto_approve: r.autoApprove ? { eligible: r.autoApprove.when.test(person), max_duration: r.autoApprove.maxDuration } : null,
        });
      }
    }
  }

  return {
    email: person.email,
    employee_id: person.employee_id,
    active,
    grants: sortedGrants,
    requestable: [...requestable.values()].sort((a, b) => compareText(a.entitlement, b.entitlement)),
    violations: violations.sort((a, b) => compareText(a.kind, b.kind) || compareText(a.name, b.name)),
  };
}

export interface PlanDelta {
  email: string;
  employee_id: string;
  add: PlannedGrant[];
  revoke: PlannedGrant[];
}

/**
 * What changes between two plans of the same people (keyed by employee_id): grants to add and
 * to revoke. A level change is a revoke of the old level and an add of the new one. This is
 * exactly what a transfer (a mover) must do.
 */
export function diffPlans(before: PersonPlan[], after: PersonPlan[]): PlanDelta[] {
  const old = new Map(before.map((p) => [p.employee_id, p]));
  const next = new Map(after.map((p) => [p.employee_id, p]));
  const ids = [...new Set([...old.keys(), ...next.keys()])].sort();
  const out: PlanDelta[] = [];
  for (const id of ids) {
    const a = old.get(id);
    const b = next.get(id);
    const was = new Map((a?.grants ?? []).map((g) => [g.entitlement, g]));
    const will = new Map((b?.grants ?? []).map((g) => [g.entitlement, g]));
    const add = [...will.values()].filter((g) => !was.has(g.entitlement));
    const revoke = [...was.values()].filter((g) => !will.has(g.entitlement));
    if (add.length > 0 || revoke.length > 0) out.push({ email: (b ?? a)!.email, employee_id: id, add, revoke });
  }
  return out;
}

export interface WhyAnswer {
  granted: boolean;
  /** Policies that grant it, with the conditions that matched. */
  grantedBy: { policy: string; explanation: Explanation }[];
  /** When nothing grants it: the closest policy that would, and the conditions that failed. */
  closest?: { policy: string; explanation: Explanation; failed: Explanation[] };
  /** When a policy matches but the grant is withheld (expiry, inactive person). */
  note?: string;
}

function failedLeaves(e: Explanation): Explanation[] {
  if (!e.children) return e.holds ? [] : [e];
  if (e.holds) return [];
  if (e.text === 'any of') return e.children.flatMap(failedLeaves);
  if (e.text === 'not') return [e];
  return e.children.flatMap(failedLeaves);
}

function countLeaves(e: Explanation): number {
  return e.children ? e.children.reduce((n, c) => n + countLeaves(c), 0) : 1;
}

/** Which policy grants `entitlement` to the person and why, or why none does. */
export function why(set: PolicySet, person: PolicyPerson, entitlement: string, options: EvaluateOptions = {}): WhyAnswer {
  const plan = evaluate(set, person, options);
  const holders = set.policies.filter((p) => p.grants.some((g) => g.entitlement === entitlement || satisfies(g.entitlement, entitlement)));
  const grantedBy = holders.filter((p) => p.when.test(person)).map((p) => ({ policy: p.name, explanation: p.when.explain(person) }));
  const granted = plan.grants.some((g) => satisfies(g.entitlement, entitlement));
  const answer: WhyAnswer = { granted, grantedBy };
  if (grantedBy.length > 0 && !granted) {
    answer.note = !plan.active
      ? 'the person is not active (terminated or past end_date), so they get nothing'
      : plan.violations.find((v) => v.kind === 'expiry')?.reason ?? 'the grant has expired';
  }
  if (grantedBy.length === 0 && holders.length > 0) {
    // The closest policy is the one with the fewest failed tests (then the most tests passed).
    const ranked = holders
      .map((p) => {
        const explanation = p.when.explain(person);
        const failed = failedLeaves(explanation);
        return { policy: p.name, explanation, failed, score: failed.length * 1000 - countLeaves(explanation) };
      })
      .sort((a, b) => a.score - b.score || compareText(a.policy, b.policy));
    const { policy, explanation, failed } = ranked[0]!;
    answer.closest = { policy, explanation, failed };
  }
  return answer;
}
