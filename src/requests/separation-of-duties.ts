import type { Db } from '../db/database.js';
import type { RequestState } from '../db/schema.js';
import { covers } from '../policy/entitlement.js';
import { findConflicts, type PolicySet } from '../policy/index.js';

/** Something a person holds or is about to hold, and what holds it (for the refusal's words). */
export interface Holding {
  entitlement: string;
  /** `policy sales-engineer`, `request #12 (pending)`, `drift exception #3`, `access already in place`. */
  heldBy: string;
}

/** A separation-of-duties rule that one more entitlement would complete. */
export interface SodConflict {
  name: string;
  reason: string;
  entitlements: string[];
  /** What already holds the rule's other sides. */
  others: Holding[];
}

const PENDING: RequestState[] = ['pending'];
const LIVE: RequestState[] = ['approved', 'provisioning', 'active'];

/**
 * Everything the person holds or will hold: birthright grants (given, since the policies are
 * evaluated by the caller with the person's current record), live and approved requests, kept
 * drift exceptions, access already recorded in place, and, when `pending` is set, requests still
 * waiting for approval (filing counts them: two pending requests could otherwise both be approved).
 */
export async function holdingsOf(
  db: Db,
  input: { personId: string; birthright: { entitlement: string; policy: string }[]; pending: boolean; excludeRequestId?: number; now: Date },
): Promise<Holding[]> {
  const out: Holding[] = input.birthright.map((g) => ({ entitlement: g.entitlement, heldBy: `policy ${g.policy}` }));
  const states = input.pending ? [...PENDING, ...LIVE] : LIVE;
  const requests = await db.selectFrom('access_requests').select(['id', 'entitlement', 'state']).where('person_id', '=', input.personId).where('state', 'in', states).where('id', '!=', input.excludeRequestId ?? -1).orderBy('id').execute();
  for (const r of requests) out.push({ entitlement: r.entitlement, heldBy: `request #${r.id} (${r.state})` });
  const exceptions = await db
    .selectFrom('drift_exceptions')
    .select(['id', 'entitlement'])
    .where('person_id', '=', input.personId)
    .where('ended_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', input.now)]))
    .orderBy('id')
    .execute();
  for (const e of exceptions) out.push({ entitlement: e.entitlement, heldBy: `drift exception #${e.id} (kept by IT)` });
  // What is in place whatever its source (a grant made before a rule existed, a request that has
  // since ended but whose revoke is still under way).
  const grants = await db.selectFrom('grants').select(['entitlement', 'status']).where('person_id', '=', input.personId).where('status', 'in', ['pending', 'applied', 'verified', 'revoking']).execute();
  for (const g of grants) if (!out.some((h) => h.entitlement === g.entitlement)) out.push({ entitlement: g.entitlement, heldBy: 'access already in place' });
  return out;
}

/** The rules `entitlement` would complete on top of `holdings` (a rule broken already without it is not its doing). */
export function conflictsCompletedBy(policies: Pick<PolicySet, 'conflicts'>, holdings: readonly Holding[], entitlement: string): SodConflict[] {
  // What the person has apart from this entitlement (an extension's own grant is not the other side).
  const rest = holdings.filter((h) => !(h.entitlement === entitlement || covers(entitlement, h.entitlement)));
  const held = rest.map((h) => h.entitlement);
  const before = new Set(findConflicts(policies, held).map((c) => c.name));
  const out: SodConflict[] = [];
  for (const c of findConflicts(policies, [...held, entitlement])) {
    if (before.has(c.name)) continue;
    const sides = c.entitlements.filter((side) => !(side === entitlement || covers(entitlement, side)));
    const others = rest.filter((h) => sides.some((side) => h.entitlement === side || covers(h.entitlement, side)));
    out.push({ name: c.name, reason: c.reason, entitlements: c.entitlements, others });
  }
  return out;
}

/** A conflict in plain words: "`X` would break separation of duties (rule: reason) with `Y` (request #12, pending)". */
export function describeConflict(entitlement: string, c: SodConflict, whose: 'you' | 'they'): string {
  const others = c.others.map((h) => `\`${h.entitlement}\` (${h.heldBy})`).join(', ');
  return `\`${entitlement}\` would break separation of duties with ${others || c.entitlements.filter((e) => e !== entitlement).map((e) => `\`${e}\``).join(', ')}, which ${whose} hold or have asked for (rule ${c.name}: ${c.reason})`;
}
