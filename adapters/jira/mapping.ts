import { AdapterError, type EntitlementType, type ParsedEntitlement, splitEntitlement } from '../types.js';

export const SYSTEM = 'jira';

export const JIRA_ENTITLEMENT_TYPES: EntitlementType[] = [
  {
    type: 'project',
    description: 'a project role in a Jira project (jira:project:<PROJECT KEY>#<role name>, e.g. jira:project:PLAT#Developers); roles are the site\'s own (Administrators, Developers, Users, Viewers, …)',
    levels: 'any',
  },
  { type: 'group', description: 'membership of a Jira Cloud group (jira:group:<group name>, e.g. jira:group:jira-software-users)', levels: null },
];

/**
 * Jira project keys: an upper-case letter, then upper-case letters, digits or underscores
 * (https://support.atlassian.com/jira-cloud-administration/docs/edit-a-projects-details/ —
 * keys are at least two characters and may not start with a digit; the default key format has
 * letters only, an admin may allow digits and underscores). Keys are case sensitive in the API.
 */
const PROJECT_KEY = /^[A-Z][A-Z0-9_]+$/;

export type JiraTarget = { kind: 'project'; projectKey: string; role: string } | { kind: 'group'; group: string };

/** `jira:account`, `jira:project:<KEY>#<Role name>`, `jira:group:<name>`; anything else is refused, saying what Jira has. */
export function parseJira(entitlement: string): ParsedEntitlement {
  const parsed = splitEntitlement(entitlement, SYSTEM);
  const fail = (why: string) => new AdapterError(`"${entitlement}" is not a valid Jira entitlement: ${why}`, { kind: 'permanent', system: SYSTEM });
  if (parsed.type === 'account') {
    if (parsed.resource !== null || parsed.level !== null) throw fail('jira:account takes no project, group or role');
    return parsed;
  }
  if (parsed.type === 'group') {
    if (parsed.resource === null) throw fail('name the group: jira:group:<group name>');
    if (parsed.level !== null) throw fail(`Jira groups have no levels; drop "#${parsed.level}"`);
    return parsed;
  }
  if (parsed.type === 'project') {
    if (parsed.resource === null) throw fail('name the project by its key and the role: jira:project:<PROJECT KEY>#<role name>');
    if (!PROJECT_KEY.test(parsed.resource)) {
      throw fail(`"${parsed.resource}" is not a Jira project key (upper-case letters, digits and underscores, starting with a letter, like PLAT); use the key, not the project name`);
    }
    if (parsed.level === null) throw fail(`name the project role: jira:project:${parsed.resource}#<role name>, e.g. #Developers`);
    if (parsed.level.trim() !== parsed.level) throw fail(`the role name "${parsed.level}" has spaces around it`);
    return parsed;
  }
  throw fail(`Jira has no type "${parsed.type}"; it has jira:account, jira:project:<PROJECT KEY>#<role name> and jira:group:<group name>`);
}

/** The project role or group an entitlement names; `jira:account` is ensureAccount's, not a grant. */
export function targetOf(entitlement: string): JiraTarget {
  const parsed = parseJira(entitlement);
  if (parsed.type === 'account') {
    throw new AdapterError(`"${entitlement}" is the Jira account itself: it is made by ensureAccount and ended by suspendAccount, not granted`, { kind: 'permanent', system: SYSTEM });
  }
  if (parsed.type === 'group') return { kind: 'group', group: parsed.resource! };
  return { kind: 'project', projectKey: parsed.resource!, role: parsed.level! };
}

export const groupUri = (name: string) => `${SYSTEM}:group:${name}`;

/** Jira Cloud group names are case-insensitive (they are stored lower-case). */
export const sameGroup = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * A project role's id from the URL Jira lists it by (`GET /project/{key}/role` answers
 * `{"Developers": "https://…/rest/api/3/project/PLAT/role/10001"}`).
 */
export function roleIdFromUrl(url: string): number | null {
  const m = /\/role\/(\d+)\/?$/.exec(url);
  return m ? Number(m[1]) : null;
}
