import { type AccountRef, type AccountStatus, AdapterError, type AdapterPerson, type EntitlementType, type ParsedEntitlement, splitEntitlement } from '../types.js';

const SYSTEM = 'okta';

export const OKTA_ENTITLEMENT_TYPES: EntitlementType[] = [{ type: 'group', description: 'membership of an Okta group (okta:group:<name>)', levels: null }];

/** `okta:account` and `okta:group:<name>`; anything else is refused, saying what Okta has. */
export function parseOkta(entitlement: string): ParsedEntitlement {
  const parsed = splitEntitlement(entitlement, SYSTEM);
  const fail = (why: string) => new AdapterError(`"${entitlement}" is not a valid Okta entitlement: ${why}`, { kind: 'permanent', system: SYSTEM });
  if (parsed.type === 'account') {
    if (parsed.resource !== null || parsed.level !== null) throw fail('okta:account takes no group or level');
    return parsed;
  }
  if (parsed.type !== 'group') throw fail(`Okta has no type "${parsed.type}"; it has okta:account and okta:group:<group name>`);
  if (parsed.resource === null) throw fail('name the group: okta:group:<group name>');
  if (parsed.level !== null) throw fail(`Okta groups have no levels; drop "#${parsed.level}"`);
  return parsed;
}

/** `okta:group:<name>` → the group name; `okta:account` is ensureAccount's, not a grant. */
export function groupNameOf(entitlement: string): string {
  const parsed = parseOkta(entitlement);
  if (parsed.type === 'account') {
    throw new AdapterError(`"${entitlement}" is the Okta user itself: it is made by ensureAccount and ended by suspendAccount, not granted`, { kind: 'permanent', system: SYSTEM });
  }
  return parsed.resource!;
}

export interface OktaUserShape {
  id: string;
  status: string;
  profile: { login?: string; email?: string; employeeNumber?: string | null; firstName?: string | null; lastName?: string | null };
}

/**
 * Okta user status → ours. STAGED/PROVISIONED users exist but cannot sign in yet; SUSPENDED and
 * DEPROVISIONED cannot sign in any more.
 * https://developer.okta.com/docs/reference/api/users/#user-status
 */
export function statusOf(oktaStatus: string): AccountStatus {
  if (oktaStatus === 'SUSPENDED' || oktaStatus === 'DEPROVISIONED') return 'suspended';
  if (oktaStatus === 'STAGED' || oktaStatus === 'PROVISIONED') return 'pending';
  return 'active';
}

export function toAccount(user: OktaUserShape): AccountRef {
  return {
    system: SYSTEM,
    id: user.id,
    login: user.profile.login ?? null,
    email: user.profile.email ?? null,
    employeeId: user.profile.employeeNumber ?? null,
    status: statusOf(user.status),
  };
}

/**
 * The profile of a new Okta user. Okta's default schema requires firstName and lastName; a person
 * with a single name (Madonna) gets it in both, rather than a placeholder that would show in
 * every app Okta provisions.
 */
export function profileOf(person: AdapterPerson): Record<string, string> {
  const first = person.firstName?.trim() || person.displayName?.trim() || person.email.split('@')[0]!;
  const last = person.lastName?.trim() || first;
  const profile: Record<string, string> = { firstName: first, lastName: last, email: person.email, login: person.email, employeeNumber: person.employeeId };
  if (person.displayName) profile.displayName = person.displayName;
  if (person.title) profile.title = person.title;
  if (person.department) profile.department = person.department;
  return profile;
}

/** Okta search expressions quote with double quotes; escape them and backslashes. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
