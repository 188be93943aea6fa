import { type AccountRef, type Adapter, type AdapterDescription, AdapterError, type AdapterPerson, type GrantResult, type ObservedGrant, type RevokeResult } from '../types.js';
import { createJiraApi, type JiraApi, type JiraClientConfig, type JiraUserShape } from './client.js';
import { classify, jiraMessage, statusOf } from './errors.js';
import { groupUri, JIRA_ENTITLEMENT_TYPES, parseJira, roleIdFromUrl, sameGroup, SYSTEM, targetOf } from './mapping.js';

export type { JiraClientConfig } from './client.js';
export { JIRA_ENTITLEMENT_TYPES } from './mapping.js';

export interface JiraAdapterConfig extends JiraClientConfig {
  /**
   * Systems whose account must exist first. A site whose users are provisioned by SCIM from the
   * IdP (Atlassian Guard user provisioning) sets the IdP here (`['okta']`), so Gatehouse finds
   * the account the IdP made instead of inviting a second one.
   */
  dependsOn?: string[];
}

const describeFor = (config: JiraAdapterConfig): AdapterDescription => ({
  system: SYSTEM,
  displayName: `Jira Cloud (${config.baseUrl.replace(/^https?:\/\//, '').replace(/\/+$/, '')})`,
  mode: 'live',
  entitlementTypes: JIRA_ENTITLEMENT_TYPES,
  // Jira Cloud limits are cost-based and unpublished for API-token traffic ("REST API rate limits
  // are not published", https://developer.atlassian.com/cloud/jira/platform/rate-limiting/; API
  // token traffic is governed by the burst limits, not the points quota of apps). That page's own
  // sizing example puts one cost budget "on the brink of being rate limited" at 10 calls a
  // second; Gatehouse's calls all count against one budget (the token's user), so it starts at
  // half that: 5 a second. RATE_LIMITS=jira=… overrides it.
  defaultRateLimit: { requestsPerMinute: 300 },
  dependsOn: config.dependsOn ?? [],
  supports: { deleteAccount: false, listMembers: true, listAccounts: true, expiringGrants: false },
});

/**
 * Jira Cloud: the person's Atlassian account on the site, with Jira product access through the
 * configured access groups; project roles (`jira:project:PLAT#Developers`) and groups
 * (`jira:group:jira-software-users`). A project role held through a group actor is reported as
 * inherited from that group.
 */
export function createJiraAdapter(config: JiraAdapterConfig, deps: { api?: JiraApi } = {}): Adapter {
  const api = deps.api ?? createJiraApi(config);
  const description = describeFor(config);
  const accessGroups = api.accessGroups;
  /** project key → role name → role id. Jira Cloud's roles are shared by every project and rarely change. */
  const roleIds = new Map<string, Map<string, number>>();

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classify(error, what);
    }
  }

  const permanent = (message: string, status?: number) => new AdapterError(message, { kind: 'permanent', system: SYSTEM, status });

  const toRef = (user: JiraUserShape, status: AccountRef['status'], person?: AdapterPerson): AccountRef => ({
    system: SYSTEM,
    id: user.accountId!,
    login: null,
    email: user.emailAddress ?? person?.email ?? null,
    ...(person ? { employeeId: person.employeeId } : {}),
    status,
  });

  /**
   * The person's Atlassian account, by email. Jira does not store an employee id, so email is
   * the only key. `query` is a prefix match on display name and email; an exact email wins. A
   * user may hide their email (profile visibility): then the one `atlassian` account the query
   * found, with no email shown, is taken as theirs, since the query matched it on the hidden
   * email; several such accounts are ambiguous and match none.
   */
  async function findUser(person: AdapterPerson): Promise<JiraUserShape | null> {
    const email = person.email.trim().toLowerCase();
    const found = await call(`find the user with email ${person.email}`, () => api.searchUsers(person.email.trim()));
    const people = found.filter((u) => u.accountId && (u.accountType ?? 'atlassian') === 'atlassian');
    const exact = people.find((u) => u.emailAddress?.toLowerCase() === email);
    if (exact) return exact;
    if (people.length === 1 && !people[0]!.emailAddress) return people[0]!;
    return null;
  }

  /** The account's groups; null when Jira has no such account. */
  async function groupsOf(accountId: string): Promise<string[] | null> {
    try {
      return await api.userGroups(accountId);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw classify(error, `read the groups of ${accountId}`);
    }
  }

  const heldAccessGroups = (groups: string[]) => accessGroups.filter((g) => groups.some((h) => sameGroup(g, h)));

  /** Active when the account is active and in one of the access groups (it can use Jira). */
  async function statusOf_(user: JiraUserShape): Promise<AccountRef['status']> {
    if (user.active === false) return 'suspended';
    const groups = await groupsOf(user.accountId!);
    return groups && heldAccessGroups(groups).length > 0 ? 'active' : 'suspended';
  }

  async function addToGroup(group: string, accountId: string): Promise<'applied' | 'already_present'> {
    try {
      await api.addToGroup(group, accountId);
      return 'applied';
    } catch (error) {
      // Jira answers 400 when the user is already a member: check rather than trust the wording.
      if (statusOf(error) === 400 && ((await groupsOf(accountId)) ?? []).some((g) => sameGroup(g, group))) return 'already_present';
      if (statusOf(error) === 404) {
        throw permanent(`Jira add ${accountId} to group "${group}" failed: 404 ${jiraMessage((error as { body?: unknown }).body)} (check that the group exists in admin.atlassian.com, or fix the policy)`, 404);
      }
      throw classify(error, `add ${accountId} to group "${group}"`);
    }
  }

  /** The role id of `role` in `projectKey`; null when the project or the role is not there. */
  async function roleId(projectKey: string, role: string): Promise<{ id: number | null; known: string[] | null }> {
    const lookup = (roles: Map<string, number>) => roles.get(role) ?? [...roles].find(([name]) => name.toLowerCase() === role.toLowerCase())?.[1] ?? null;
    const cached = roleIds.get(projectKey);
    if (cached && lookup(cached) !== null) return { id: lookup(cached), known: [...cached.keys()] };
    let listed: Record<string, string>;
    try {
      listed = await api.projectRoles(projectKey);
    } catch (error) {
      if (statusOf(error) === 404) return { id: null, known: null };
      throw classify(error, `list the roles of project ${projectKey}`);
    }
    const roles = new Map<string, number>();
    for (const [name, url] of Object.entries(listed)) {
      const id = roleIdFromUrl(url);
      if (id !== null) roles.set(name, id);
    }
    roleIds.set(projectKey, roles);
    return { id: lookup(roles), known: [...roles.keys()] };
  }

  async function requireRole(entitlement: string, projectKey: string, role: string): Promise<number> {
    const { id, known } = await roleId(projectKey, role);
    if (known === null) throw permanent(`Jira has no project with key ${projectKey} (for ${entitlement}), or the account of JIRA_API_TOKEN cannot see it; fix the policy or the token's project permissions`, 404);
    if (id === null) throw permanent(`Jira project ${projectKey} has no role "${role}" (for ${entitlement}); its roles are ${known.map((r) => `"${r}"`).join(', ') || 'none'}`, 404);
    return id;
  }

  /** Whether the account holds a project role: directly, or through a group that is an actor of it. */
  async function observeRole(account: AccountRef, entitlement: string, projectKey: string, id: number): Promise<ObservedGrant | null> {
    const actors = await call(`read the actors of role ${id} in project ${projectKey}`, () => api.roleActors(projectKey, id));
    if (actors.some((a) => a.actorUser?.accountId === account.id)) return { entitlement, state: 'active' };
    const groupActors = actors.map((a) => a.actorGroup?.name).filter((n): n is string => Boolean(n));
    if (groupActors.length === 0) return null;
    const groups = (await groupsOf(account.id)) ?? [];
    const through = groupActors.find((g) => groups.some((h) => sameGroup(g, h)));
    return through ? { entitlement, state: 'active', inheritedFrom: groupUri(through) } : null;
  }

  const adapter: Adapter = {
    system: SYSTEM,
    describe: () => description,
    parseEntitlement: parseJira,

    async findAccount(person) {
      const user = await findUser(person);
      return user ? toRef(user, await statusOf_(user), person) : null;
    },

    async ensureAccount(person) {
      const existing = await findUser(person);
      if (existing) {
        if (existing.active === false) {
          throw permanent(
            `The Atlassian account of ${person.email} (${existing.accountId}) is deactivated; Jira's REST API cannot reactivate it. ` +
              'An organization admin must reactivate it in admin.atlassian.com (Directory → Users), or the IdP must, where it provisions Atlassian accounts',
          );
        }
        const groups = (await groupsOf(existing.accountId!)) ?? [];
        if (heldAccessGroups(groups).length > 0) return { account: toRef(existing, 'active', person), outcome: 'already_present' };
        // Present on the site without Jira access: a rehire whose access was removed, or an invited account.
        for (const group of accessGroups) await addToGroup(group, existing.accountId!);
        return { account: toRef(existing, 'active', person), outcome: 'applied' };
      }
      let created: JiraUserShape;
      try {
        created = await api.createUser(person.email.trim());
      } catch (error) {
        if (statusOf(error) === 400) {
          throw permanent(
            `Jira would not create a user for ${person.email}: ${jiraMessage((error as { body?: unknown }).body)}. ` +
              'Jira answers 400 when an Atlassian account with this email exists without Jira access (possibly with its email hidden or deactivated): ' +
              'give it Jira access in admin.atlassian.com, or provision Jira users from the IdP and set the jira adapter\'s dependsOn to it',
            400,
          );
        }
        throw classify(error, `create a user for ${person.email}`);
      }
      if (!created.accountId) throw permanent(`Jira created a user for ${person.email} but returned no accountId`);
      for (const group of accessGroups) await addToGroup(group, created.accountId);
      return { account: toRef(created, 'active', person), outcome: 'applied' };
    },

    /**
     * Takes the account out of the product-access groups: Jira stops letting them in; the
     * Atlassian account, its other products and its project roles stay (for audit and rehire).
     * See the README for why this, and not a suspension.
     */
    async suspendAccount(account): Promise<RevokeResult> {
      const groups = await groupsOf(account.id);
      if (groups === null) return { outcome: 'already_absent' };
      const held = heldAccessGroups(groups);
      if (held.length === 0) return { outcome: 'already_absent' };
      for (const group of held) {
        try {
          await api.removeFromGroup(group, account.id);
        } catch (error) {
          if (statusOf(error) !== 404) throw classify(error, `remove ${account.id} from access group "${group}"`);
        }
      }
      return { outcome: 'applied' };
    },

    async grant(account, entitlement): Promise<GrantResult> {
      const target = targetOf(entitlement);
      if (target.kind === 'group') {
        const groups = await groupsOf(account.id);
        if (groups === null) throw permanent(`Jira has no account ${account.id} (for ${entitlement}); ensure the account first`, 404);
        if (groups.some((g) => sameGroup(g, target.group))) return { outcome: 'already_present', state: 'active' };
        return { outcome: await addToGroup(target.group, account.id), state: 'active' };
      }
      const id = await requireRole(entitlement, target.projectKey, target.role);
      if (await observeRole(account, entitlement, target.projectKey, id)) return { outcome: 'already_present', state: 'active' };
      try {
        await api.addRoleUser(target.projectKey, id, account.id);
      } catch (error) {
        // Jira answers 400 when the user already acts in the role: read it back to be sure.
        if (statusOf(error) === 400 && (await observeRole(account, entitlement, target.projectKey, id))) return { outcome: 'already_present', state: 'active' };
        throw classify(error, `add ${account.id} to role "${target.role}" of project ${target.projectKey}`);
      }
      return { outcome: 'applied', state: 'active' };
    },

    async revoke(account, entitlement): Promise<RevokeResult> {
      const target = targetOf(entitlement);
      if (target.kind === 'group') {
        const groups = await groupsOf(account.id);
        if (!groups || !groups.some((g) => sameGroup(g, target.group))) return { outcome: 'already_absent' };
        try {
          await api.removeFromGroup(target.group, account.id);
        } catch (error) {
          if (statusOf(error) === 404) return { outcome: 'already_absent' };
          throw classify(error, `remove ${account.id} from group "${target.group}"`);
        }
        return { outcome: 'applied' };
      }
      const { id } = await roleId(target.projectKey, target.role);
      if (id === null) return { outcome: 'already_absent' };
      // Only the account as a direct actor is this grant; a group actor is revoked at the group.
      let actors;
      try {
        actors = await api.roleActors(target.projectKey, id);
      } catch (error) {
        if (statusOf(error) === 404) return { outcome: 'already_absent' };
        throw classify(error, `read the actors of role "${target.role}" in project ${target.projectKey}`);
      }
      if (!actors.some((a) => a.actorUser?.accountId === account.id)) return { outcome: 'already_absent' };
      try {
        await api.removeRoleUser(target.projectKey, id, account.id);
      } catch (error) {
        if (statusOf(error) === 404) return { outcome: 'already_absent' };
        throw classify(error, `remove ${account.id} from role "${target.role}" of project ${target.projectKey}`);
      }
      return { outcome: 'applied' };
    },

    async checkGrant(account, entitlement) {
      const target = targetOf(entitlement);
      if (target.kind === 'group') {
        const groups = (await groupsOf(account.id)) ?? [];
        return groups.some((g) => sameGroup(g, target.group)) ? { entitlement, state: 'active' } : null;
      }
      const { id } = await roleId(target.projectKey, target.role);
      return id === null ? null : observeRole(account, entitlement, target.projectKey, id);
    },

    /**
     * Members of a group (every page), or the direct user actors of a project role. Group actors
     * of a role are not expanded: their members show up against the group.
     */
    async *listMembers(entitlement) {
      const target = targetOf(entitlement);
      if (target.kind === 'group') {
        try {
          for await (const user of api.groupMembers(target.group)) if (user.accountId) yield toRef(user, user.active === false ? 'suspended' : 'active');
        } catch (error) {
          throw classify(error, `list the members of group "${target.group}"`);
        }
        return;
      }
      const id = await requireRole(entitlement, target.projectKey, target.role);
      const actors = await call(`read the actors of role "${target.role}" in project ${target.projectKey}`, () => api.roleActors(target.projectKey, id));
      for (const actor of actors) {
        const accountId = actor.actorUser?.accountId;
        if (accountId) yield { system: SYSTEM, id: accountId, login: null, email: null, status: 'active' };
      }
    },

    /** The accounts with Jira access: the members of the access groups, each once. */
    async *listAccounts() {
      const seen = new Set<string>();
      for (const group of accessGroups) {
        try {
          for await (const user of api.groupMembers(group)) {
            if (!user.accountId || seen.has(user.accountId) || (user.accountType ?? 'atlassian') !== 'atlassian') continue;
            seen.add(user.accountId);
            yield toRef(user, user.active === false ? 'suspended' : 'active');
          }
        } catch (error) {
          throw classify(error, `list the members of access group "${group}"`);
        }
      }
    },
  };
  return adapter;
}
