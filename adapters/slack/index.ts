import { type AccountRef, type Adapter, type AdapterDescription, AdapterError, type AdapterPerson, type GrantResult, type ObservedGrant, type RevokeResult } from '../types.js';
import { createSlackApi, type SlackApi, type SlackChannelShape, type SlackClientConfig } from './client.js';
import { classify, slackCode } from './errors.js';
import { INVITE_PREFIX, parseSlack, pendingAccount, scimToAccount, scimUserBody, SLACK_ENTITLEMENT_TYPES, targetOf, toAccount } from './mapping.js';

export type { SlackClientConfig } from './client.js';
export { SLACK_ENTITLEMENT_TYPES } from './mapping.js';

const SYSTEM = 'slack';

const describeFor = (scim: boolean): AdapterDescription => ({
  system: SYSTEM,
  displayName: scim ? 'Slack' : 'Slack (accounts by invitation)',
  mode: 'live',
  entitlementTypes: SLACK_ENTITLEMENT_TYPES,
  // Slack limits each Web API method per app per workspace by tier
  // (https://api.slack.com/docs/rate-limits): users.lookupByEmail and conversations.invite are
  // Tier 3 (50+/min), usergroups.users.update Tier 2 (20+/min). The orchestrator keeps one
  // bucket per system, so it starts at the strictest tier we call.
  defaultRateLimit: { requestsPerMinute: 20 },
  dependsOn: [],
  supports: { deleteAccount: false, listMembers: true, listAccounts: true, expiringGrants: false },
});

/**
 * Slack: channel and user group membership through the Web API with a bot token; accounts
 * created, reactivated and deactivated through SCIM when an admin token is configured, and
 * otherwise left to a person (invite them; Gatehouse waits for them to join).
 */
export function createSlackAdapter(config: SlackClientConfig, deps: { api?: SlackApi } = {}): Adapter {
  const api = deps.api ?? createSlackApi(config);
  const scim = api.scim;
  const description = describeFor(Boolean(scim));
  /** Channel name → channel, from conversations.list; loaded on first use, refreshed on a miss. */
  let channelCache: Map<string, SlackChannelShape> | undefined;
  /** User group handle → id, from usergroups.list; likewise. */
  let groupCache: Map<string, string> | undefined;
  /** Writes to one user group, one at a time in this process (usergroups.users.update replaces the whole list). */
  const groupWrites = new Map<string, Promise<unknown>>();

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classify(error, what);
    }
  }

  async function loadChannels(): Promise<Map<string, SlackChannelShape>> {
    const map = new Map<string, SlackChannelShape>();
    await call('list channels', async () => {
      for await (const c of api.channels()) if (!c.is_archived) map.set(c.name, c);
    });
    channelCache = map;
    return map;
  }

  async function findChannel(name: string): Promise<SlackChannelShape | null> {
    const cached = channelCache?.get(name);
    if (cached) return cached;
    // A miss may be a channel made (or a bot invited) since the list was read: read it again, once.
    return (await loadChannels()).get(name) ?? null;
  }

  const noChannel = (name: string, entitlement: string) =>
    new AdapterError(`Slack has no channel #${name}, or it is private and the bot is not in it: /invite @Gatehouse in #${name} (for ${entitlement})`, { kind: 'permanent', system: SYSTEM });

  async function requireChannel(name: string, entitlement: string): Promise<SlackChannelShape> {
    const channel = await findChannel(name);
    if (!channel) throw noChannel(name, entitlement);
    return channel;
  }

  /** A channel id that Slack no longer knows (deleted, or the bot removed from a private one): forget it and look again next time. */
  function staleChannel(name: string, entitlement: string, cause: unknown): AdapterError {
    channelCache?.delete(name);
    return new AdapterError(`Slack no longer knows the channel Gatehouse had for #${name} (channel_not_found); Gatehouse will look it up again (for ${entitlement})`, { kind: 'retryable', system: SYSTEM, cause });
  }

  async function groupId(handle: string): Promise<string | null> {
    const cached = groupCache?.get(handle);
    if (cached) return cached;
    const groups = await call('list user groups', () => api.usergroups());
    groupCache = new Map(groups.filter((g) => !g.date_delete).map((g) => [g.handle, g.id]));
    return groupCache.get(handle) ?? null;
  }

  async function requireGroup(handle: string, entitlement: string): Promise<string> {
    const id = await groupId(handle);
    if (!id) throw new AdapterError(`Slack has no enabled user group @${handle} (for ${entitlement}); create it in Slack or fix the policy`, { kind: 'permanent', system: SYSTEM });
    return id;
  }

  /**
   * The Slack member id behind an account. An `invite:<email>` account (no SCIM to create it) is
   * looked up again: once the person has joined Slack, their real id is used.
   */
  async function memberId(account: AccountRef): Promise<string | null> {
    if (!account.id.startsWith(INVITE_PREFIX)) return account.id;
    const email = account.id.slice(INVITE_PREFIX.length);
    const user = await call(`find user ${email}`, () => api.lookupByEmail(email));
    return user && !user.deleted ? user.id : null;
  }

  async function requireMember(account: AccountRef): Promise<string> {
    const id = await memberId(account);
    if (id) return id;
    const email = account.id.slice(INVITE_PREFIX.length);
    throw new AdapterError(`waiting for ${email} to join Slack (invite them; Gatehouse re-checks)`, { kind: 'retryable', system: SYSTEM });
  }

  async function inChannel(channelId: string, user: string, entitlement: string, name: string): Promise<boolean> {
    try {
      for await (const page of api.channelMembers(channelId)) if (page.includes(user)) return true;
      return false;
    } catch (error) {
      if (slackCode(error) === 'channel_not_found') throw staleChannel(name, entitlement, error);
      throw classify(error, `read members of #${name}`);
    }
  }

  async function groupUsers(id: string, handle: string): Promise<string[]> {
    return call(`read members of @${handle}`, () => api.usergroupUsers(id));
  }

  /** One read-modify-write of a user group at a time in this process (see README: the race). */
  function serialised<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = groupWrites.get(id) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => undefined);
    groupWrites.set(id, tail);
    void tail.then(() => {
      if (groupWrites.get(id) === tail) groupWrites.delete(id);
    });
    return next;
  }

  const emptyGroup = (handle: string, user: string, entitlement: string) =>
    new AdapterError(
      `Slack does not allow an empty user group: ${user} is the last member of @${handle}, so Gatehouse cannot remove them (for ${entitlement}); add someone else to @${handle} or disable the group in Slack`,
      { kind: 'permanent', system: SYSTEM },
    );

  /** Writes the full member list, then reads it back: says so when a concurrent change replaced ours. */
  async function writeGroup(id: string, handle: string, users: string[], user: string, wanted: boolean, entitlement: string): Promise<void> {
    try {
      await api.setUsergroupUsers(id, users);
    } catch (error) {
      const code = slackCode(error);
      if (code === 'invalid_users' || code === 'no_users_provided') {
        if (users.length === 0) throw emptyGroup(handle, user, entitlement);
        throw new AdapterError(`Slack refused the member list of @${handle} (${code}): one of ${users.join(',')} is not a member of this workspace (for ${entitlement})`, { kind: 'permanent', system: SYSTEM, cause: error });
      }
      if (code === 'no_such_subteam') {
        groupCache?.delete(handle);
        throw new AdapterError(`Slack no longer has user group @${handle} (no_such_subteam); Gatehouse will look it up again (for ${entitlement})`, { kind: 'retryable', system: SYSTEM, cause: error });
      }
      throw classify(error, `update members of @${handle}`);
    }
    const after = await groupUsers(id, handle);
    if (after.includes(user) !== wanted) {
      throw new AdapterError(
        `someone changed @${handle} at the same time and replaced Gatehouse's change (${user} is ${wanted ? 'missing' : 'still there'} after the write); Gatehouse will re-check (for ${entitlement})`,
        { kind: 'retryable', system: SYSTEM },
      );
    }
  }

  async function find(person: AdapterPerson): Promise<AccountRef | null> {
    const user = await call(`find user ${person.email}`, () => api.lookupByEmail(person.email));
    if (user) return toAccount(user);
    // Without SCIM, Slack cannot create the account: it is pending until the person joins.
    return scim ? null : pendingAccount(person);
  }

  async function check(account: AccountRef, entitlement: string): Promise<ObservedGrant | null> {
    const target = targetOf(entitlement);
    const user = await memberId(account);
    if (!user) return null;
    if (target.kind === 'channel') {
      const channel = await findChannel(target.name);
      if (!channel) return null;
      return (await inChannel(channel.id, user, entitlement, target.name)) ? { entitlement, state: 'active' } : null;
    }
    const id = await groupId(target.handle);
    if (!id) return null;
    return (await groupUsers(id, target.handle)).includes(user) ? { entitlement, state: 'active' } : null;
  }

  const adapter: Adapter = {
    system: SYSTEM,
    describe: () => description,
    parseEntitlement: parseSlack,

    findAccount: (person) => find(person),

    async ensureAccount(person) {
      const existing = await find(person);
      if (existing?.status === 'active') return { account: existing, outcome: 'already_present' };
      if (!scim) {
        // Slack's Web API cannot create or reactivate members. A person invites them (or an
        // admin reactivates them); grants wait, retryable, until they have joined.
        if (existing?.status === 'suspended') {
          throw new AdapterError(`${person.email} is deactivated in Slack; reactivating needs SLACK_SCIM_TOKEN (an admin token), so a Slack admin reactivates them by hand`, { kind: 'permanent', system: SYSTEM });
        }
        return { account: existing ?? pendingAccount(person), outcome: 'already_present' };
      }
      if (existing) {
        const user = await call(`reactivate user ${person.email}`, () => scim.setActive(existing.id, true));
        return { account: { ...scimToAccount(user), email: existing.email ?? person.email }, outcome: 'applied' };
      }
      try {
        const created = await scim.createUser(scimUserBody(person));
        return { account: scimToAccount(created), outcome: 'applied' };
      } catch (error) {
        if ((error as { status?: number }).status !== 409) throw classify(error, `create user ${person.email}`);
        // Taken: a deactivated member the Web API lookup does not show. Reactivate them.
        const found = await call(`find user ${person.email}`, () => scim.findByEmail(person.email));
        if (!found) throw classify(error, `create user ${person.email}`);
        const user = found.active ? found : await call(`reactivate user ${person.email}`, () => scim.setActive(found.id, true));
        return { account: scimToAccount(user), outcome: found.active ? 'already_present' : 'applied' };
      }
    },

    async suspendAccount(account): Promise<RevokeResult> {
      const id = await memberId(account);
      if (!id) return { outcome: 'already_absent' };
      if (scim) {
        const user = await call(`read user ${id}`, () => scim.getUser(id));
        if (!user || user.active === false) return { outcome: 'already_absent' };
        try {
          await scim.setActive(id, false);
        } catch (error) {
          if ((error as { status?: number }).status === 404) return { outcome: 'already_absent' };
          throw classify(error, `deactivate user ${id}`);
        }
        return { outcome: 'applied' };
      }
      const user = await call(`read user ${id}`, () => api.userInfo(id));
      if (!user || user.deleted) return { outcome: 'already_absent' };
      throw new AdapterError(
        `deactivating ${account.email ?? id} in Slack needs SLACK_SCIM_TOKEN (an admin token); until then IT deactivates them by hand (Slack admin → Manage members → Deactivate account)`,
        { kind: 'permanent', system: SYSTEM },
      );
    },

    async grant(account, entitlement): Promise<GrantResult> {
      const target = targetOf(entitlement);
      const user = await requireMember(account);
      if (target.kind === 'channel') {
        const channel = await requireChannel(target.name, entitlement);
        try {
          await api.invite(channel.id, user);
        } catch (error) {
          const code = slackCode(error);
          if (code === 'already_in_channel') return { outcome: 'already_present', state: 'active' };
          if (code === 'not_in_channel') {
            throw new AdapterError(`the Gatehouse bot is not in #${target.name}, so it cannot add anyone: /invite @Gatehouse in #${target.name} (for ${entitlement})`, { kind: 'permanent', system: SYSTEM, cause: error });
          }
          if (code === 'channel_not_found') throw staleChannel(target.name, entitlement, error);
          if (code === 'is_archived') throw new AdapterError(`#${target.name} is archived; unarchive it or fix the policy (for ${entitlement})`, { kind: 'permanent', system: SYSTEM, cause: error });
          throw classify(error, `add ${user} to #${target.name}`);
        }
        return { outcome: 'applied', state: 'active' };
      }
      const id = await requireGroup(target.handle, entitlement);
      return serialised(id, async () => {
        const current = await groupUsers(id, target.handle);
        if (current.includes(user)) return { outcome: 'already_present', state: 'active' } as const;
        await writeGroup(id, target.handle, [...current, user], user, true, entitlement);
        return { outcome: 'applied', state: 'active' } as const;
      });
    },

    async revoke(account, entitlement): Promise<RevokeResult> {
      const target = targetOf(entitlement);
      const user = await memberId(account);
      if (!user) return { outcome: 'already_absent' };
      if (target.kind === 'channel') {
        // An unknown name may be a private channel the bot cannot see: not provably absent.
        const channel = await requireChannel(target.name, entitlement);
        try {
          await api.kick(channel.id, user);
        } catch (error) {
          const code = slackCode(error);
          // The member or their account is gone: so is the membership.
          if (code === 'user_not_found') return { outcome: 'already_absent' };
          if (code === 'channel_not_found') throw staleChannel(target.name, entitlement, error);
          if (code === 'cant_kick_from_general') throw new AdapterError(`Slack does not let anyone be removed from #${target.name}, the workspace's general channel (for ${entitlement})`, { kind: 'permanent', system: SYSTEM, cause: error });
          if (code !== 'not_in_channel') throw classify(error, `remove ${user} from #${target.name}`);
          // "not_in_channel" is the member, or the bot itself: ask Slack which.
          const info = await call(`read #${target.name}`, () => api.channelInfo(channel.id));
          if (info.is_member === false) {
            throw new AdapterError(`the Gatehouse bot is not in #${target.name}, so it cannot remove anyone: /invite @Gatehouse in #${target.name} (for ${entitlement})`, { kind: 'permanent', system: SYSTEM, cause: error });
          }
          return { outcome: 'already_absent' };
        }
        return { outcome: 'applied' };
      }
      const id = await groupId(target.handle);
      if (!id) return { outcome: 'already_absent' };
      return serialised(id, async () => {
        const current = await groupUsers(id, target.handle);
        if (!current.includes(user)) return { outcome: 'already_absent' } as const;
        const remaining = current.filter((u) => u !== user);
        // Slack refuses an empty list (invalid_users): say so before asking.
        if (remaining.length === 0) throw emptyGroup(target.handle, user, entitlement);
        await writeGroup(id, target.handle, remaining, user, false, entitlement);
        return { outcome: 'applied' } as const;
      });
    },

    checkGrant: (account, entitlement) => check(account, entitlement),

    async *listMembers(entitlement) {
      const target = targetOf(entitlement);
      const toRef = (id: string): AccountRef => ({ system: SYSTEM, id, login: id, email: null, employeeId: null, status: 'active' });
      if (target.kind === 'channel') {
        const channel = await requireChannel(target.name, entitlement);
        // The bot is in every channel it manages; that is Gatehouse's plumbing, not someone's access.
        const bot = await call('read the bot user (auth.test)', () => api.botUserId());
        try {
          for await (const page of api.channelMembers(channel.id)) for (const id of page) if (id !== bot) yield toRef(id);
        } catch (error) {
          if (slackCode(error) === 'channel_not_found') throw staleChannel(target.name, entitlement, error);
          throw classify(error, `list members of #${target.name}`);
        }
        return;
      }
      const id = await requireGroup(target.handle, entitlement);
      for (const user of await groupUsers(id, target.handle)) yield toRef(user);
    },

    async *listAccounts() {
      try {
        for await (const user of api.users()) if (!user.is_bot && user.id !== 'USLACKBOT') yield toAccount(user);
      } catch (error) {
        throw classify(error, 'list users');
      }
    },
  };
  return adapter;
}
