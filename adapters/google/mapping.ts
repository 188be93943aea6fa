import { type AccountRef, AdapterError, type AdapterPerson, type EntitlementType, type ParsedEntitlement, splitEntitlement } from '../types.js';
import type { GoogleUserShape } from './client.js';

const SYSTEM = 'google';

export const GOOGLE_ENTITLEMENT_TYPES: EntitlementType[] = [
  { type: 'group', description: 'membership of a Google group (google:group:<email>)', levels: null },
  { type: 'org-unit', description: 'the organizational unit the user is in (google:org-unit:/<path>); one at a time', levels: null },
];

export type GoogleEntitlement = { kind: 'group'; email: string } | { kind: 'org-unit'; path: string };

/** `google:account`, `google:group:<email>` and `google:org-unit:/<path>`; anything else is refused. */
export function parseGoogle(entitlement: string): ParsedEntitlement {
  const parsed = splitEntitlement(entitlement, SYSTEM);
  const fail = (why: string) => new AdapterError(`"${entitlement}" is not a valid Google entitlement: ${why}`, { kind: 'permanent', system: SYSTEM });
  if (parsed.level !== null) throw fail(`Google ${parsed.type === 'group' ? 'groups' : parsed.type} have no levels; drop "#${parsed.level}"`);
  if (parsed.type === 'account') {
    if (parsed.resource !== null) throw fail('google:account takes no resource');
    return parsed;
  }
  if (parsed.type === 'group') {
    if (parsed.resource === null || !/^[^\s@#]+@[^\s@#]+\.[^\s@#]+$/.test(parsed.resource)) throw fail('name the group by its email: google:group:<name>@<domain>');
    return parsed;
  }
  if (parsed.type === 'org-unit') {
    if (parsed.resource === null || !parsed.resource.startsWith('/') || /\/\/|.\/$/.test(parsed.resource)) throw fail('name the org unit by its full path: google:org-unit:/Sales/Enterprise');
    return parsed;
  }
  throw fail(`Google has no type "${parsed.type}"; it has google:account, google:group:<email> and google:org-unit:/<path>`);
}

/** A grantable entitlement as the Directory API addresses it. */
export function parse(entitlement: string): GoogleEntitlement {
  const parsed = parseGoogle(entitlement);
  if (parsed.type === 'group') return { kind: 'group', email: parsed.resource!.toLowerCase() };
  if (parsed.type === 'org-unit') return { kind: 'org-unit', path: parsed.resource! };
  throw new AdapterError(`"${entitlement}" is the Workspace user itself: it is made by ensureAccount and ended by suspendAccount, not granted`, { kind: 'permanent', system: SYSTEM });
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
