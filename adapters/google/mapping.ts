import { type AccountRef, AdapterError, type AdapterPerson } from '../types.js';
import type { GoogleUserShape } from './client.js';

const SYSTEM = 'google';

export type GoogleEntitlement = { kind: 'group'; email: string } | { kind: 'org-unit'; path: string };

/** `google:group:<email>` and `google:org-unit:/<path>`; anything else is refused. */
export function parse(entitlement: string): GoogleEntitlement {
  const group = /^google:group:([^\s@#]+@[^\s@#]+\.[^\s@#]+)$/.exec(entitlement);
  if (group) return { kind: 'group', email: group[1]!.toLowerCase() };
  const ou = /^google:org-unit:(\/[^#]*)$/.exec(entitlement);
  if (ou) return { kind: 'org-unit', path: ou[1]! };
  throw new AdapterError(`"${entitlement}" is not a Google entitlement; expected google:group:<group email> or google:org-unit:/<path>`, { kind: 'permanent', system: SYSTEM });
}

export function toAccount(user: GoogleUserShape): AccountRef {
  const employeeId = user.externalIds?.find((x) => x.type === 'organization')?.value ?? null;
  return { system: SYSTEM, id: user.id, login: user.primaryEmail, email: user.primaryEmail, employeeId, status: user.suspended ? 'suspended' : 'active' };
}

/**
 * A new Workspace user. Google requires given and family names (a single name fills both) and a
 * password: a random one the person never sees, since they sign in through SSO or reset it.
 */
export function newUser(person: AdapterPerson, password: string): Record<string, unknown> {
  const given = person.firstName?.trim() || person.displayName?.trim() || person.email.split('@')[0]!;
  return {
    primaryEmail: person.email,
    name: { givenName: given, familyName: person.lastName?.trim() || given },
    password,
    changePasswordAtNextLogin: true,
    externalIds: [{ type: 'organization', value: person.employeeId }],
    ...(person.title || person.department ? { organizations: [{ primary: true, title: person.title ?? undefined, department: person.department ?? undefined }] } : {}),
  };
}

/** Directory API search values are quoted with single quotes. */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
