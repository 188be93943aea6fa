import { randomBytes } from 'node:crypto';
import type { AccountRef, Adapter, AdapterDescription, AdapterPerson, GrantResult, ObservedGrant, RevokeResult } from '../types.js';
import { createGoogleApi, type GoogleApi, type GoogleClientConfig } from './client.js';
import { classify } from './errors.js';
import { GOOGLE_ENTITLEMENT_TYPES, newUser, parse, parseGoogle, quote, toAccount } from './mapping.js';

export type { GoogleClientConfig } from './client.js';
export { GOOGLE_ENTITLEMENT_TYPES } from './mapping.js';

const DESCRIPTION: AdapterDescription = {
  system: 'google',
  displayName: 'Google Workspace',
  mode: 'live',
  entitlementTypes: GOOGLE_ENTITLEMENT_TYPES,
  // The Directory API's default quota is 2,400 queries per minute per user (the impersonated
  // admin): https://developers.google.com/admin-sdk/directory/v1/limits
  defaultRateLimit: { requestsPerMinute: 2400 },
  dependsOn: [],
  supports: { deleteAccount: false, listMembers: true, listAccounts: true, expiringGrants: false },
};

/** Google Workspace: users (created, suspended and signed out), group membership, org units. */
export function createGoogleAdapter(config: GoogleClientConfig, deps: { api?: GoogleApi } = {}): Adapter {
  const api = deps.api ?? createGoogleApi(config);

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classify(error, what);
    }
  }

  async function find(person: AdapterPerson): Promise<AccountRef | null> {
    // The HRIS id first (kept as an organization externalId), then the email.
    for await (const user of api.searchUsers(`externalId:${quote(person.employeeId)}`)) return toAccount(user);
    const user = await api.getUser(person.email);
    return user ? toAccount(user) : null;
  }

  const adapter: Adapter = {
    system: 'google',
    describe: () => DESCRIPTION,
    parseEntitlement: parseGoogle,
    findAccount: (person) => call(`find user ${person.email}`, () => find(person)),

    async ensureAccount(person) {
      const existing = await adapter.findAccount(person);
      if (existing?.status === 'active') return { account: existing, outcome: 'already_present' };
      if (existing) {
        const user = await call(`unsuspend ${person.email}`, () => api.updateUser(existing.id, { suspended: false }));
        return { account: toAccount(user), outcome: 'applied' };
      }
      const user = await call(`create user ${person.email}`, () => api.insertUser(newUser(person, randomBytes(24).toString('base64url'))));
      return { account: toAccount(user), outcome: 'applied' };
    },

    async suspendAccount(account): Promise<RevokeResult> {
      const user = await call(`read user ${account.id}`, () => api.getUser(account.id));
      if (!user || user.suspended) return { outcome: 'already_absent' };
      await call(`suspend ${account.email ?? account.id}`, () => api.updateUser(account.id, { suspended: true }));
      // Suspension blocks new sign-ins; signOut ends the sessions already open.
      await call(`sign out ${account.email ?? account.id}`, () => api.signOut(account.id));
      return { outcome: 'applied' };
    },

    async grant(account, entitlement): Promise<GrantResult> {
      const target = parse(entitlement);
      if (target.kind === 'org-unit') {
        const user = await call(`read user ${account.id}`, () => api.getUser(account.id));
        if (user?.orgUnitPath === target.path) return { outcome: 'already_present', state: 'active' };
        await call(`move ${account.email} to ${target.path}`, () => api.updateUser(account.id, { orgUnitPath: target.path }));
        return { outcome: 'applied', state: 'active' };
      }
      if (await call(`check ${entitlement}`, () => api.membership(target.email, account.id))) return { outcome: 'already_present', state: 'active' };
      try {
        await api.insertMember(target.email, account.email ?? account.id);
      } catch (error) {
        // 409 "Member already exists": someone added them between our read and our write.
        if ((error as { status?: number; response?: { status?: number } }).response?.status === 409) return { outcome: 'already_present', state: 'active' };
        throw classify(error, `add ${account.email} to ${entitlement}`);
      }
      return { outcome: 'applied', state: 'active' };
    },

    async revoke(account, entitlement): Promise<RevokeResult> {
      const target = parse(entitlement);
      if (target.kind === 'org-unit') {
        const user = await call(`read user ${account.id}`, () => api.getUser(account.id));
        if (!user || user.orgUnitPath !== target.path) return { outcome: 'already_absent' };
        await call(`move ${account.email} to /`, () => api.updateUser(account.id, { orgUnitPath: '/' }));
        return { outcome: 'applied' };
      }
      try {
        await api.deleteMember(target.email, account.id);
      } catch (error) {
        if ((error as { response?: { status?: number } }).response?.status === 404) return { outcome: 'already_absent' };
        throw classify(error, `remove ${account.email} from ${entitlement}`);
      }
      return { outcome: 'applied' };
    },

    // The verification read after a write: one call for the entitlement asked about, named as
    // it was asked (group emails are case-insensitive), rather than paging through every group.
    async checkGrant(account, entitlement): Promise<ObservedGrant | null> {
      const target = parse(entitlement);
      if (target.kind === 'org-unit') {
        const user = await call(`read user ${account.id}`, () => api.getUser(account.id));
        return user?.orgUnitPath === target.path ? { entitlement, state: 'active' } : null;
      }
      const membership = await call(`check ${entitlement}`, () => api.membership(target.email, account.id));
      // A member who has not accepted an invitation to an external group is not in it yet.
      return membership ? { entitlement, state: membership.status === 'ACTIVE' ? 'active' : 'pending' } : null;
    },

    async *listGrants(account): AsyncIterable<ObservedGrant> {
      try {
        const user = await api.getUser(account.id);
        if (user?.orgUnitPath && user.orgUnitPath !== '/') yield { entitlement: `google:org-unit:${user.orgUnitPath}`, state: 'active' };
        for await (const group of api.groupsOf(account.id)) yield { entitlement: `google:group:${group.email.toLowerCase()}`, state: 'active' };
      } catch (error) {
        throw classify(error, `list groups of ${account.email ?? account.id}`);
      }
    },

    async *listMembers(entitlement) {
      const target = parse(entitlement);
      try {
        if (target.kind === 'org-unit') {
          for await (const user of api.searchUsers(`orgUnitPath=${quote(target.path)}`)) yield toAccount(user);
          return;
        }
        // Members carry id and email; status is not in the member list (a scan reads users for that).
        for await (const member of api.members(target.email)) yield { system: 'google', id: member.id, email: member.email, login: member.email, status: 'active' };
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
