/**
 * Salesforce entitlement URIs ↔ Salesforce objects, SOQL literals, and the User record Gatehouse
 * creates. No SDK here: plain shapes only.
 */
import { type AccountRef, AdapterError, type AdapterPerson, type EntitlementType, type ParsedEntitlement, splitEntitlement } from '../types.js';

export const SYSTEM = 'salesforce';

export const SALESFORCE_ENTITLEMENT_TYPES: EntitlementType[] = [
  {
    type: 'profile',
    description:
      "the user's profile, by name (salesforce:profile:Sales Engineer). A user has exactly one: granting a profile replaces the one held, and revoking it puts the user back on the default profile",
    levels: null,
  },
  { type: 'permission-set', description: 'a permission set assignment, by API name (salesforce:permission-set:API_Enabled; ns__Name for a managed package)', levels: null },
  { type: 'permission-set-group', description: 'a permission set group assignment, by developer name (salesforce:permission-set-group:Sales_Ops)', levels: null },
];

/**
 * A Salesforce API name (permission set Name, permission set group DeveloperName): starts with a
 * letter, letters, digits and single underscores, no trailing underscore; at most 80 characters.
 * A managed package's one is written `<namespace>__<name>`.
 */
const API_NAME = /^[A-Za-z](?:[A-Za-z0-9]|_(?=[A-Za-z0-9]))*$/;

export type SalesforceEntitlement =
  | { kind: 'account' }
  | { kind: 'profile'; name: string }
  | { kind: 'permission-set' | 'permission-set-group'; name: string; namespace: string | null };

function fail(entitlement: string, why: string): AdapterError {
  return new AdapterError(`"${entitlement}" is not a valid Salesforce entitlement: ${why}`, { kind: 'permanent', system: SYSTEM });
}

/** `<namespace>__<name>` or `<name>`, each an API name; null when it is not one. */
function apiName(resource: string): { name: string; namespace: string | null } | null {
  const parts = resource.split('__');
  if (parts.length > 2 || resource.length > 80) return null;
  if (!parts.every((p) => API_NAME.test(p))) return null;
  return parts.length === 2 ? { namespace: parts[0]!, name: parts[1]! } : { namespace: null, name: parts[0]! };
}

/** The URI taken apart and checked, with what it names in Salesforce. */
export function interpret(entitlement: string): { parsed: ParsedEntitlement; target: SalesforceEntitlement } {
  const parsed = splitEntitlement(entitlement, SYSTEM);
  const { type, resource, level } = parsed;
  if (type === 'account') {
    if (resource !== null || level !== null) throw fail(entitlement, 'salesforce:account takes no name or level');
    return { parsed, target: { kind: 'account' } };
  }
  if (type !== 'profile' && type !== 'permission-set' && type !== 'permission-set-group') {
    throw fail(entitlement, `Salesforce has no type "${type}"; it has salesforce:account, salesforce:profile:<Profile Name>, salesforce:permission-set:<API name> and salesforce:permission-set-group:<DeveloperName>`);
  }
  if (resource === null) throw fail(entitlement, `name the ${type}: salesforce:${type}:<${type === 'profile' ? 'Profile Name' : type === 'permission-set' ? 'API name' : 'DeveloperName'}>`);
  if (level !== null) throw fail(entitlement, `Salesforce ${type}s have no levels; drop "#${level}"`);
  if (type === 'profile') {
    // Profile names are labels (spaces and apostrophes allowed), up to 255 characters.
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (/[\u0000-\u001f\u007f]/.test(resource)) throw fail(entitlement, 'a profile name has no control characters (newlines, tabs)');
    if (resource.length > 255) throw fail(entitlement, 'a profile name is at most 255 characters');
    return { parsed, target: { kind: 'profile', name: resource } };
  }
  const name = apiName(resource);
  if (!name) {
    throw fail(
      entitlement,
      `"${resource}" is not a ${type === 'permission-set' ? 'permission set API name' : 'permission set group developer name'} (a letter, then letters, digits and single underscores, e.g. ${type === 'permission-set' ? 'API_Enabled' : 'Sales_Ops'}; <namespace>__<name> for a managed package)`,
    );
  }
  return { parsed, target: { kind: type, ...name } };
}

export function parseSalesforce(entitlement: string): ParsedEntitlement {
  return interpret(entitlement).parsed;
}

/** What a grant or revoke acts on: anything but salesforce:account, which is the user itself. */
export function grantTarget(entitlement: string): Exclude<SalesforceEntitlement, { kind: 'account' }> {
  const { target } = interpret(entitlement);
  if (target.kind === 'account') {
    throw new AdapterError(`"${entitlement}" is the Salesforce user itself: it is made by ensureAccount and ended by suspendAccount, not granted`, { kind: 'permanent', system: SYSTEM });
  }
  return target;
}

/** The URI of a permission set or group as Salesforce names it (NamespacePrefix + Name). */
export function assignmentUri(kind: 'permission-set' | 'permission-set-group', name: string, namespace: string | null | undefined): string {
  return `${SYSTEM}:${kind}:${namespace ? `${namespace}__${name}` : name}`;
}

export function profileUri(name: string): string {
  return `${SYSTEM}:profile:${name}`;
}

/**
 * A SOQL string literal. SOQL's quoted-string escapes are \n \r \t \b \f \" \' \\ (any other
 * backslash sequence is a MALFORMED_QUERY):
 * https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
 */
const ESCAPES: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
export function soqlString(value: string): string {
  return `'${value.replace(/[\\'"\n\r\t\b\f]/g, (c) => ESCAPES[c]!)}'`;
}

/** A record id to put in SOQL: 15 or 18 letters and digits, never anything that could end the literal. */
export function soqlId(id: string): string {
  if (!/^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/.test(id)) {
    throw new AdapterError(`"${id}" is not a Salesforce record id (15 or 18 letters and digits)`, { kind: 'permanent', system: SYSTEM });
  }
  return `'${id}'`;
}

/** The User fields the adapter reads. */
export const USER_FIELDS = 'Id, Username, Email, EmployeeNumber, FederationIdentifier, IsActive';

export interface SalesforceUserShape {
  Id: string;
  Username: string;
  Email?: string | null;
  EmployeeNumber?: string | null;
  FederationIdentifier?: string | null;
  IsActive: boolean;
}

/** A Salesforce user as Gatehouse sees it; a deactivated user (IsActive false) is suspended. */
export function toAccount(user: SalesforceUserShape): AccountRef {
  return {
    system: SYSTEM,
    id: user.Id,
    login: user.Username,
    email: user.Email ?? null,
    employeeId: user.EmployeeNumber ?? null,
    status: user.IsActive ? 'active' : 'suspended',
  };
}

export interface UserDefaults {
  /** Default `GMT`. */
  timeZoneSidKey?: string;
  /** Default `en_US`. */
  localeSidKey?: string;
  /** Default `UTF-8`. */
  emailEncodingKey?: string;
  /** Default `en_US`. */
  languageLocaleKey?: string;
}

/** Letters and digits only, accents folded (Ångström → Angstrom), for Alias and CommunityNickname. */
function plain(value: string): string {
  return value.normalize('NFKD').replace(/[^A-Za-z0-9]/g, '');
}

/** The Username of a person: their email, plus a suffix where the org wants one (sandboxes: `.dev`). */
export function usernameOf(person: AdapterPerson, usernameSuffix = ''): string {
  return person.email + usernameSuffix;
}

/**
 * The User record Gatehouse creates. LastName is the one required name: a single-word name
 * (Madonna) goes there and FirstName stays empty, which Salesforce allows. Alias is required and
 * at most 8 characters; CommunityNickname must be unique in the org (at most 40).
 */
export function newUserRecord(
  person: AdapterPerson,
  options: { profileId: string; defaults?: UserDefaults; usernameSuffix?: string; federationId: string | null },
): Record<string, string> {
  const first = person.firstName?.trim() || '';
  const last = person.lastName?.trim() || first || person.displayName?.trim() || person.email.split('@')[0]!;
  const firstForAlias = person.lastName?.trim() ? first : '';
  const local = person.email.split('@')[0]!;
  const alias = (plain(firstForAlias).slice(0, 1) + plain(last)).slice(0, 8).toLowerCase() || plain(local).slice(0, 8).toLowerCase() || 'user';
  const d = options.defaults ?? {};
  const record: Record<string, string> = {
    Username: usernameOf(person, options.usernameSuffix),
    Email: person.email,
    LastName: last,
    Alias: alias,
    CommunityNickname: `${plain(local).slice(0, 25) || 'user'}.${plain(person.employeeId).slice(0, 14)}`,
    TimeZoneSidKey: d.timeZoneSidKey ?? 'GMT',
    LocaleSidKey: d.localeSidKey ?? 'en_US',
    EmailEncodingKey: d.emailEncodingKey ?? 'UTF-8',
    LanguageLocaleKey: d.languageLocaleKey ?? 'en_US',
    ProfileId: options.profileId,
    EmployeeNumber: person.employeeId,
  };
  if (person.lastName?.trim() && first) record.FirstName = first;
  if (options.federationId) record.FederationIdentifier = options.federationId;
  if (person.title) record.Title = person.title;
  if (person.department) record.Department = person.department;
  return record;
}
