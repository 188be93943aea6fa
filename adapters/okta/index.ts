import { type AccountRef, type Adapter, type AdapterDescription, AdapterError, type AdapterPerson, type GrantResult, type ObservedGrant, type RevokeResult } from '../types.js';
import { createOktaApi, type OktaApi, type OktaClientConfig } from './client.js';
import { classify } from './errors.js';
import { groupNameOf, OKTA_ENTITLEMENT_TYPES, parseOkta, profileOf, quote, toAccount } from './mapping.js';

export type { OktaClientConfig } from './client.js';
export { OKTA_ENTITLEMENT_TYPES } from './mapping.js';

const DESCRIPTION: AdapterDescription = {
  system: 'okta',
  displayName: 'Okta',
  mode: 'live',
  entitlementTypes: OKTA_ENTITLEMENT_TYPES,
  // Okta's per-org limit for /api/v1/users and /api/v1/groups management calls is 600/min on
  // most plans (https://developer.okta.com/docs/reference/rl-global-mgmt/); stay under it.
  defaultRateLimit: { requestsPerMinute: 600 },
  dependsOn: [],
  supports: { deleteAccount: true, listMembers: true, listAccounts: true, expiringGrants: false },
};

/**
 * Okta: users (created active, suspended with their sessions ended, deactivated when deleted)
 * and group membership.
 */
export function createOktaAdapter(config: OktaClientConfig, deps: { api?: OktaApi } = {}): Adapter {
  const api = deps.api ?? createOktaApi(config);
  const groupIds = new Map<string, string>();

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classify(error, what);
    }
  }

  async function groupId(name: string): Promise<string | null> {
    const cached = groupIds.get(name);
    if (cached) return cached;
    const group = await call(`find group "${name}"`, () => api.findGroup(name));
    if (group) groupIds.set(name, group.id);
    return group?.id ?? null;
  }

  async function requireGroup(entitlement: string): Promise<string> {
    const name = groupNameOf(entitlement);
    const id = await groupId(name);
    if (!id) {
      throw new AdapterError(`Okta has no group named "${name}" (for ${entitlement}); create it in Okta or fix the policy`, { kind: 'permanent', system: 'okta', status: 404 });
    }
    return id;
  }

  async function isMember(accountId: string, groupIdValue: string): Promise<boolean> {
    try {
      for await (const group of api.userGroups(accountId)) if (group.id === groupIdValue) return true;
      return false;
    } catch (error) {
      throw classify(error, `read groups of user ${accountId}`);
    }
  }

  async function find(person: AdapterPerson): Promise<AccountRef | null> {
    // Immutable id first: an email can change (marriage, a typo fixed), the employee number cannot.
    for await (const user of api.searchUsers(`profile.employeeNumber eq ${quote(person.employeeId)}`)) return toAccount(user);
    const byLogin = await api.getUser(person.email);
    return byLogin ? toAccount(byLogin) : null;
  }

  const adapter: Adapter = {
    system: 'okta',
    describe: () => DESCRIPTION,
    parseEntitlement: parseOkta,

    findAccount: (person) => call(`find user ${person.email}`, () => find(person)),

    async ensureAccount(person) {
      const existing = await adapter.findAccount(person);
      if (existing?.status === 'active') return { account: existing, outcome: 'already_present' };
      if (existing) {
        // A suspended user is unsuspended (a rehire); a deprovisioned one must be activated again.
        await call(`reactivate user ${person.email}`, async () => {
          try {
            await api.lifecycle(existing.id, 'unsuspend');
          } catch (error) {
            if ((error as { status?: number }).status !== 400) throw error;
            await api.lifecycle(existing.id, 'activate');
          }
        });
        return { account: { ...existing, status: 'active' }, outcome: 'applied' };
      }
      const created = await call(`create user ${person.email}`, () => api.createUser(profileOf(person)));
      return { account: toAccount(created), outcome: 'applied' };
    },

    async suspendAccount(account): Promise<RevokeResult> {
      const current = await call(`read user ${account.id}`, () => api.getUser(account.id));
      if (!current || current.status === 'SUSPENDED' || current.status === 'DEPROVISIONED') return { outcome: 'already_absent' };
      await call(`suspend user ${account.id}`, () => api.lifecycle(account.id, 'suspend'));
      // Suspending blocks new sign-ins; ending the sessions signs them out of what is open now.
      await call(`end sessions of user ${account.id}`, () => api.revokeSessions(account.id));
      return { outcome: 'applied' };
    },

    async deleteAccount(account): Promise<RevokeResult> {
      // Okta's deactivation: the user is DEPROVISIONED, signed out and removed from every app.
      // Okta's own DELETE of a deprovisioned user erases it for good; that stays with its admins.
      const current = await call(`read user ${account.id}`, () => api.getUser(account.id));
      if (!current || current.status === 'DEPROVISIONED') return { outcome: 'already_absent' };
      await call(`deactivate user ${account.id}`, () => api.lifecycle(account.id, 'deactivate'));
      return { outcome: 'applied' };
    },

    async grant(account, entitlement): Promise<GrantResult> {
      const id = await requireGroup(entitlement);
      // Okta's PUT membership answers 204 whether or not the user was a member: read first so the
      // outcome (and the audit log) says which.
      if (await isMember(account.id, id)) return { outcome: 'already_present', state: 'active' };
      await call(`add ${account.id} to ${entitlement}`, () => api.addToGroup(id, account.id));
      return { outcome: 'applied', state: 'active' };
    },

    async revoke(account, entitlement): Promise<RevokeResult> {
      const name = groupNameOf(entitlement);
      const id = await groupId(name);
      if (!id) return { outcome: 'already_absent' };
      let member: boolean;
      try {
        member = await isMember(account.id, id);
      } catch (error) {
        // The user is gone: so is the membership.
        if ((error as AdapterError).status === 404) return { outcome: 'already_absent' };
        throw error;
      }
      if (!member) return { outcome: 'already_absent' };
      try {
        await api.removeFromGroup(id, account.id);
      } catch (error) {
        if ((error as { status?: number }).status === 404) return { outcome: 'already_absent' };
        throw classify(error, `remove ${account.id} from ${entitlement}`);
      }
      return { outcome: 'applied' };
    },

    async *listGrants(account): AsyncIterable<ObservedGrant> {
      try {
        for await (const group of api.userGroups(account.id)) {
          // Everyone is Okta's built-in group of all users; app groups are pushed from elsewhere.
          if (group.type === 'OKTA_GROUP') yield { entitlement: `okta:group:${group.profile.name}`, state: 'active' };
        }
      } catch (error) {
        throw classify(error, `list groups of ${account.id}`);
      }
    },

    async *listMembers(entitlement) {
      const id = await requireGroup(entitlement);
      try {
        for await (const user of api.groupUsers(id)) yield toAccount(user);
      } catch (error) {
        throw classify(error, `list members of ${entitlement}`);
      }
    },

    async *listAccounts() {
      try {
        for await (const user of api.allUsers()) yield toAccount(user);
      } catch (error) {
        throw classify(error, 'list users');
      }
    },
  };
  return adapter;
}
