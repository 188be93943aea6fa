import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { defineAdapterConformance } from '../conformance.js';
import type { AccountRef, AdapterError } from '../types.js';
import { classify } from './errors.js';
import { BOT_TOKEN, FakeSlack, SCIM_TOKEN } from './fake-slack.js';
import { createSlackAdapter } from './index.js';
import { userNameFor } from './mapping.js';

let fake: FakeSlack | undefined;
afterEach(() => fake?.stop());

function setup(options: { scim?: boolean } = {}) {
  fake = new FakeSlack(2).start();
  for (let i = 0; i < 8; i++) fake.addChannel(`team-${i}`);
  return { adapter: createSlackAdapter({ token: BOT_TOKEN, scimToken: options.scim === false ? undefined : SCIM_TOKEN, timeoutMs: 250 }) };
}

defineAdapterConformance('slack', {
  setup: async () => setup(),
  entitlements: Array.from({ length: 8 }, (_, i) => `slack:channel:team-${i}`),
  invalidEntitlement: 'slack:channels:team-0',
  vendorCalls: () => fake!.requests.length,
  inject: async (_adapter, fault, { retryAfterMs }) => {
    // Slack answers auth and permission failures with HTTP 200 and an error code, not 401/403;
    // a membership that is not there is `not_in_channel` from conversations.kick.
    const map = { '429': '429', '5xx': '5xx', timeout: 'timeout', '401': 'invalid_auth', '403': 'missing_scope', '404-on-revoke': 'not_in_channel' } as const;
    fake!.failNext(map[fault], retryAfterMs, fault === '404-on-revoke' ? 'conversations.kick' : undefined);
  },
});

const sarah = { employeeId: 'e1', email: 'sarah.chen@company.com', firstName: 'Sarah', lastName: 'Chen' };
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as AdapterError,
  );
const members = (channel: string) => [...fake!.channelByName(channel)!.members];

describe('slack specifics: accounts', () => {
  it('creates a member through SCIM and finds them by email through the Web API', async () => {
    const { adapter } = setup();
    const { account, outcome } = await adapter.ensureAccount({ ...sarah, title: 'Engineer' });
    expect(outcome).toBe('applied');
    expect(fake!.requests).toContain('SCIM POST Users');
    const user = fake!.users.get(account.id)!;
    expect(user).toMatchObject({ email: 'sarah.chen@company.com', name: 'sarah.chen', realName: 'Sarah Chen', deleted: false });
    expect(account).toEqual({ system: 'slack', id: user.id, login: user.id, email: 'sarah.chen@company.com', employeeId: null, status: 'active' });
  });

  it('suspends by SCIM deactivation (active=false), and ensuring again reactivates the same member', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    expect(await adapter.suspendAccount(account)).toEqual({ outcome: 'applied' });
    expect(fake!.requests).toContain(`SCIM PATCH Users/${account.id}`);
    expect(fake!.users.get(account.id)!.deleted).toBe(true);
    expect(await adapter.findAccount(sarah)).toMatchObject({ id: account.id, status: 'suspended' });
    expect(await adapter.ensureAccount(sarah)).toMatchObject({ outcome: 'applied', account: { id: account.id, status: 'active' } });
    expect(fake!.users.get(account.id)!.deleted).toBe(false);
  });

  it('a taken email that the Web API lookup does not show is found through SCIM and reactivated, not created twice', async () => {
    const { adapter } = setup();
    const id = fake!.addUser('sarah.chen@company.com', { deleted: true });
    // The Web API lookup does not show them (users_not_found), SCIM's POST says the email is taken.
    fake!.failNext('users_not_found', 0, 'users.lookupByEmail');
    const { account, outcome } = await adapter.ensureAccount(sarah);
    expect({ id: account.id, outcome }).toEqual({ id, outcome: 'applied' });
    expect(fake!.users.get(id)!.deleted).toBe(false);
    expect([...fake!.users.values()].filter((u) => u.email === sarah.email)).toHaveLength(1);
  });

  it('without SCIM, a new person is pending as invite:<email>, grants wait (retryable) until they join, then use their member id', async () => {
    const { adapter } = setup({ scim: false });
    const first = await adapter.ensureAccount(sarah);
    expect(first).toEqual({ outcome: 'already_present', account: { system: 'slack', id: 'invite:sarah.chen@company.com', login: null, email: sarah.email, employeeId: null, status: 'pending' } });
    expect(await adapter.findAccount(sarah)).toEqual(first.account);
    const waiting = await errorOf(adapter.grant(first.account, 'slack:channel:team-1'));
    expect(waiting).toMatchObject({ kind: 'retryable', message: 'waiting for sarah.chen@company.com to join Slack (invite them; Gatehouse re-checks)' });
    expect(await adapter.checkGrant!(first.account, 'slack:channel:team-1')).toBeNull();
    expect(await adapter.revoke(first.account, 'slack:channel:team-1')).toEqual({ outcome: 'already_absent' });
    expect(await adapter.suspendAccount(first.account)).toEqual({ outcome: 'already_absent' });
    // They accept the invitation; the stored invite: account now resolves to them.
    const id = fake!.addUser(sarah.email);
    expect(await adapter.grant(first.account, 'slack:channel:team-1')).toEqual({ outcome: 'applied', state: 'active' });
    expect(members('team-1')).toContain(id);
    expect(await adapter.checkGrant!(first.account, 'slack:channel:team-1')).toEqual({ entitlement: 'slack:channel:team-1', state: 'active' });
    expect(await adapter.ensureAccount(sarah)).toMatchObject({ outcome: 'already_present', account: { id, status: 'active' } });
  });

  it('without SCIM, suspending an active member is a permanent error naming SLACK_SCIM_TOKEN; a deactivated one is already absent', async () => {
    const { adapter } = setup({ scim: false });
    const id = fake!.addUser(sarah.email);
    const account = (await adapter.findAccount(sarah))!;
    const error = await errorOf(adapter.suspendAccount(account));
    expect(error).toMatchObject({ kind: 'permanent' });
    expect(error.message).toContain('needs SLACK_SCIM_TOKEN (an admin token)');
    expect(fake!.users.get(id)!.deleted).toBe(false);
    fake!.users.get(id)!.deleted = true;
    expect(await adapter.suspendAccount(account)).toEqual({ outcome: 'already_absent' });
    expect(await adapter.findAccount(sarah)).toMatchObject({ status: 'suspended' });
  });

  it('lists accounts across pages, without bots, deactivated members as suspended', async () => {
    const { adapter } = setup();
    const a = fake!.addUser('a@company.com');
    const b = fake!.addUser('b@company.com', { deleted: true });
    fake!.addUser('ci@company.com', { bot: true });
    const seen: AccountRef[] = [];
    for await (const account of adapter.listAccounts!()) seen.push(account);
    expect(seen.map((s) => [s.id, s.status])).toEqual([
      [a, 'active'],
      [b, 'suspended'],
    ]);
    expect(fake!.requests.filter((r) => r === 'users.list').length).toBeGreaterThanOrEqual(2);
  });

  // Issue 27: users.list pages by response_metadata.next_cursor
  // (https://api.slack.com/docs/pagination); a cursor that repeats must end the listing at its
  // second sight, not loop forever.
  it('a next_cursor that repeats ends listAccounts with a permanent error after two pages', { timeout: 10_000 }, async () => {
    const { adapter } = setup();
    fake!.addUser('a@company.com');
    fake!.stuckNextCursor = Buffer.from('offset:2').toString('base64');
    const before = fake!.requests.length;
    const error = await (async () => {
      for await (const _ of adapter.listAccounts!()) void _;
    })().then(() => new Error('expected a failure'), (e: unknown) => e);
    expect(error).toMatchObject({ name: 'AdapterError', kind: 'permanent', system: 'slack', message: expect.stringMatching(/slack users\.list returned the same page token twice/) });
    expect(fake!.requests.slice(before).filter((r) => r === 'users.list')).toHaveLength(2);
  });
});

describe('slack specifics: channels', () => {
  it('invites by channel name, resolved once through the paginated conversations.list and cached', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    await adapter.grant(account, 'slack:channel:team-6');
    await adapter.grant(account, 'slack:channel:team-7');
    expect(members('team-6')).toContain(account.id);
    expect(members('team-7')).toContain(account.id);
    // 8 channels, 2 a page: one full listing (4 pages), then the cache.
    expect(fake!.requests.filter((r) => r === 'conversations.list')).toHaveLength(4);
  });

  it('a channel made after the list was read is found by reading it again, once', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    await adapter.grant(account, 'slack:channel:team-0');
    fake!.addChannel('brand-new');
    expect(await adapter.grant(account, 'slack:channel:brand-new')).toEqual({ outcome: 'applied', state: 'active' });
  });

  it('an unknown or invisible private channel is permanent, saying to invite the bot', async () => {
    const { adapter } = setup();
    fake!.addChannel('secret', { private: true, botMember: false });
    const { account } = await adapter.ensureAccount(sarah);
    const error = await errorOf(adapter.grant(account, 'slack:channel:secret'));
    expect(error).toMatchObject({ kind: 'permanent' });
    expect(error.message).toContain('no channel #secret, or it is private and the bot is not in it: /invite @Gatehouse in #secret');
    // Once the bot is in it, the private channel is visible and works.
    fake!.channelByName('secret')!.members.add(fake!.botUserId);
    expect(await adapter.grant(account, 'slack:channel:secret')).toEqual({ outcome: 'applied', state: 'active' });
    expect(await adapter.checkGrant!(account, 'slack:channel:secret')).toEqual({ entitlement: 'slack:channel:secret', state: 'active' });
  });

  it('a public channel the bot is not in: grant is permanent with the advice; revoke asks Slack which one was not in it', async () => {
    const { adapter } = setup();
    fake!.addChannel('lobby', { botMember: false });
    const { account } = await adapter.ensureAccount(sarah);
    const error = await errorOf(adapter.grant(account, 'slack:channel:lobby'));
    expect(error).toMatchObject({ kind: 'permanent', message: 'the Gatehouse bot is not in #lobby, so it cannot add anyone: /invite @Gatehouse in #lobby (for slack:channel:lobby)' });
    // Slack's kick says not_in_channel for the bot, too: not proof that the member is gone.
    fake!.channelByName('lobby')!.members.add(account.id);
    fake!.failNext('not_in_channel', 0, 'conversations.kick');
    expect(await errorOf(adapter.revoke(account, 'slack:channel:lobby'))).toMatchObject({ kind: 'permanent', message: expect.stringContaining('/invite @Gatehouse in #lobby') });
  });

  it('a channel deleted after it was cached is retryable, and looked up afresh next time', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    await adapter.grant(account, 'slack:channel:team-0');
    fake!.channels.delete(fake!.channelByName('team-1')!.id);
    expect(await errorOf(adapter.grant(account, 'slack:channel:team-1'))).toMatchObject({ kind: 'retryable', message: expect.stringContaining('channel_not_found') });
    expect(await errorOf(adapter.grant(account, 'slack:channel:team-1'))).toMatchObject({ kind: 'permanent', message: expect.stringContaining('no channel #team-1') });
  });

  it('leaves the bot out of channel members', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    await adapter.grant(account, 'slack:channel:team-2');
    expect(members('team-2')).toContain(fake!.botUserId);
    const listed: string[] = [];
    for await (const m of adapter.listMembers!('slack:channel:team-2')) listed.push(m.id);
    expect(listed).toEqual([account.id]);
  });

  it('cannot remove anyone from #general', async () => {
    const { adapter } = setup();
    fake!.addChannel('general', { general: true });
    const { account } = await adapter.ensureAccount(sarah);
    await adapter.grant(account, 'slack:channel:general');
    expect(await errorOf(adapter.revoke(account, 'slack:channel:general'))).toMatchObject({ kind: 'permanent', message: expect.stringContaining('general channel') });
  });
});

describe('slack specifics: user groups', () => {
  function withGroup() {
    const { adapter } = setup();
    const other = fake!.addUser('lead@company.com');
    const id = fake!.addUsergroup('oncall-platform', [other]);
    return { adapter, other, group: () => fake!.usergroups.get(id)! };
  }

  it('adds by read-modify-write of the full list, keeping the members already there', async () => {
    const { adapter, other, group } = withGroup();
    const { account } = await adapter.ensureAccount(sarah);
    expect(await adapter.grant(account, 'slack:usergroup:oncall-platform')).toEqual({ outcome: 'applied', state: 'active' });
    expect(group().users).toEqual([other, account.id]);
    expect(await adapter.grant(account, 'slack:usergroup:oncall-platform')).toEqual({ outcome: 'already_present', state: 'active' });
    expect(await adapter.checkGrant!(account, 'slack:usergroup:oncall-platform')).toEqual({ entitlement: 'slack:usergroup:oncall-platform', state: 'active' });
    expect(await adapter.revoke(account, 'slack:usergroup:oncall-platform')).toEqual({ outcome: 'applied' });
    expect(group().users).toEqual([other]);
    expect(await adapter.revoke(account, 'slack:usergroup:oncall-platform')).toEqual({ outcome: 'already_absent' });
    expect(await adapter.checkGrant!(account, 'slack:usergroup:oncall-platform')).toBeNull();
    // Read, write, read back.
    expect(fake!.requests.filter((r) => r.startsWith('usergroups.users.'))).toEqual([
      'usergroups.users.list', 'usergroups.users.update', 'usergroups.users.list',
      'usergroups.users.list',
      'usergroups.users.list',
      'usergroups.users.list', 'usergroups.users.update', 'usergroups.users.list',
      'usergroups.users.list',
      'usergroups.users.list',
    ]);
  });

  it('concurrent grants in this process are serialised, so neither replaces the other', async () => {
    const { adapter, other, group } = withGroup();
    const a = (await adapter.ensureAccount(sarah)).account;
    const b = (await adapter.ensureAccount({ employeeId: 'e2', email: 'bo@company.com', firstName: 'Bo' })).account;
    const results = await Promise.all([adapter.grant(a, 'slack:usergroup:oncall-platform'), adapter.grant(b, 'slack:usergroup:oncall-platform')]);
    expect(results.map((r) => r.outcome)).toEqual(['applied', 'applied']);
    expect(group().users.sort()).toEqual([other, a.id, b.id].sort());
  });

  it('says so when a concurrent change replaced ours (retryable), and when it kept ours, succeeds', async () => {
    const { adapter, other, group } = withGroup();
    const { account } = await adapter.ensureAccount(sarah);
    // Someone else's full-list write lands right after ours, from a list read before it.
    fake!.afterGroupWrite = (g) => {
      g.users = [other];
      fake!.afterGroupWrite = undefined;
    };
    const error = await errorOf(adapter.grant(account, 'slack:usergroup:oncall-platform'));
    expect(error).toMatchObject({ kind: 'retryable', message: expect.stringContaining('someone changed @oncall-platform at the same time') });
    // Another admin adds someone right after us, keeping our member: fine.
    const third = fake!.addUser('third@company.com');
    fake!.afterGroupWrite = (g) => {
      g.users.push(third);
      fake!.afterGroupWrite = undefined;
    };
    expect(await adapter.grant(account, 'slack:usergroup:oncall-platform')).toEqual({ outcome: 'applied', state: 'active' });
    expect(group().users).toEqual([other, account.id, third]);
  });

  it('will not empty a user group: removing the last member is a permanent error that says what to do', async () => {
    const { adapter, other, group } = withGroup();
    const account = { system: 'slack', id: other, login: other, status: 'active' } as const;
    const error = await errorOf(adapter.revoke(account, 'slack:usergroup:oncall-platform'));
    expect(error).toMatchObject({ kind: 'permanent' });
    expect(error.message).toContain('Slack does not allow an empty user group');
    expect(error.message).toContain('add someone else to @oncall-platform or disable the group in Slack');
    expect(fake!.requests).not.toContain('usergroups.users.update');
    expect(group().users).toEqual([other]);
  });

  it('an unknown user group is permanent; revoking from it is already absent', async () => {
    const { adapter } = withGroup();
    const { account } = await adapter.ensureAccount(sarah);
    expect(await errorOf(adapter.grant(account, 'slack:usergroup:nope'))).toMatchObject({ kind: 'permanent', message: expect.stringContaining('no enabled user group @nope') });
    expect(await adapter.revoke(account, 'slack:usergroup:nope')).toEqual({ outcome: 'already_absent' });
  });

  it('lists user group members', async () => {
    const { adapter, other } = withGroup();
    const { account } = await adapter.ensureAccount(sarah);
    await adapter.grant(account, 'slack:usergroup:oncall-platform');
    const listed: string[] = [];
    for await (const m of adapter.listMembers!('slack:usergroup:oncall-platform')) listed.push(m.login!);
    expect(listed).toEqual([other, account.id]);
  });
});

describe('slack specifics: errors and parsing', () => {
  it('missing_scope is an auth error naming the scope Slack says is needed', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    fake!.scopes.delete('channels:manage');
    const error = await errorOf(adapter.grant(account, 'slack:channel:team-0'));
    expect(error.kind).toBe('auth');
    expect(error.message).toContain('the Slack app lacks the `channels:manage` scope');
  });

  it('a bad token is auth; Slack\'s fatal_error is retryable; a 429 is one request, with Retry-After', async () => {
    const { adapter } = setup();
    const wrong = createSlackAdapter({ token: 'xoxb-wrong', timeoutMs: 250 });
    expect(await errorOf(wrong.findAccount(sarah))).toMatchObject({ kind: 'auth', message: expect.stringContaining('invalid_auth') });
    fake!.failNext('fatal_error');
    expect(await errorOf(adapter.findAccount(sarah))).toMatchObject({ kind: 'retryable' });
    fake!.failNext('429', 30_000);
    const before = fake!.requests.length;
    expect(await errorOf(adapter.findAccount(sarah))).toMatchObject({ kind: 'retryable', rateLimited: true, retryAfterMs: 30_000, status: 429 });
    expect(fake!.requests.length - before).toBe(1);
  });

  it('SCIM failures: a 429 with Retry-After, a 401 is auth naming SLACK_SCIM_TOKEN, a timeout is retryable', async () => {
    const { adapter } = setup();
    fake!.failNext('429', 12_000, 'SCIM');
    expect(await errorOf(adapter.ensureAccount(sarah))).toMatchObject({ kind: 'retryable', rateLimited: true, retryAfterMs: 12_000 });
    fake!.failNext('scim-401', 0, 'SCIM');
    expect(await errorOf(adapter.ensureAccount(sarah))).toMatchObject({ kind: 'auth', status: 401, message: expect.stringContaining('SLACK_SCIM_TOKEN') });
    fake!.failNext('timeout', 0, 'SCIM');
    expect(await errorOf(adapter.ensureAccount(sarah))).toMatchObject({ kind: 'retryable', message: expect.stringContaining('timed out') });
  });

  it('an HTTP 5xx keeps Slack\'s request id', () => {
    const error = classify({ code: 'slack_webapi_http_error', statusCode: 502, headers: { 'x-slack-req-id': 'abc' } }, 'x');
    expect(error).toMatchObject({ kind: 'retryable', status: 502, requestId: 'abc' });
  });

  it('says precisely what is wrong with a Slack entitlement', () => {
    const { adapter } = setup();
    expect(() => adapter.parseEntitlement('slack:channel:#sales')).toThrow('"slack:channel:#sales" is not a valid Slack entitlement: write the channel name without "#"');
    expect(() => adapter.parseEntitlement('slack:channel:sales#admin')).toThrow('Slack channels have no levels; drop "#admin"');
    expect(() => adapter.parseEntitlement('slack:channel:Sales')).toThrow('"Sales" is not a Slack channel name');
    expect(() => adapter.parseEntitlement('slack:usergroup:@oncall')).toThrow('write the handle without "@"');
    expect(() => adapter.parseEntitlement('slack:group:x')).toThrow('Slack has no type "group"; it has slack:account, slack:channel:<channel name> and slack:usergroup:<handle>');
    expect(adapter.parseEntitlement('slack:channel:営業')).toEqual({ uri: 'slack:channel:営業', system: 'slack', type: 'channel', resource: '営業', level: null });
    expect(adapter.parseEntitlement('slack:usergroup:oncall.platform')).toMatchObject({ type: 'usergroup', resource: 'oncall.platform' });
    expect(() => adapter.parseEntitlement('slack:account#x')).toThrow('slack:account takes no channel');
  });

  it('granting slack:account is refused: that is ensureAccount', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    expect(await errorOf(adapter.grant(account, 'slack:account'))).toMatchObject({ kind: 'permanent', message: expect.stringContaining('made by ensureAccount') });
  });

  it('usernames for SCIM are valid Slack usernames for any email', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        const name = userNameFor(email);
        return /^[a-z0-9._-]{1,21}$/.test(name);
      }),
    );
    expect(userNameFor('Zoë.Ångström@company.com')).toBe('zoe.angstrom');
  });
});
