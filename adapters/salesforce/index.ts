import { type AccountRef, type Adapter, type AdapterDescription, AdapterError, type AdapterPerson, type GrantResult, type ObservedGrant, type RevokeResult } from '../types.js';
import { createSalesforceApi, type LimitInfo, type SalesforceApi, type SalesforceClientConfig } from './client.js';
import { classify, statusOf } from './errors.js';
import {
  assignmentUri,
  grantTarget,
  newUserRecord,
  parseSalesforce,
  profileUri,
  SALESFORCE_ENTITLEMENT_TYPES,
  type SalesforceEntitlement,
  type SalesforceUserShape,
  soqlId,
  soqlString,
  SYSTEM,
  toAccount,
  USER_FIELDS,
  type UserDefaults,
  usernameOf,
} from './mapping.js';

export type { LimitInfo, SalesforceClientConfig } from './client.js';
export { SALESFORCE_ENTITLEMENT_TYPES } from './mapping.js';

export interface SalesforceAdapterConfig extends SalesforceClientConfig {
  /**
   * The profile a new user gets, and the one a user goes back to when their profile is revoked
   * (every user has exactly one). Default `Standard User`.
   */
  defaultProfile?: string;
  /** Appended to the email to make the Username (Usernames are unique across every Salesforce org; sandboxes use `.dev`). */
  usernameSuffix?: string;
  /** TimeZoneSidKey, LocaleSidKey, EmailEncodingKey and LanguageLocaleKey of new users. */
  userDefaults?: UserDefaults;
  /**
   * What FederationIdentifier (the SAML subject single sign-on matches) is set to on a new user:
   * the HRIS employee id (default), the email, or nothing.
   */
  federationId?: 'employeeId' | 'email' | 'none';
  /** Pass grant expiry to Salesforce as PermissionSetAssignment.ExpirationDate (the org must have assignment expiration enabled). */
  expiringGrants?: boolean;
  /** Systems whose account must exist first. Default `['okta']`: Salesforce users usually come from Okta. */
  dependsOn?: string[];
  /** Override the default rate limit (derived from Enterprise Edition's 100,000 requests per 24 hours). */
  requestsPerMinute?: number;
}

/** The Salesforce adapter, with the org's API usage as last read from `Sforce-Limit-Info`. */
export type SalesforceAdapter = Adapter & { readonly lastLimitInfo: LimitInfo | null };

/**
 * Salesforce API request allocation: Enterprise Edition orgs get 100,000 requests per rolling 24
 * hours plus 1,000 per Salesforce license; 100,000 / 1,440 minutes ≈ 69 a minute, shared with
 * every other integration of the org. https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm
 */
export const DEFAULT_REQUESTS_PER_MINUTE = Math.floor(100_000 / (24 * 60));

interface AssignmentRow {
  Id: string;
  PermissionSetGroupId?: string | null;
  ExpirationDate?: string | null;
  PermissionSet?: { Name: string; NamespacePrefix?: string | null } | null;
  PermissionSetGroup?: { DeveloperName: string; NamespacePrefix?: string | null } | null;
}

/**
 * Salesforce: users (created with the default profile, deactivated to suspend, reactivated for a
 * rehire), the profile, permission set and permission set group assignments.
 */
export function createSalesforceAdapter(config: SalesforceAdapterConfig, deps: { api?: SalesforceApi } = {}): SalesforceAdapter {
  const api = deps.api ?? createSalesforceApi(config);
  const defaultProfile = config.defaultProfile ?? 'Standard User';
  const ids = new Map<string, string>();

  const description: AdapterDescription = {
    system: SYSTEM,
    displayName: 'Salesforce',
    mode: 'live',
    entitlementTypes: SALESFORCE_ENTITLEMENT_TYPES,
    defaultRateLimit: { requestsPerMinute: config.requestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE },
    dependsOn: config.dependsOn ?? ['okta'],
    supports: { deleteAccount: false, listMembers: true, listAccounts: true, expiringGrants: Boolean(config.expiringGrants) },
  };

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classify(error, what);
    }
  }

  async function all<T>(what: string, soql: string): Promise<T[]> {
    return call(what, async () => {
      const out: T[] = [];
      for await (const row of api.query<T>(soql)) out.push(row);
      return out;
    });
  }

  async function* stream<T>(what: string, soql: string): AsyncIterable<T> {
    try {
      yield* api.query<T>(soql);
    } catch (error) {
      throw classify(error, what);
    }
  }

  const key = (t: Exclude<SalesforceEntitlement, { kind: 'account' }>) => (t.kind === 'profile' ? `profile:${t.name.toLowerCase()}` : `${t.kind}:${t.namespace ?? ''}__${t.name.toLowerCase()}`);
  const namespaceIs = (ns: string | null) => (ns === null ? 'NamespacePrefix = null' : `NamespacePrefix = ${soqlString(ns)}`);

  /** The id of the profile, permission set or group named; null when the org has none. Cached. */
  async function idOf(target: Exclude<SalesforceEntitlement, { kind: 'account' }>): Promise<string | null> {
    const k = key(target);
    const cached = ids.get(k);
    if (cached) return cached;
    let soql: string;
    if (target.kind === 'profile') soql = `SELECT Id, Name FROM Profile WHERE Name = ${soqlString(target.name)}`;
    else if (target.kind === 'permission-set') {
      // Not the permission sets profiles own (IsOwnedByProfile): those are the profile itself.
      soql = `SELECT Id, Name, NamespacePrefix FROM PermissionSet WHERE Name = ${soqlString(target.name)} AND ${namespaceIs(target.namespace)} AND IsOwnedByProfile = false`;
    } else soql = `SELECT Id, DeveloperName, NamespacePrefix FROM PermissionSetGroup WHERE DeveloperName = ${soqlString(target.name)} AND ${namespaceIs(target.namespace)}`;
    const [row] = await all<{ Id: string }>(`find ${target.kind} "${target.name}"`, soql);
    if (row) ids.set(k, row.Id);
    return row?.Id ?? null;
  }

  async function requireId(entitlement: string, target: Exclude<SalesforceEntitlement, { kind: 'account' }>): Promise<string> {
    const id = await idOf(target);
    if (!id) {
      const what = target.kind === 'profile' ? 'profile named' : target.kind === 'permission-set' ? 'permission set with the API name' : 'permission set group with the developer name';
      throw new AdapterError(`Salesforce has no ${what} "${target.kind === 'profile' ? target.name : (target.namespace ? `${target.namespace}__` : '') + target.name}" (for ${entitlement}); create it in Salesforce Setup or fix the policy`, {
        kind: 'permanent',
        system: SYSTEM,
        status: 404,
      });
    }
    return id;
  }

  async function readUser(id: string): Promise<(SalesforceUserShape & { ProfileId?: string }) | null> {
    const [user] = await all<SalesforceUserShape & { ProfileId?: string }>(`read user ${id}`, `SELECT ${USER_FIELDS}, ProfileId FROM User WHERE Id = ${soqlId(id)}`);
    return user ?? null;
  }

  /** The one user among several: the one the email names as Username, then an active one. */
  function best(users: SalesforceUserShape[], username: string): SalesforceUserShape | null {
    const rank = (u: SalesforceUserShape) => (u.Username.toLowerCase() === username.toLowerCase() ? 2 : 0) + (u.IsActive ? 1 : 0);
    return [...users].sort((a, b) => rank(b) - rank(a))[0] ?? null;
  }

  async function find(person: AdapterPerson): Promise<AccountRef | null> {
    const username = usernameOf(person, config.usernameSuffix);
    // The immutable id first: an email changes (marriage, a typo fixed), the employee id does not.
    if (person.employeeId) {
      const emp = soqlString(person.employeeId);
      const byId = await all<SalesforceUserShape>(`find user ${person.employeeId}`, `SELECT ${USER_FIELDS} FROM User WHERE FederationIdentifier = ${emp} OR EmployeeNumber = ${emp}`);
      const user = best(byId, username);
      if (user) return toAccount(user);
    }
    const byEmail = await all<SalesforceUserShape>(
      `find user ${person.email}`,
      `SELECT ${USER_FIELDS} FROM User WHERE Username = ${soqlString(username)} OR Email = ${soqlString(person.email)}`,
    );
    // An email can be shared or reused: a user that carries someone else's employee number is not theirs.
    const theirs = byEmail.filter((u) => !u.EmployeeNumber || u.EmployeeNumber === person.employeeId);
    const user = best(theirs, username);
    return user ? toAccount(user) : null;
  }

  async function createUser(person: AdapterPerson): Promise<AccountRef> {
    const profileId = await idOf({ kind: 'profile', name: defaultProfile });
    if (!profileId) {
      throw new AdapterError(`Salesforce has no profile named "${defaultProfile}" for new users; set the adapter's defaultProfile (SALESFORCE_DEFAULT_PROFILE) to one the org has`, { kind: 'permanent', system: SYSTEM });
    }
    const mode = config.federationId ?? 'employeeId';
    const federationId = mode === 'employeeId' ? person.employeeId : mode === 'email' ? person.email : null;
    const record = newUserRecord(person, { profileId, defaults: config.userDefaults, usernameSuffix: config.usernameSuffix, federationId });
    let id: string;
    try {
      id = await api.create('User', record);
    } catch (error) {
      if (statusOf(error).errorCode === 'DUPLICATE_USERNAME') {
        throw new AdapterError(
          `Salesforce refused the username ${record.Username}: it is taken, in this org or another (Salesforce usernames are unique across all orgs); set SALESFORCE_USERNAME_SUFFIX, or link the existing user by setting its EmployeeNumber to ${person.employeeId}`,
          { kind: 'permanent', system: SYSTEM, status: 400, cause: error },
        );
      }
      throw classify(error, `create user ${person.email}`);
    }
    // Read back what Salesforce stored (it may normalise Username and Email), so that findAccount returns the same account.
    const created = await readUser(id);
    if (!created) throw new AdapterError(`Salesforce created user ${id} for ${person.email} but does not return it yet (Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM });
    return toAccount(created);
  }

  async function assignments(accountId: string, field: 'PermissionSetId' | 'PermissionSetGroupId', targetId: string): Promise<string[]> {
    const rows = await all<{ Id: string }>(
      `find assignments of ${accountId}`,
      `SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = ${soqlId(accountId)} AND ${field} = ${soqlId(targetId)}`,
    );
    return rows.map((r) => r.Id);
  }

  const adapter: SalesforceAdapter = {
    system: SYSTEM,
    get lastLimitInfo() {
      return api.lastLimitInfo;
    },
    describe: () => description,
    parseEntitlement: parseSalesforce,

    findAccount: (person) => find(person),

    async ensureAccount(person) {
      const existing = await find(person);
      if (existing?.status === 'active') return { account: existing, outcome: 'already_present' };
      if (existing) {
        // A deactivated user is reactivated (a rehire), keeping their history and assignments.
        await call(`reactivate user ${existing.id}`, () => api.update('User', existing.id, { IsActive: true }));
        return { account: { ...existing, status: 'active' }, outcome: 'applied' };
      }
      return { account: await createUser(person), outcome: 'applied' };
    },

    async suspendAccount(account): Promise<RevokeResult> {
      // Salesforce does not delete users: deactivation blocks sign-in and frees the licence.
      const current = await readUser(account.id);
      if (!current || !current.IsActive) return { outcome: 'already_absent' };
      await call(`deactivate user ${account.id}`, () => api.update('User', account.id, { IsActive: false }));
      return { outcome: 'applied' };
    },

    async grant(account, entitlement, options): Promise<GrantResult> {
      const target = grantTarget(entitlement);
      const id = await requireId(entitlement, target);
      if (target.kind === 'profile') {
        // One profile per user: granting one replaces the one held.
        const user = await readUser(account.id);
        if (!user) throw new AdapterError(`Salesforce has no user ${account.id} to give ${entitlement}`, { kind: 'permanent', system: SYSTEM, status: 404 });
        if (user.ProfileId === id) return { outcome: 'already_present', state: 'active' };
        await call(`set profile of ${account.id} to ${target.name}`, () => api.update('User', account.id, { ProfileId: id }));
        return { outcome: 'applied', state: 'active' };
      }
      const field = target.kind === 'permission-set' ? 'PermissionSetId' : 'PermissionSetGroupId';
      const expires = config.expiringGrants && options?.expiresAt ? options.expiresAt : undefined;
      try {
        await api.create('PermissionSetAssignment', { AssigneeId: account.id, [field]: id, ...(expires ? { ExpirationDate: expires } : {}) });
        return { outcome: 'applied', state: 'active' };
      } catch (error) {
        // Salesforce's answer to an assignment that exists: 400 DUPLICATE_VALUE.
        if (statusOf(error).errorCode !== 'DUPLICATE_VALUE') throw classify(error, `assign ${entitlement} to ${account.id}`);
      }
      if (expires) {
        // Present already: carry the expiry over, so Salesforce still ends it when it should.
        for (const psa of await assignments(account.id, field, id)) {
          await call(`set expiry of ${entitlement} for ${account.id}`, () => api.update('PermissionSetAssignment', psa, { ExpirationDate: expires }));
        }
      }
      return { outcome: 'already_present', state: 'active' };
    },

    async revoke(account, entitlement): Promise<RevokeResult> {
      const target = grantTarget(entitlement);
      const id = await idOf(target);
      if (!id) return { outcome: 'already_absent' };
      if (target.kind === 'profile') {
        const user = await readUser(account.id);
        if (!user || user.ProfileId !== id) return { outcome: 'already_absent' };
        if (target.name.toLowerCase() === defaultProfile.toLowerCase()) {
          throw new AdapterError(
            `${entitlement} cannot be revoked: it is the default profile, and every Salesforce user has exactly one profile. Grant the user another profile, or suspend the account`,
            { kind: 'permanent', system: SYSTEM },
          );
        }
        const fallback = await requireId(`the default profile`, { kind: 'profile', name: defaultProfile });
        await call(`set profile of ${account.id} back to ${defaultProfile}`, () => api.update('User', account.id, { ProfileId: fallback }));
        return { outcome: 'applied' };
      }
      const field = target.kind === 'permission-set' ? 'PermissionSetId' : 'PermissionSetGroupId';
      let removed = false;
      for (const psa of await assignments(account.id, field, id)) {
        try {
          await api.destroy('PermissionSetAssignment', psa);
          removed = true;
        } catch (error) {
          // Gone in the meantime (404 NOT_FOUND / ENTITY_IS_DELETED): so much the better.
          if (statusOf(error).status !== 404) throw classify(error, `remove ${entitlement} from ${account.id}`);
        }
      }
      return { outcome: removed ? 'applied' : 'already_absent' };
    },

    async *listGrants(account): AsyncIterable<ObservedGrant> {
      const [user] = await all<{ Profile?: { Name: string } | null }>(`read profile of ${account.id}`, `SELECT Id, Profile.Name FROM User WHERE Id = ${soqlId(account.id)}`);
      if (!user) return;
      if (user.Profile?.Name) yield { entitlement: profileUri(user.Profile.Name), state: 'active' };
      // Every user also holds the permission set their profile owns (IsOwnedByProfile): that is the profile, listed above.
      const soql =
        'SELECT Id, PermissionSetGroupId, ExpirationDate, PermissionSet.Name, PermissionSet.NamespacePrefix, PermissionSetGroup.DeveloperName, PermissionSetGroup.NamespacePrefix ' +
        `FROM PermissionSetAssignment WHERE AssigneeId = ${soqlId(account.id)} AND PermissionSet.IsOwnedByProfile = false`;
      for await (const row of stream<AssignmentRow>(`list assignments of ${account.id}`, soql)) {
        const grant: ObservedGrant =
          row.PermissionSetGroupId && row.PermissionSetGroup
            ? { entitlement: assignmentUri('permission-set-group', row.PermissionSetGroup.DeveloperName, row.PermissionSetGroup.NamespacePrefix), state: 'active' }
            : { entitlement: assignmentUri('permission-set', row.PermissionSet?.Name ?? row.Id, row.PermissionSet?.NamespacePrefix), state: 'active' };
        if (row.ExpirationDate) grant.expiresAt = row.ExpirationDate;
        yield grant;
      }
    },

    async *listMembers(entitlement) {
      const target = grantTarget(entitlement);
      const id = await requireId(entitlement, target);
      if (target.kind === 'profile') {
        for await (const user of stream<SalesforceUserShape>(`list users of ${entitlement}`, `SELECT ${USER_FIELDS} FROM User WHERE ProfileId = ${soqlId(id)}`)) yield toAccount(user);
        return;
      }
      const field = target.kind === 'permission-set' ? 'PermissionSetId' : 'PermissionSetGroupId';
      const fields = USER_FIELDS.split(', ')
        .map((f) => `Assignee.${f}`)
        .join(', ');
      for await (const row of stream<{ Assignee: SalesforceUserShape | null }>(`list members of ${entitlement}`, `SELECT Id, ${fields} FROM PermissionSetAssignment WHERE ${field} = ${soqlId(id)}`)) {
        if (row.Assignee) yield toAccount(row.Assignee);
      }
    },

    async *listAccounts() {
      // People's users only: not the automated, integration, guest or portal users Salesforce keeps.
      for await (const user of stream<SalesforceUserShape>('list users', `SELECT ${USER_FIELDS} FROM User WHERE UserType = 'Standard'`)) yield toAccount(user);
    },
  };
  return adapter;
}
