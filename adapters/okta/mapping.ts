import { type AccountRef, type AccountStatus, AdapterError, type AdapterPerson } from '../types.js';

const SYSTEM = 'okta';

/** `okta:group:<name>` → the group name; anything else of Okta's is refused with what is allowed. */
export function groupNameOf(entitlement: string): string {
  const match = /^okta:group:([^\s#][^#]*)$/.exec(entitlement);
  if (!match || match[1]!.trim() !== match[1]) {
    throw new AdapterError(`"${entitlement}" is not an Okta group entitlement; expected okta:group:<group name>`, { kind: 'permanent', system: SYSTEM });
  }
  return match[1]!;
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
