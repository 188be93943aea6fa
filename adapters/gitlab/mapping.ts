import { AdapterError, type AdapterPerson, type EntitlementType, type ParsedEntitlement, splitEntitlement } from '../types.js';

const SYSTEM = 'gitlab';

/** Role names, lowest first, and GitLab's `access_level` for each (docs.gitlab.com/ee/api/members.html#roles). */
export const LEVELS = ['guest', 'reporter', 'developer', 'maintainer', 'owner'] as const;
export type Level = (typeof LEVELS)[number];
export const ACCESS_LEVEL: Record<Level, number> = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 };

/** The role an `access_level` is, or null for levels outside the contract (minimal access 5, planner 15). */
export function levelOf(accessLevel: number): Level | null {
  return LEVELS.find((l) => ACCESS_LEVEL[l] === accessLevel) ?? null;
}

export const GITLAB_ENTITLEMENT_TYPES: EntitlementType[] = [
  { type: 'group', description: 'direct membership of a group or subgroup with a role (gitlab:group:<full/path>#<role>)', levels: LEVELS, ranked: true },
  { type: 'project', description: 'direct membership of a project with a role (gitlab:project:<namespace/project>#<role>)', levels: LEVELS, ranked: true },
];

/** A group or a project as the members API addresses it (`/groups/:id`, `/projects/:id`, the id being the URL-encoded full path). */
export interface Source {
  kind: 'group' | 'project';
  path: string;
}

export interface GitLabTarget {
  source: Source;
  level: Level;
  accessLevel: number;
}

/**
 * A path segment as GitLab allows it: letters, digits, `_`, `-` and `.`, not starting with `-` or
 * `.`, not ending in `.`, `.git` or `.atom` (docs.gitlab.com/ee/user/reserved_names.html).
 */
const SEGMENT = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$/;
const validSegment = (s: string) => SEGMENT.test(s) && !/\.(git|atom)$/i.test(s);

/** `gitlab:account`, `gitlab:group:<full/path>#<role>`, `gitlab:project:<namespace/project>#<role>`. */
export function parseGitLab(entitlement: string): ParsedEntitlement {
  const parsed = splitEntitlement(entitlement, SYSTEM);
  const fail = (why: string) => new AdapterError(`"${entitlement}" is not a valid GitLab entitlement: ${why}`, { kind: 'permanent', system: SYSTEM });
  const { type, resource, level } = parsed;
  if (type === 'account') {
    if (resource !== null || level !== null) throw fail('gitlab:account takes no resource or level');
    return parsed;
  }
  if (type === 'group' || type === 'project') {
    const segments = (resource ?? '').split('/');
    const example = type === 'group' ? 'gitlab:group:engineering/platform#developer' : 'gitlab:project:acme/api#reporter';
    if (resource === null || !segments.every(validSegment) || (type === 'project' && segments.length < 2)) {
      throw fail(type === 'group' ? `name the group by its full path: ${example}` : `name the project as <namespace>/<project>: ${example}`);
    }
    if (level === null) throw fail(`say which role after "#": ${LEVELS.join(', ')}`);
    if (!(LEVELS as readonly string[]).includes(level)) throw fail(`"${level}" is not a GitLab role; use ${LEVELS.join(', ')}`);
    return parsed;
  }
  throw fail(`GitLab has no type "${type}"; it has gitlab:account, gitlab:group and gitlab:project`);
}

/** A grantable entitlement as the members API addresses it. */
export function parse(entitlement: string): GitLabTarget {
  const { type, resource, level } = parseGitLab(entitlement);
  if (type === 'account') {
    throw new AdapterError(`"${entitlement}" is the GitLab user itself: ensureAccount makes or unblocks it and suspendAccount blocks it; it is not granted`, { kind: 'permanent', system: SYSTEM });
  }
  const l = level as Level;
  return { source: { kind: type as 'group' | 'project', path: resource! }, level: l, accessLevel: ACCESS_LEVEL[l] };
}

export function groupUri(path: string, level: Level): string {
  return `gitlab:group:${path}#${level}`;
}

/** The groups a group or project inherits members from, nearest first (`a/b/c` → `a/b`, `a`). */
export function ancestors(source: Source): string[] {
  const segments = source.path.split('/');
  const out: string[] = [];
  for (let i = segments.length - 1; i >= 1; i--) out.push(segments.slice(0, i).join('/'));
  return out;
}

/** An `expiresAt` (a date or an ISO timestamp) as the YYYY-MM-DD GitLab takes; undefined without one. */
export function expiryDate(expiresAt: string | null | undefined): string | undefined {
  if (expiresAt === null || expiresAt === undefined || expiresAt === '') return undefined;
  const at = new Date(expiresAt);
  if (Number.isNaN(at.getTime())) {
    throw new AdapterError(`GitLab: "${expiresAt}" is not a date for a membership's expires_at (write YYYY-MM-DD or an ISO timestamp)`, { kind: 'permanent', system: SYSTEM });
  }
  return /^\d{4}-\d{2}-\d{2}$/.test(expiresAt) ? expiresAt : at.toISOString().slice(0, 10);
}

/** The GitLab username a person has or gets: `attributes.gitlab_login` from the HRIS, else none. */
export function handleOf(person: AdapterPerson): string | null {
  return person.handles?.gitlab?.trim() || null;
}

/**
 * A username for a new user from the email's local part, within GitLab's rules: ASCII letters,
 * digits, `_`, `-`, `.`; starting with a letter, digit or `_`; not ending in `.`, `.git`, `.atom`.
 */
export function usernameFromEmail(email: string): string {
  const local = (email.split('@')[0] ?? '').normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  let name = local.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9_]+/, '').replace(/[.-]+$/, '');
  if (/\.(git|atom)$/i.test(name)) name = `${name}_`;
  return name === '' ? 'user' : name.slice(0, 255);
}

/** The name GitLab shows: the display name, else first and last, else the email's local part. */
export function displayNameOf(person: AdapterPerson): string {
  const joined = [person.firstName, person.lastName].filter((p) => p && p.trim()).join(' ').trim();
  return person.displayName?.trim() || joined || (person.email.split('@')[0] ?? person.email);
}
