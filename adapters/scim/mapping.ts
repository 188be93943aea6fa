/**
 * Entitlement URIs of a SCIM app and the SCIM 2.0 shapes they map to (RFC 7643 User and Group,
 * RFC 7644 filters). Nothing here talks to the network.
 */
import { type AccountRef, type AccountStatus, AdapterError, type AdapterPerson, type EntitlementType, type ParsedEntitlement, splitEntitlement } from '../types.js';

/** App names as SCIM_APPS and the registry spell them: `figma`, `notion`, `zoom-us`. */
export const APP_NAME = /^[a-z][a-z0-9-]*$/;

export const SCIM_ENTITLEMENT_TYPES: EntitlementType[] = [
  { type: 'account', description: 'an active user in the app (scim:<app>:account), made by ensureAccount', levels: null },
  { type: 'group', description: 'membership of the app\'s SCIM group with that displayName (scim:<app>:group:<displayName>)', levels: null },
];

/** RFC 7643 §8.7.1 core schema and RFC 7644 §3.5.2 / §3.4.2 / §3.12 message schemas. */
export const SCHEMA = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
} as const;

/** `scim:<app>:account` and `scim:<app>:group:<displayName>`; anything else is refused, saying what the app has. */
export function parseScim(entitlement: string, system: string): ParsedEntitlement {
  const parsed = splitEntitlement(entitlement, system);
  const fail = (why: string) => new AdapterError(`"${entitlement}" is not a valid ${system} entitlement: ${why}`, { kind: 'permanent', system });
  if (parsed.type === 'account') {
    if (parsed.resource !== null || parsed.level !== null) throw fail(`${system}:account takes no group or level`);
    return parsed;
  }
  if (parsed.type !== 'group') throw fail(`a SCIM app has no type "${parsed.type}"; it has ${system}:account and ${system}:group:<group displayName>`);
  if (parsed.resource === null) throw fail(`name the group: ${system}:group:<group displayName>`);
  if (parsed.level !== null) throw fail(`SCIM groups have no levels; drop "#${parsed.level}"`);
  return parsed;
}

/** `scim:<app>:group:<displayName>` → the displayName; the account entitlement is ensureAccount's, not a grant. */
export function groupNameOf(entitlement: string, system: string): string {
  const parsed = parseScim(entitlement, system);
  if (parsed.type === 'account') {
    throw new AdapterError(`"${entitlement}" is the ${system} user itself: it is made by ensureAccount and ended by suspendAccount, not granted`, { kind: 'permanent', system });
  }
  return parsed.resource!;
}

/**
 * The group's entitlement, or null when its displayName cannot be written as one (empty, spaces
 * around it, or a `#`, which starts a level): such a group cannot appear in a policy either.
 */
export function groupEntitlement(system: string, displayName: string): string | null {
  if (displayName === '' || displayName.trim() !== displayName || displayName.includes('#')) return null;
  return `${system}:group:${displayName}`;
}

/**
 * A string as an RFC 7644 §3.4.2.2 filter value. The ABNF's `compValue` takes its `string` rule
 * from JSON (RFC 7159 §7): double-quoted, with `"` and `\` escaped by a backslash and control
 * characters as `\uXXXX`; JSON.stringify writes exactly that.
 */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/** `<attribute> eq "<value>"`, the one filter form the adapter sends (RFC 7644 §3.4.2.2). */
export function eqFilter(attribute: string, value: string): string {
  return `${attribute} eq ${quote(value)}`;
}

/** RFC 7643 §4.1 User, as much of it as the adapter reads. */
export interface ScimUserShape {
  id: string;
  userName?: string;
  externalId?: string | null;
  active?: boolean;
  emails?: { value?: string; primary?: boolean; type?: string }[];
  /** RFC 7643 §4.1.2: read-only; `type` is `direct` or `indirect`. Many apps leave it out. */
  groups?: { value?: string; display?: string; type?: string; $ref?: string }[];
}

/** RFC 7643 §4.2 Group. */
export interface ScimGroupShape {
  id: string;
  displayName?: string;
  members?: { value?: string; display?: string; type?: string; $ref?: string }[];
}

/** RFC 7643 §4.1.1: `active` is optional; an app that leaves it out has no suspension, so present means usable. */
export function statusOf(user: ScimUserShape): AccountStatus {
  return user.active === false ? 'suspended' : 'active';
}

export function toAccount(system: string, user: ScimUserShape): AccountRef {
  const email = user.emails?.find((e) => e.primary)?.value ?? user.emails?.[0]?.value ?? null;
  return {
    system,
    id: user.id,
    login: user.userName ?? null,
    email,
    employeeId: user.externalId ?? null,
    status: statusOf(user),
  };
}

/**
 * The body of POST /Users (RFC 7644 §3.3, RFC 7643 §4.1). userName is the work email, which is
 * what SSO logs people in as in these apps; externalId is the HRIS employee id (RFC 7643 §3.1:
 * the provisioning client's identifier). A single-word name goes in givenName alone: familyName
 * is optional in SCIM, and a placeholder would show in the app.
 */
export function newUserBody(person: AdapterPerson): Record<string, unknown> {
  const given = person.firstName?.trim() || null;
  const family = person.lastName?.trim() || null;
  const formatted = person.displayName?.trim() || [given, family].filter(Boolean).join(' ') || person.email.split('@')[0]!;
  const name: Record<string, string> = { formatted };
  if (given) name.givenName = given;
  if (family) name.familyName = family;
  const body: Record<string, unknown> = {
    schemas: [SCHEMA.user],
    userName: person.email,
    externalId: person.employeeId,
    name,
    displayName: formatted,
    emails: [{ value: person.email, primary: true, type: 'work' }],
    active: true,
  };
  if (person.title) body.title = person.title;
  return body;
}

/** RFC 7644 §3.5.2.3: replace `active`, in the path form the RFC's own examples use. */
export function setActiveBody(active: boolean): Record<string, unknown> {
  return { schemas: [SCHEMA.patchOp], Operations: [{ op: 'replace', path: 'active', value: active }] };
}

/** RFC 7644 §3.5.2.1: add one member (RFC 7643 §4.2 `members.value` is the user's id). */
export function addMemberBody(userId: string): Record<string, unknown> {
  return { schemas: [SCHEMA.patchOp], Operations: [{ op: 'add', path: 'members', value: [{ value: userId }] }] };
}

/** RFC 7644 §3.5.2.2: remove the member selected by a value filter (the RFC's own example form). */
export function removeMemberBody(userId: string): Record<string, unknown> {
  return { schemas: [SCHEMA.patchOp], Operations: [{ op: 'remove', path: `members[${eqFilter('value', userId)}]` }] };
}
