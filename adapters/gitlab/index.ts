import { type AccountRef, type AccountStatus, type Adapter, type AdapterDescription, AdapterError, type AdapterPerson, type GrantResult, type ObservedGrant, type RevokeResult } from '../types.js';
import { createGitLabApi, type GitLabApi, type GitLabClientConfig, type GitLabMember, type GitLabUser } from './client.js';
import { classify, statusOf } from './errors.js';
import { ancestors, displayNameOf, expiryDate, GITLAB_ENTITLEMENT_TYPES, groupUri, handleOf, levelOf, parse, parseGitLab, usernameFromEmail } from './mapping.js';

export type { GitLabClientConfig } from './client.js';
export { GITLAB_ENTITLEMENT_TYPES } from './mapping.js';

const SYSTEM = 'gitlab';

const describeFor = (url: string): AdapterDescription => ({
  system: SYSTEM,
  displayName: `GitLab (${url.replace(/^https?:\/\//, '').replace(/\/+$/, '')})`,
  mode: 'live',
  entitlementTypes: GITLAB_ENTITLEMENT_TYPES,
  // GitLab.com: authenticated API traffic, 2,000 requests a minute per user
  // (https://docs.gitlab.com/user/gitlab_com/rate_limits/, "Authenticated API traffic (for a given user)";
  // announced at about.gitlab.com/blog/2020/12/17/automation-check-in-and-rate-limit-changes-on-gitlab-dot-com/).
  // Self-managed instances set their own (off by default); RATE_LIMITS=gitlab=… overrides.
  defaultRateLimit: { requestsPerMinute: 2000 },
  dependsOn: [],
  supports: { deleteAccount: false, listMembers: true, listAccounts: true, expiringGrants: true },
});

/** GitLab user states (docs.gitlab.com/ee/api/users.html): active, else pending approval, else not usable. */
function accountStatus(state: string): AccountStatus {
  if (state === 'active') return 'active';
  if (state === 'blocked_pending_approval') return 'pending';
  return 'suspended';
}

/**
 * GitLab: a person's account is a GitLab user, found by the username the HRIS carries
 * (`attributes.gitlab_login`) or by email, and created on self-managed instances by an admin
 * token. Entitlements are group and project memberships with a role; memberships inherited from
 * a parent group satisfy a grant and are reported with `inheritedFrom`.
 */
export function createGitLabAdapter(config: GitLabClientConfig, deps: { api?: GitLabApi } = {}): Adapter {
  const api = deps.api ?? createGitLabApi(config);
  const description = describeFor(config.url ?? 'https://gitlab.com');

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classify(error, what);
    }
  }

  const toRef = (user: GitLabUser, person?: AdapterPerson): AccountRef => ({
    system: SYSTEM,
    id: String(user.id),
    login: user.username,
    email: user.email ?? user.public_email ?? person?.email ?? null,
    ...(person ? { employeeId: person.employeeId } : {}),
    status: accountStatus(user.state),
  });
  const memberRef = (m: GitLabMember): AccountRef => ({ system: SYSTEM, id: String(m.id), login: m.username, status: accountStatus(m.state) });

  const userId = (account: AccountRef) => {
    const id = Number(account.id);
    if (!Number.isInteger(id) || id <= 0) throw new AdapterError(`GitLab: account id "${account.id}" is not a GitLab user id`, { kind: 'permanent', system: SYSTEM });
    return id;
  };

  async function find(person: AdapterPerson): Promise<GitLabUser | null> {
    const handle = handleOf(person);
    if (handle) {
      const found = await call(`find user ${handle}`, () => api.usersByUsername(handle));
      return found.find((u) => u.username.toLowerCase() === handle.toLowerCase()) ?? null;
    }
    const email = person.email.toLowerCase();
    return call(`find the user with email ${person.email}`, async () => {
      // `search` matches name, username and email; only an exact email is this person.
      for await (const u of api.searchUsers(person.email)) {
        if (u.email?.toLowerCase() === email || u.public_email?.toLowerCase() === email) return u;
      }
      return null;
    });
  }

  /**
   * What the account holds of one entitlement. Direct membership counts at exactly the role
   * asked (a ranked type: holding maintainer is not holding developer; granting replaces it).
   * Inherited membership counts at the role asked or higher: GitLab refuses a direct membership
   * below an inherited one, and the inherited access already covers it.
   */
  async function observe(account: AccountRef, entitlement: string): Promise<{ observed: ObservedGrant | null; direct: GitLabMember | null }> {
    const target = parse(entitlement);
    const id = userId(account);
    const where = `${target.source.kind} ${target.source.path}`;
    const effective = await call(`read ${account.login ?? id}'s membership of ${where}`, () => api.member(target.source, id, true));
    if (!effective) return { observed: null, direct: null };
    const direct = await call(`read ${account.login ?? id}'s direct membership of ${where}`, () => api.member(target.source, id, false));
    if (direct && direct.access_level === target.accessLevel) {
      return { observed: { entitlement, state: 'active', expiresAt: direct.expires_at ?? null }, direct };
    }
    if (effective.access_level >= target.accessLevel && !(direct && direct.access_level >= effective.access_level)) {
      for (const group of ancestors(target.source)) {
        const m = await call(`read ${account.login ?? id}'s membership of group ${group}`, () => api.member({ kind: 'group', path: group }, id, false));
        const level = m ? levelOf(m.access_level) : null;
        if (m && level && m.access_level >= target.accessLevel) {
          return { observed: { entitlement, state: 'active', expiresAt: m.expires_at ?? null, inheritedFrom: groupUri(group, level) }, direct };
        }
      }
      // Access through a group the resource is shared with: not this entitlement, and not ours to revoke.
    }
    return { observed: null, direct };
  }

  const adapter: Adapter = {
    system: SYSTEM,
    describe: () => description,
    parseEntitlement: parseGitLab,

    async findAccount(person) {
      const user = await find(person);
      return user ? toRef(user, person) : null;
    },

    async ensureAccount(person) {
      const existing = await find(person);
      if (existing) {
        const ref = toRef(existing, person);
        if (existing.state === 'active') return { account: ref, outcome: 'already_present' };
        const action = { blocked: 'unblock', deactivated: 'activate', blocked_pending_approval: 'approve' } as const;
        const todo = action[existing.state as keyof typeof action];
        if (!todo) {
          throw new AdapterError(
            `GitLab user ${existing.username} is ${existing.state}: ${existing.state === 'ldap_blocked' ? 'unblock them in the LDAP directory' : 'an administrator must lift this by hand'} before Gatehouse can re-enable them`,
            { kind: 'permanent', system: SYSTEM },
          );
        }
        await call(`${todo} ${existing.username}`, () => api.userAction(existing.id, todo));
        return { account: { ...ref, status: 'active' }, outcome: 'applied' };
      }
      const username = handleOf(person) ?? usernameFromEmail(person.email);
      try {
        const created = await api.createUser({ username, name: displayNameOf(person), email: person.email });
        return { account: toRef(created, person), outcome: 'applied' };
      } catch (error) {
        if (statusOf(error) === 403) {
          throw new AdapterError(
            `GitLab refused to create a user for ${person.email} (403): only an administrator of a self-managed instance can create users, and GitLab.com allows none. ` +
              'Put their GitLab username in the HRIS as attributes.gitlab_login, or provision GitLab users through SAML/SCIM from the IdP',
            { kind: 'permanent', system: SYSTEM, status: 403, cause: error },
          );
        }
        if (statusOf(error) === 409) {
          throw new AdapterError(
            `GitLab: cannot create ${username} for ${person.email}: ${(error as Error).message}. If this person already has a GitLab user, put its username in the HRIS as attributes.gitlab_login`,
            { kind: 'permanent', system: SYSTEM, status: 409, cause: error },
          );
        }
        throw classify(error, `create user ${username}`);
      }
    },

    async suspendAccount(account): Promise<RevokeResult> {
      const id = userId(account);
      const user = await call(`read user ${account.login ?? id}`, () => api.getUser(id));
      if (!user || ['blocked', 'ldap_blocked', 'banned'].includes(user.state)) return { outcome: 'already_absent' };
      // Blocking ends sign-in, Git access and API tokens, and keeps the user, their work and memberships.
      await call(`block ${user.username}`, () => api.userAction(id, 'block'));
      return { outcome: 'applied' };
    },

    async grant(account, entitlement, options): Promise<GrantResult> {
      const target = parse(entitlement);
      const expiresAt = expiryDate(options?.expiresAt);
      const { observed, direct } = await observe(account, entitlement);
      const id = userId(account);
      const where = `${target.source.kind} ${target.source.path}`;
      if (observed) {
        // The same role with a new end date (a renewed time-bound grant) is a change.
        if (!observed.inheritedFrom && expiresAt && (direct?.expires_at ?? '').slice(0, 10) !== expiresAt) {
          await call(`set ${account.login ?? id}'s membership of ${where} to expire ${expiresAt}`, () => api.editMember(target.source, id, target.accessLevel, expiresAt));
          return { outcome: 'applied', state: 'active' };
        }
        return { outcome: 'already_present', state: 'active' };
      }
      if (direct) {
        await call(`change ${account.login ?? id}'s role on ${where} to ${target.level}`, () => api.editMember(target.source, id, target.accessLevel, expiresAt));
      } else {
        await call(`add ${account.login ?? id} to ${where} as ${target.level}`, () => api.addMember(target.source, id, target.accessLevel, expiresAt));
      }
      return { outcome: 'applied', state: 'active' };
    },

    async revoke(account, entitlement): Promise<RevokeResult> {
      const target = parse(entitlement);
      const id = userId(account);
      const where = `${target.source.kind} ${target.source.path}`;
      // Only a direct membership at this role is this grant; inherited access is revoked at its source.
      const direct = await call(`read ${account.login ?? id}'s direct membership of ${where}`, () => api.member(target.source, id, false));
      if (!direct || direct.access_level !== target.accessLevel) return { outcome: 'already_absent' };
      try {
        await api.removeMember(target.source, id);
      } catch (error) {
        if (statusOf(error) === 404) return { outcome: 'already_absent' };
        throw classify(error, `remove ${account.login ?? id} from ${where}`);
      }
      return { outcome: 'applied' };
    },

    async checkGrant(account, entitlement) {
      return (await observe(account, entitlement)).observed;
    },

    /**
     * Direct members at exactly this role: the memberships that are this entitlement and that
     * revoke() can remove. Members inherited from a parent group show up against the parent.
     */
    async *listMembers(entitlement) {
      const target = parse(entitlement);
      try {
        for await (const m of api.members(target.source, false)) if (m.access_level === target.accessLevel) yield memberRef(m);
      } catch (error) {
        throw classify(error, `list members of ${target.source.kind} ${target.source.path}`);
      }
    },

    async *listAccounts() {
      try {
        if (api.accountsGroup) for await (const m of api.members({ kind: 'group', path: api.accountsGroup }, true)) yield memberRef(m);
        else for await (const u of api.users()) yield toRef(u);
      } catch (error) {
        throw classify(error, api.accountsGroup ? `list members of group ${api.accountsGroup}` : 'list users');
      }
    },
  };
  return adapter;
}
