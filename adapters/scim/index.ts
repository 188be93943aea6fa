import { type AccountRef, type Adapter, type AdapterDescription, AdapterError, type AdapterPerson, type GrantResult, type ObservedGrant, type RevokeResult } from '../types.js';
import { createScimApi, type ScimApi, type ScimAppConfig, ScimHttpError } from './client.js';
import { classify } from './errors.js';
import {
  addMemberBody,
  APP_NAME,
  eqFilter,
  groupEntitlement,
  groupNameOf,
  newUserBody,
  parseScim,
  removeMemberBody,
  SCIM_ENTITLEMENT_TYPES,
  type ScimGroupShape,
  type ScimUserShape,
  setActiveBody,
  toAccount,
} from './mapping.js';

export type { ScimAppConfig } from './client.js';
export { quote, SCIM_ENTITLEMENT_TYPES } from './mapping.js';

/**
 * SCIM has no common published rate limit: each app sets its own, and most do not publish one.
 * 60 requests/minute is a cautious start; `requestsPerMinute` in the app's config (or
 * RATE_LIMITS=scim:<app>=N) overrides it.
 */
export const SCIM_DEFAULT_REQUESTS_PER_MINUTE = 60;

/** What a group callback answers when the group id it was given no longer exists. */
const GROUP_GONE = Symbol('group gone');
type Gone = typeof GROUP_GONE;

const isStatus = (error: unknown, status: number) => error instanceof ScimHttpError && error.status === status;

/**
 * One SCIM 2.0 app (RFC 7643/7644) as system `scim:<app>`: users (created active, suspended with
 * `active: false`, deleted with DELETE) and group membership by group displayName.
 */
export function createScimAdapter(app: string, config: ScimAppConfig, deps: { api?: ScimApi } = {}): Adapter {
  if (!APP_NAME.test(app)) throw new Error(`SCIM app name "${app}" must be lower-case letters, digits and dashes, starting with a letter (it becomes the system scim:${app})`);
  if (!/^https?:\/\//.test(config.url)) throw new Error(`SCIM app "${app}": url must be the app's http(s) SCIM base URL, got "${config.url}"`);
  const system = `scim:${app}`;
  const api = deps.api ?? createScimApi(config);
  const description: AdapterDescription = {
    system,
    displayName: config.displayName ?? `${app} (SCIM)`,
    mode: 'live',
    entitlementTypes: SCIM_ENTITLEMENT_TYPES,
    defaultRateLimit: { requestsPerMinute: config.requestsPerMinute ?? SCIM_DEFAULT_REQUESTS_PER_MINUTE },
    dependsOn: [],
    supports: { deleteAccount: true, listMembers: true, listAccounts: true, expiringGrants: false },
  };

  /** displayName → group id, and back; per adapter (per app), for the life of the process. */
  const groupIds = new Map<string, string>();
  const groupNames = new Map<string, string>();
  /** Learned from GET /Users/{id}: the app returns the read-only `groups` attribute (RFC 7643 §4.1.2). */
  let userGroupsAttribute = false;
  /** Cleared when the app answers 400 invalidFilter to `externalId eq …`: it filters on userName only. */
  let externalIdFilter = true;

  const fail = (message: string, status?: number) => new AdapterError(message, { kind: 'permanent', system, status });

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classify(error, what, system);
    }
  }

  async function* iterate<T>(what: string, items: AsyncIterable<T>): AsyncIterable<T> {
    try {
      for await (const item of items) yield item;
    } catch (error) {
      throw classify(error, what, system);
    }
  }

  async function getUser(id: string): Promise<ScimUserShape | null> {
    const user = await call(`read user ${id}`, () => api.getUser(id));
    if (user && Array.isArray(user.groups)) userGroupsAttribute = true;
    return user;
  }

  /** The group with this displayName: exact first, then the one case-insensitive match (RFC 7643 §4.2: displayName is not caseExact). */
  async function groupId(name: string): Promise<string | null> {
    const cached = groupIds.get(name);
    if (cached) return cached;
    const found: ScimGroupShape[] = [];
    for await (const group of iterate(`find group "${name}"`, api.groups(eqFilter('displayName', name)))) found.push(group);
    const exact = found.filter((g) => g.displayName === name);
    const matches = exact.length > 0 ? exact : found.filter((g) => g.displayName?.toLowerCase() === name.toLowerCase());
    if (matches.length > 1) {
      throw fail(`${system} has ${matches.length} groups named "${name}" (ids ${matches.map((g) => g.id).join(', ')}); rename one in the app so the policy names one group`);
    }
    const group = matches[0];
    if (!group) return null;
    groupIds.set(name, group.id);
    groupNames.set(group.id, group.displayName ?? name);
    return group.id;
  }

  /**
   * Runs `fn` with the group's id. A cached id whose group has gone (deleted, or deleted and made
   * again under the same name) is looked up once more, so a stale cache never fails a write.
   */
  async function withGroup<T>(name: string, whenMissing: () => T, fn: (id: string) => Promise<T | Gone>): Promise<T> {
    const wasCached = groupIds.has(name);
    const id = await groupId(name);
    if (!id) return whenMissing();
    const result = await fn(id);
    if (result !== GROUP_GONE) return result;
    groupIds.delete(name);
    if (!wasCached) return whenMissing();
    const fresh = await groupId(name);
    if (!fresh) return whenMissing();
    const again = await fn(fresh);
    if (again !== GROUP_GONE) return again;
    groupIds.delete(name);
    return whenMissing();
  }

  /** A direct membership of the user in the group: from the user's `groups` where the app has it, else the group's `members`. */
  async function memberOf(userId: string, id: string): Promise<boolean | 'no-user' | Gone> {
    const user = await getUser(userId);
    if (!user) return 'no-user';
    if (Array.isArray(user.groups)) return user.groups.some((g) => g.value === id && g.type !== 'indirect');
    if (userGroupsAttribute) return false; // the app lists groups on users, and this one has none
    const group = await call(`read group ${id}`, () => api.getGroup(id));
    if (!group) return GROUP_GONE;
    return (group.members ?? []).some((m) => m.value === userId);
  }

  async function nameOf(id: string): Promise<string | null> {
    const known = groupNames.get(id);
    if (known !== undefined) return known;
    const group = await call(`read group ${id}`, () => api.getGroup(id, { members: false }));
    if (!group?.displayName) return null;
    groupNames.set(id, group.displayName);
    return group.displayName;
  }

  /** Each query's matches are checked here too: an app that ignored a filter would otherwise hand back someone else. */
  async function find(person: AdapterPerson): Promise<ScimUserShape | null> {
    // Immutable id first: an email changes (marriage, a typo fixed), the employee id does not.
    if (externalIdFilter && person.employeeId) {
      try {
        for await (const user of api.users(eqFilter('externalId', person.employeeId))) if (user.externalId === person.employeeId) return user;
      } catch (error) {
        if (!(error instanceof ScimHttpError && error.status === 400 && (error.scimType === 'invalidFilter' || /filter/i.test(error.detail ?? '')))) throw error;
        externalIdFilter = false;
      }
    }
    const email = person.email.toLowerCase();
    for await (const user of api.users(eqFilter('userName', person.email))) if (user.userName?.toLowerCase() === email) return user;
    return null;
  }

  async function reactivate(existing: AccountRef): Promise<{ account: AccountRef; outcome: 'applied' }> {
    await call(`reactivate user ${existing.id}`, () => api.patchUser(existing.id, setActiveBody(true)));
    return { account: { ...existing, status: 'active' }, outcome: 'applied' };
  }

  const adapter: Adapter = {
    system,
    describe: () => description,
    parseEntitlement: (entitlement) => parseScim(entitlement, system),

    async findAccount(person) {
      const user = await call(`find user ${person.email}`, () => find(person));
      return user ? toAccount(system, user) : null;
    },

    async ensureAccount(person) {
      const existing = await adapter.findAccount(person);
      if (existing?.status === 'active') return { account: existing, outcome: 'already_present' };
      if (existing) return reactivate(existing);
      let created: ScimUserShape;
      try {
        created = await api.createUser(newUserBody(person));
      } catch (error) {
        if (!isStatus(error, 409)) throw classify(error, `create user ${person.email}`, system);
        // RFC 7644 §3.3: 409 uniqueness. Someone made it between our find and our create (or it
        // was hidden from the filters): find it again rather than fail.
        const raced = await adapter.findAccount(person);
        if (raced?.status === 'active') return { account: raced, outcome: 'already_present' };
        if (raced) return reactivate(raced);
        const detail = (error as ScimHttpError).detail;
        throw fail(
          `${system} refused to create ${person.email} as a duplicate (409${detail ? `: ${detail}` : ''}), but no user has userName ${person.email} or externalId ${person.employeeId}; another user in the app holds this email: fix it in the app`,
          409,
        );
      }
      if (!created || typeof created.id !== 'string') throw fail(`${system} created ${person.email} but its answer has no user id; the app does not follow RFC 7644 §3.3`);
      return { account: toAccount(system, created), outcome: 'applied' };
    },

    async suspendAccount(account): Promise<RevokeResult> {
      const current = await getUser(account.id);
      if (!current || current.active === false) return { outcome: 'already_absent' };
      try {
        await api.patchUser(account.id, setActiveBody(false));
      } catch (error) {
        if (isStatus(error, 404)) return { outcome: 'already_absent' };
        throw classify(error, `suspend user ${account.id}`, system);
      }
      return { outcome: 'applied' };
    },

    async deleteAccount(account): Promise<RevokeResult> {
      const result = await call(`delete user ${account.id}`, () => api.deleteUser(account.id));
      return { outcome: result === 'deleted' ? 'applied' : 'already_absent' };
    },

    async grant(account, entitlement): Promise<GrantResult> {
      const name = groupNameOf(entitlement, system);
      const missing = (): never => {
        throw fail(`${system} has no group named "${name}" (for ${entitlement}); create it in the app (or push it from the IdP) or fix the policy`, 404);
      };
      return withGroup<GrantResult>(name, missing, async (id) => {
        const member = await memberOf(account.id, id);
        if (member === GROUP_GONE) return GROUP_GONE;
        if (member === 'no-user') throw fail(`${system} has no user ${account.id} (${account.email ?? account.login ?? 'unknown'}) to add to "${name}"; it was deleted in the app: ensureAccount makes it again`, 404);
        if (member) return { outcome: 'already_present', state: 'active' };
        try {
          await api.patchGroup(id, addMemberBody(account.id));
        } catch (error) {
          if (!isStatus(error, 404)) throw classify(error, `add ${account.id} to ${entitlement}`, system);
          if (!(await call(`read group ${id}`, () => api.getGroup(id, { members: false })))) return GROUP_GONE;
          throw fail(`${system} answered 404 adding ${account.id} to "${name}": the user is gone from the app; ensureAccount makes it again`, 404);
        }
        return { outcome: 'applied', state: 'active' };
      });
    },

    async revoke(account, entitlement): Promise<RevokeResult> {
      const name = groupNameOf(entitlement, system);
      const absent = (): RevokeResult => ({ outcome: 'already_absent' });
      return withGroup<RevokeResult>(name, absent, async (id) => {
        const member = await memberOf(account.id, id);
        if (member === GROUP_GONE) return GROUP_GONE;
        if (member !== true) return absent(); // not a member, or the user is gone: so is the membership
        try {
          await api.patchGroup(id, removeMemberBody(account.id));
        } catch (error) {
          // 404: the group or the user went in between. 400 noTarget: the filter matched no member
          // (RFC 7644 §3.5.2.2 / §3.12), which is how some apps say it was already removed.
          if (isStatus(error, 404) || (isStatus(error, 400) && (error as ScimHttpError).scimType === 'noTarget')) return absent();
          throw classify(error, `remove ${account.id} from ${entitlement}`, system);
        }
        return { outcome: 'applied' };
      });
    },

    async checkGrant(account, entitlement): Promise<ObservedGrant | null> {
      const name = groupNameOf(entitlement, system);
      return withGroup<ObservedGrant | null>(name, () => null, async (id) => {
        const group = await call(`read group ${id}`, () => api.getGroup(id));
        if (!group) return GROUP_GONE;
        return (group.members ?? []).some((m) => m.value === account.id) ? { entitlement, state: 'active' } : null;
      });
    },

    async *listGrants(account): AsyncIterable<ObservedGrant> {
      const user = await getUser(account.id);
      if (!user) return;
      if (Array.isArray(user.groups)) {
        for (const g of user.groups) {
          // Indirect memberships come through a nested group the attribute does not name: they are
          // not this person's grant to revoke, and SCIM cannot say which group they come from.
          if (!g.value || g.type === 'indirect') continue;
          const name = g.display ?? (await nameOf(g.value));
          const entitlement = name === null ? null : groupEntitlement(system, name);
          if (entitlement) yield { entitlement, state: 'active' };
        }
        return;
      }
      if (userGroupsAttribute) return; // the app lists groups on its users; this one has none
      // The app does not say which groups a user is in: read every group's members (paginated).
      for await (const group of iterate(`list groups of ${account.id}`, api.allGroups())) {
        if (!group.displayName || !(group.members ?? []).some((m) => m.value === account.id)) continue;
        const entitlement = groupEntitlement(system, group.displayName);
        if (entitlement) yield { entitlement, state: 'active' };
      }
    },

    async *listMembers(entitlement): AsyncIterable<AccountRef> {
      const name = groupNameOf(entitlement, system);
      const missing = (): never => {
        throw fail(`${system} has no group named "${name}" (for ${entitlement})`, 404);
      };
      const group = await withGroup<ScimGroupShape>(name, missing, async (id) => (await call(`read group ${id}`, () => api.getGroup(id))) ?? GROUP_GONE);
      for (const member of group.members ?? []) {
        // Nested groups are members too (RFC 7643 §4.2 members.type "Group"): only users are accounts.
        if (!member.value || (member.type !== undefined && member.type !== 'User')) continue;
        const user = await getUser(member.value);
        if (user) yield toAccount(system, user);
      }
    },

    async *listAccounts(): AsyncIterable<AccountRef> {
      for await (const user of iterate('list users', api.users())) yield toAccount(system, user);
    },
  };
  return adapter;
}

/** One adapter per app of SCIM_APPS (`{"figma":{"url":…,"token":…}}`), each its own `scim:<app>` system. */
export function createScimAppAdapters(apps: Record<string, ScimAppConfig> | undefined, defaults: { timeoutMs?: number } = {}): Adapter[] {
  return Object.entries(apps ?? {}).map(([app, config]) => createScimAdapter(app, { timeoutMs: defaults.timeoutMs, ...config }));
}
