import { AdapterError, type AdapterPerson } from '../types.js';

const SYSTEM = 'github';

export type GitHubEntitlement =
  | { kind: 'org'; org: string }
  | { kind: 'team'; org: string; team: string; role: 'member' | 'maintainer' }
  | { kind: 'repo'; owner: string; repo: string; level: RepoLevel };

export const REPO_LEVELS = ['read', 'triage', 'write', 'maintain', 'admin'] as const;
export type RepoLevel = (typeof REPO_LEVELS)[number];

/** The REST API's names for repository roles (`PUT …/collaborators/{username}` takes pull/push). */
export const API_PERMISSION: Record<RepoLevel, string> = { read: 'pull', triage: 'triage', write: 'push', maintain: 'maintain', admin: 'admin' };

const NAME = '[A-Za-z0-9](?:[A-Za-z0-9-]*)';

export function parse(entitlement: string): GitHubEntitlement {
  let m = new RegExp(`^github:org:(${NAME})$`).exec(entitlement);
  if (m) return { kind: 'org', org: m[1]! };
  m = new RegExp(`^github:team:(${NAME})/([A-Za-z0-9._-]+)(?:#(member|maintainer))?$`).exec(entitlement);
  if (m) return { kind: 'team', org: m[1]!, team: m[2]!, role: (m[3] as 'member' | 'maintainer' | undefined) ?? 'member' };
  m = new RegExp(`^github:repo:(${NAME})/([A-Za-z0-9._-]+)#(${REPO_LEVELS.join('|')})$`).exec(entitlement);
  if (m) return { kind: 'repo', owner: m[1]!, repo: m[2]!, level: m[3] as RepoLevel };
  throw new AdapterError(
    `"${entitlement}" is not a GitHub entitlement; expected github:org:<org>, github:team:<org>/<team>[#member|#maintainer] or github:repo:<owner>/<repo>#${REPO_LEVELS.join('|')}`,
    { kind: 'permanent', system: SYSTEM },
  );
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
