import { type AccountRef, type Adapter, type AdapterDescription, AdapterError, type GrantResult, type ObservedGrant, type RevokeResult } from '../types.js';
import { createGitHubApi, type GitHubApi, type GitHubClientConfig } from './client.js';
import { classify } from './errors.js';
import { API_PERMISSION, GITHUB_ENTITLEMENT_TYPES, loginOf, parse, parseGitHub } from './mapping.js';

export type { GitHubClientConfig } from './client.js';
export { GITHUB_ENTITLEMENT_TYPES } from './mapping.js';

const describeFor = (org: string): AdapterDescription => ({
  system: 'github',
  displayName: `GitHub (${org})`,
  mode: 'live',
  entitlementTypes: GITHUB_ENTITLEMENT_TYPES,
  // 5,000 requests an hour for a token (15,000 for a GitHub App on Enterprise Cloud); stay at the
  // lower: https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api
  defaultRateLimit: { requestsPerMinute: 80 },
  dependsOn: [],
  supports: { deleteAccount: false, listMembers: true, listAccounts: true, expiringGrants: false },
});

/**
 * GitHub: a person's account here is their membership of the organization (`GITHUB_ORG`);
 * entitlements are other orgs, teams and repository roles. Invitations count as applied, not
 * verified, until accepted.
 */
export function createGitHubAdapter(config: GitHubClientConfig, deps: { api?: GitHubApi } = {}): Adapter {
  const api = deps.api ?? createGitHubApi(config);
  const description = describeFor(config.org);

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classify(error, what);
    }
  }

  const login = (account: AccountRef) => account.login ?? account.id;

  async function check(account: AccountRef, entitlement: string): Promise<ObservedGrant | null> {
    const target = parse(entitlement);
    const user = login(account);
    if (target.kind === 'org') {
      const m = await call(`read ${user}'s membership of ${target.org}`, () => api.orgMembership(target.org, user));
      return m ? { entitlement, state: m.state } : null;
    }
    if (target.kind === 'team') {
      const m = await call(`read ${user}'s membership of ${target.org}/${target.team}`, () => api.teamMembership(target.org, target.team, user));
      return m && m.role === target.role ? { entitlement, state: m.state } : null;
    }
    const role = await call(`read ${user}'s role on ${target.owner}/${target.repo}`, () => api.repoRole(target.owner, target.repo, user));
    if (role === target.level) return { entitlement, state: 'active' };
    const invitation = await call(`read invitations to ${target.owner}/${target.repo}`, () => api.repoInvitation(target.owner, target.repo, user));
    // Invitations name the role as the REST API does (`write` for push on newer APIs, or `push`).
    return invitation && [target.level, API_PERMISSION[target.level]].includes(invitation.permission) ? { entitlement, state: 'pending' } : null;
  }

  const adapter: Adapter = {
    system: 'github',
    describe: () => description,
    parseEntitlement: parseGitHub,

    async findAccount(person) {
      const user = loginOf(person);
      const found = await call(`find user ${user}`, () => api.getUser(user));
      if (!found) return null;
      const membership = await call(`read ${user}'s membership of ${config.org}`, () => api.orgMembership(config.org, user));
      return { system: 'github', id: String(found.id), login: found.login, email: person.email, employeeId: person.employeeId, status: membership ? membership.state : 'suspended' };
    },

    async ensureAccount(person) {
      const existing = await adapter.findAccount(person);
      if (!existing) {
        throw new AdapterError(`GitHub has no user "${loginOf(person)}" (attributes.github_login of ${person.email}); fix the login in the HRIS`, { kind: 'permanent', system: 'github', status: 404 });
      }
      if (existing.status !== 'suspended') return { account: existing, outcome: 'already_present' };
      // Adding a member sends an invitation: the account is pending until they accept it.
      const membership = await call(`invite ${existing.login} to ${config.org}`, () => api.setOrgMembership(config.org, existing.login!));
      return { account: { ...existing, status: membership.state }, outcome: 'applied' };
    },

    async suspendAccount(account): Promise<RevokeResult> {
      const user = login(account);
      const membership = await call(`read ${user}'s membership of ${config.org}`, () => api.orgMembership(config.org, user));
      if (!membership) return { outcome: 'already_absent' };
      // Removing someone from the org also removes their team memberships and org repository access.
      await call(`remove ${user} from ${config.org}`, () => api.removeOrgMembership(config.org, user));
      return { outcome: 'applied' };
    },

    async grant(account, entitlement): Promise<GrantResult> {
      const target = parse(entitlement);
      const current = await check(account, entitlement);
      if (current) return { outcome: 'already_present', state: current.state };
      const user = login(account);
      if (target.kind === 'org') {
        const m = await call(`invite ${user} to ${target.org}`, () => api.setOrgMembership(target.org, user));
        return { outcome: 'applied', state: m.state };
      }
      if (target.kind === 'team') {
        const m = await call(`add ${user} to ${target.org}/${target.team}`, () => api.setTeamMembership(target.org, target.team, user, target.role));
        return { outcome: 'applied', state: m.state };
      }
      const how = await call(`give ${user} ${target.level} on ${target.owner}/${target.repo}`, () => api.addCollaborator(target.owner, target.repo, user, API_PERMISSION[target.level]));
      return { outcome: 'applied', state: how === 'invited' ? 'pending' : 'active' };
    },

    async revoke(account, entitlement): Promise<RevokeResult> {
      const target = parse(entitlement);
      const user = login(account);
      const current = await check(account, entitlement);
      if (!current) return { outcome: 'already_absent' };
      try {
        if (target.kind === 'org') await api.removeOrgMembership(target.org, user);
        else if (target.kind === 'team') await api.removeTeamMembership(target.org, target.team, user);
        else if (current.state === 'pending') {
          const invitation = await api.repoInvitation(target.owner, target.repo, user);
          if (invitation) await api.deleteInvitation(target.owner, target.repo, invitation.id);
        } else await api.removeCollaborator(target.owner, target.repo, user);
      } catch (error) {
        if ((error as { status?: number }).status === 404) return { outcome: 'already_absent' };
        throw classify(error, `revoke ${entitlement} from ${user}`);
      }
      return { outcome: 'applied' };
    },

    checkGrant: (account, entitlement) => check(account, entitlement),

    async *listMembers(entitlement) {
      const target = parse(entitlement);
      const toRef = (u: { login: string; id: number }): AccountRef => ({ system: 'github', id: String(u.id), login: u.login, status: 'active' });
      try {
        if (target.kind === 'org') for await (const u of api.orgMembers(target.org)) yield toRef(u);
        else if (target.kind === 'team') for await (const u of api.teamMembers(target.org, target.team)) yield toRef(u);
        else for await (const c of api.collaborators(target.owner, target.repo)) if (c.role_name === target.level) yield toRef(c);
      } catch (error) {
        throw classify(error, `list members of ${entitlement}`);
      }
    },

    async *listAccounts() {
      try {
        for await (const u of api.orgMembers(config.org)) yield { system: 'github', id: String(u.id), login: u.login, status: 'active' };
      } catch (error) {
        throw classify(error, `list members of ${config.org}`);
      }
    },
  };
  return adapter;
}
