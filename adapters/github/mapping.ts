import { AdapterError, type AdapterPerson, type EntitlementType, type ParsedEntitlement, splitEntitlement } from '../types.js';

const SYSTEM = 'github';

export type GitHubEntitlement =
  | { kind: 'org'; org: string }
  | { kind: 'team'; org: string; team: string; role: 'member' | 'maintainer' }
  | { kind: 'repo'; owner: string; repo: string; level: RepoLevel };

export const REPO_LEVELS = ['read', 'triage', 'write', 'maintain', 'admin'] as const;
export type RepoLevel = (typeof REPO_LEVELS)[number];

/** The REST API's names for repository roles (`PUT …/collaborators/{username}` takes pull/push). */
export const API_PERMISSION: Record<RepoLevel, string> = { read: 'pull', triage: 'triage', write: 'push', maintain: 'maintain', admin: 'admin' };

export const TEAM_ROLES = ['member', 'maintainer'] as const;

export const GITHUB_ENTITLEMENT_TYPES: EntitlementType[] = [
  { type: 'org', description: 'membership of an organization (github:org:<org>)', levels: null },
  { type: 'team', description: 'membership of a team (github:team:<org>/<team slug>#member|maintainer; member when left out)', levels: TEAM_ROLES, ranked: true },
  { type: 'repo', description: 'a direct collaborator role on a repository (github:repo:<owner>/<repo>#<role>)', levels: REPO_LEVELS, ranked: true },
];

const ORG = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
const SLUG = /^[A-Za-z0-9._-]+$/;

/** `github:account`, `github:org:<org>`, `github:team:<org>/<team>[#role]`, `github:repo:<owner>/<repo>#<role>`. */
export function parseGitHub(entitlement: string): ParsedEntitlement {
  const parsed = splitEntitlement(entitlement, SYSTEM);
  const fail = (why: string) => new AdapterError(`"${entitlement}" is not a valid GitHub entitlement: ${why}`, { kind: 'permanent', system: SYSTEM });
  const { type, resource, level } = parsed;
  if (type === 'account') {
    if (resource !== null || level !== null) throw fail('github:account takes no resource or level');
    return parsed;
  }
  if (type === 'org') {
    if (resource === null || !ORG.test(resource)) throw fail('name the organization by its login: github:org:acme');
    if (level !== null) throw fail(`organization membership has no levels; drop "#${level}"`);
    return parsed;
  }
  if (type === 'team' || type === 'repo') {
    const [owner, name, ...rest] = (resource ?? '').split('/');
    if (!owner || !ORG.test(owner) || !name || !SLUG.test(name) || rest.length > 0) {
      throw fail(type === 'team' ? 'name the team as <org>/<team slug>: github:team:acme/platform' : 'name the repository as <owner>/<repo>: github:repo:acme/platform-api');
    }
    const levels: readonly string[] = type === 'team' ? TEAM_ROLES : REPO_LEVELS;
    if (level === null && type === 'repo') throw fail(`say which role after "#": ${REPO_LEVELS.join(', ')}`);
    if (level !== null && !levels.includes(level)) throw fail(`"${level}" is not a ${type === 'team' ? 'team role' : 'repository role'}; use ${levels.join(', ')}`);
    return parsed;
  }
  throw fail(`GitHub has no type "${type}"; it has github:account, github:org, github:team and github:repo`);
}

/** A grantable entitlement as the REST API addresses it. */
export function parse(entitlement: string): GitHubEntitlement {
  const { type, resource, level } = parseGitHub(entitlement);
  if (type === 'org') return { kind: 'org', org: resource! };
  const [owner, name] = resource ? (resource.split('/') as [string, string]) : ['', ''];
  if (type === 'team') return { kind: 'team', org: owner, team: name, role: (level as 'member' | 'maintainer' | null) ?? 'member' };
  if (type === 'repo') return { kind: 'repo', owner, repo: name, level: level as RepoLevel };
  throw new AdapterError(`"${entitlement}" is the person's membership of the organization itself: ensureAccount invites them and suspendAccount removes them; it is not granted`, { kind: 'permanent', system: SYSTEM });
}

/**
 * GitHub accounts belong to people, not to the company: Gatehouse can invite a login but not make
 * one. The login comes from the HRIS (`attributes.github_login`).
 */
export function loginOf(person: AdapterPerson): string {
  const login = person.handles?.github;
  if (!login) {
    throw new AdapterError(`GitHub: ${person.email} has no GitHub login on record; add it to their HRIS record as attributes.github_login`, { kind: 'permanent', system: SYSTEM });
  }
  return login;
}
