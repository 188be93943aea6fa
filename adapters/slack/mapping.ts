import { type AccountRef, AdapterError, type AdapterPerson, type EntitlementType, type ParsedEntitlement, splitEntitlement } from '../types.js';

const SYSTEM = 'slack';

export const SLACK_ENTITLEMENT_TYPES: EntitlementType[] = [
  { type: 'channel', description: 'membership of a public or private Slack channel, by name without "#" (slack:channel:<name>)', levels: null },
  { type: 'usergroup', description: 'membership of a Slack user group, by handle without "@" (slack:usergroup:<handle>)', levels: null },
];

/**
 * Slack channel names are lower-case letters, digits, hyphens and underscores, at most 80
 * characters; workspaces may use letters of other scripts (日本語) too, which have no case.
 * https://slack.com/help/articles/201402297-Create-a-channel
 */
const CHANNEL_NAME = /^[\p{Ll}\p{Lo}\p{Nd}_-]{1,80}$/u;
/** User group handles follow mention rules: as channel names, and periods. */
const HANDLE = /^[\p{Ll}\p{Lo}\p{Nd}._-]{1,80}$/u;

const fail = (entitlement: string, why: string) => new AdapterError(`"${entitlement}" is not a valid Slack entitlement: ${why}`, { kind: 'permanent', system: SYSTEM });

/** `slack:account`, `slack:channel:<name>` and `slack:usergroup:<handle>`; anything else is refused, saying what Slack has. */
export function parseSlack(entitlement: string): ParsedEntitlement {
  // "#sales" would otherwise read as a level: say what was meant.
  if (typeof entitlement === 'string' && entitlement.startsWith('slack:channel:#')) throw fail(entitlement, 'write the channel name without "#": slack:channel:<name>');
  const parsed = splitEntitlement(entitlement, SYSTEM);
  if (parsed.type === 'account') {
    if (parsed.resource !== null || parsed.level !== null) throw fail(entitlement, 'slack:account takes no channel, group or level');
    return parsed;
  }
  if (parsed.type !== 'channel' && parsed.type !== 'usergroup') {
    throw fail(entitlement, `Slack has no type "${parsed.type}"; it has slack:account, slack:channel:<channel name> and slack:usergroup:<handle>`);
  }
  if (parsed.resource === null) throw fail(entitlement, parsed.type === 'channel' ? 'name the channel: slack:channel:<name>' : 'name the user group: slack:usergroup:<handle>');
  if (parsed.level !== null) throw fail(entitlement, `Slack ${parsed.type === 'channel' ? 'channels' : 'user groups'} have no levels; drop "#${parsed.level}"`);
  if (parsed.type === 'usergroup' && parsed.resource.startsWith('@')) throw fail(entitlement, 'write the handle without "@": slack:usergroup:<handle>');
  if (parsed.type === 'channel' && !CHANNEL_NAME.test(parsed.resource)) {
    throw fail(entitlement, `"${parsed.resource}" is not a Slack channel name (lower-case letters, digits, "-" and "_", at most 80)`);
  }
  if (parsed.type === 'usergroup' && !HANDLE.test(parsed.resource)) {
    throw fail(entitlement, `"${parsed.resource}" is not a Slack user group handle (lower-case letters, digits, ".", "-" and "_")`);
  }
  return parsed;
}

export type SlackTarget = { kind: 'channel'; name: string } | { kind: 'usergroup'; handle: string };

/** A channel or user group entitlement; `slack:account` is ensureAccount's, not a grant. */
export function targetOf(entitlement: string): SlackTarget {
  const parsed = parseSlack(entitlement);
  if (parsed.type === 'account') {
    throw new AdapterError(`"${entitlement}" is the Slack account itself: it is made by ensureAccount and ended by suspendAccount, not granted`, { kind: 'permanent', system: SYSTEM });
  }
  return parsed.type === 'channel' ? { kind: 'channel', name: parsed.resource! } : { kind: 'usergroup', handle: parsed.resource! };
}

/** A Slack member as the Web API returns it (users.lookupByEmail, users.info, users.list). */
export interface SlackUserShape {
  id: string;
  name?: string;
  deleted?: boolean;
  is_bot?: boolean;
  profile?: { email?: string; real_name?: string };
}

/** A Slack user as the SCIM API returns it (https://api.slack.com/scim, Users). */
export interface ScimUserShape {
  id: string;
  userName?: string;
  active?: boolean;
  emails?: { value: string; primary?: boolean }[];
}

/**
 * The account Slack knows. `login` is the member id (U…/W…), which is what Slack shows in
 * mentions and what channel and user group listings return, so members read back from a channel
 * compare with the account that was granted.
 */
export function toAccount(user: SlackUserShape): AccountRef {
  return { system: SYSTEM, id: user.id, login: user.id, email: user.profile?.email ?? null, employeeId: null, status: user.deleted ? 'suspended' : 'active' };
}

export function scimToAccount(user: ScimUserShape): AccountRef {
  const email = user.emails?.find((e) => e.primary)?.value ?? user.emails?.[0]?.value ?? null;
  return { system: SYSTEM, id: user.id, login: user.id, email, employeeId: null, status: user.active === false ? 'suspended' : 'active' };
}

/** Stand-in id of someone Slack does not know yet (no SCIM to create them): they must be invited. */
export const INVITE_PREFIX = 'invite:';

export function pendingAccount(person: AdapterPerson): AccountRef {
  return { system: SYSTEM, id: `${INVITE_PREFIX}${person.email}`, login: null, email: person.email, employeeId: null, status: 'pending' };
}

/**
 * A Slack username for SCIM `userName`: Slack allows lower-case letters, digits, periods, hyphens
 * and underscores, at most 21 characters. Made from the email's local part.
 */
export function userNameFor(email: string): string {
  const local = email.split('@')[0]!.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const name = local.replace(/[^a-z0-9._-]/g, '').slice(0, 21);
  return name === '' ? `user${Math.abs(hash(email)) % 100000}` : name;
}

function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.codePointAt(0)!) | 0;
  return h;
}

/** The SCIM 1.1 body of a new Slack user (api.slack.com/scim → POST /Users: userName and one email are required). */
export function scimUserBody(person: AdapterPerson): Record<string, unknown> {
  const name: Record<string, string> = {};
  if (person.firstName?.trim()) name.givenName = person.firstName.trim();
  if (person.lastName?.trim()) name.familyName = person.lastName.trim();
  const display = person.displayName?.trim() || [person.firstName?.trim(), person.lastName?.trim()].filter(Boolean).join(' ');
  const body: Record<string, unknown> = {
    schemas: ['urn:scim:schemas:core:1.0'],
    userName: userNameFor(person.email),
    emails: [{ value: person.email, primary: true }],
    active: true,
  };
  if (Object.keys(name).length > 0) body.name = name;
  if (display) body.displayName = display;
  if (person.title) body.title = person.title;
  return body;
}
