import { covers } from './entitlement.js';
import { findConflicts, type PolicySet } from './evaluate.js';

export interface WithheldGrant {
  entitlement: string;
  source: string;
  rule: string;
  reason: string;
  /** The rule's sides the person already holds. */
  held: string[];
}

/**
 * The last line of separation of duties, for reconcile: of the desired grants, those that would
 * complete a conflict rule are withheld. A side the person already holds stays (taking it away is
 * a human's call); of the sides not yet held, grants from requests and exceptions are withheld
 * first, and birthright ones too only if the rule would still be complete without them. A rule
 * already complete in what is held is not this plan's doing and is left as it is.
 */
export function withholdConflicts<T extends { entitlement: string; source: string }>(set: Pick<PolicySet, 'conflicts'>, desired: readonly T[], held: readonly string[]): { keep: T[]; withheld: WithheldGrant[] } {
  let keep = [...desired];
  const withheld: WithheldGrant[] = [];
  if (set.conflicts.length === 0) return { keep, withheld };
  const isHeld = (side: string) => held.some((h) => h === side || covers(h, side));
  const gives = (d: T, side: string) => d.entitlement === side || covers(d.entitlement, side);
  for (const rule of set.conflicts) {
    const one = { conflicts: [rule] };
    if (findConflicts(one, keep.map((d) => d.entitlement)).length === 0) continue;
    const unheld = rule.entitlements.filter((side) => !isHeld(side));
    if (unheld.length === 0) continue;
    const heldSides = rule.entitlements.filter(isHeld);
    const withhold = (pick: (d: T) => boolean) => {
      const out = keep.filter((d) => unheld.some((side) => gives(d, side)) && pick(d));
      keep = keep.filter((d) => !out.includes(d));
      for (const d of out) withheld.push({ entitlement: d.entitlement, source: d.source, rule: rule.name, reason: rule.reason, held: heldSides });
    };
    withhold((d) => !d.source.startsWith('policy:'));
    if (findConflicts(one, keep.map((d) => d.entitlement)).length > 0) withhold(() => true);
  }
  return { keep, withheld };
}

export interface ImpactConflict {
  rule: string;
  reason: string;
  entitlements: string[];
  /** The held request the changed birthright would meet, or null for a rule among birthright grants alone. */
  request: { id: number; entitlement: string; state: string } | null;
}

/**
 * For `policy impact`: the separation-of-duties rules that the changed policies make a person
 * break, and the base policies did not: among their birthright grants, or between a birthright
 * grant and a request they hold or wait for.
 */
export function conflictsIntroduced(
  base: Pick<PolicySet, 'conflicts'>,
  next: Pick<PolicySet, 'conflicts'>,
  birthright: { before: readonly string[]; after: readonly string[] },
  requests: readonly { id: number; entitlement: string; state: string }[],
): ImpactConflict[] {
  const names = (set: Pick<PolicySet, 'conflicts'>, entitlements: readonly string[]) => new Set(findConflicts(set, entitlements).map((c) => c.name));
  const out: ImpactConflict[] = [];
  const before = names(base, birthright.before);
  for (const c of findConflicts(next, birthright.after)) if (!before.has(c.name)) out.push({ rule: c.name, reason: c.reason, entitlements: c.entitlements, request: null });
  const alone = new Set(findConflicts(next, birthright.after).map((c) => c.name));
  for (const r of requests) {
    const was = names(base, [...birthright.before, r.entitlement]);
    for (const c of findConflicts(next, [...birthright.after, r.entitlement])) {
      if (alone.has(c.name) || was.has(c.name)) continue;
      out.push({ rule: c.name, reason: c.reason, entitlements: c.entitlements, request: { id: r.id, entitlement: r.entitlement, state: r.state } });
    }
  }
  return out;
}
