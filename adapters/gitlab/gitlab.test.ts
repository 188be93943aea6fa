import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { defineAdapterConformance } from '../conformance.js';
import type { AdapterError } from '../types.js';
import { classify, gitlabRetryAfterMs } from './errors.js';
import { FakeGitLab } from './fake-gitlab.js';
import { createGitLabAdapter } from './index.js';
import { usernameFromEmail } from './mapping.js';

const URL_ = 'https://gitlab.example.com';
let fake: FakeGitLab | undefined;
afterEach(() => fake?.stop());

function setup(options: { group?: string } = {}) {
  fake = new FakeGitLab(URL_, 2).start();
  fake.addGroup('acme');
  for (let i = 0; i < 8; i++) fake.addGroup(`acme/team-${i}`);
  fake.addGroup('engineering');
  fake.addGroup('engineering/platform');
  fake.addProject('engineering/platform/api');
  return { adapter: createGitLabAdapter({ url: URL_, token: 'glpat-test', timeoutMs: 250, ...options }) };
}

defineAdapterConformance('gitlab', {
  setup: async () => setup(),
  entitlements: Array.from({ length: 8 }, (_, i) => `gitlab:group:acme/team-${i}#developer`),
  invalidEntitlement: 'gitlab:group:acme/team-0#developers',
  vendorCalls: () => fake!.requests.length,
  inject: async (_adapter, fault, { retryAfterMs }) => {
    const map = { '429': '429', '5xx': '500', timeout: 'timeout', '401': '401', '403': '403', '404-on-revoke': '404' } as const;
    fake!.failNext(map[fault], retryAfterMs, fault === '404-on-revoke' ? 'DELETE' : undefined);
  },
});

const sarah = { employeeId: 'e1', email: 'sarah.chen@company.com', firstName: 'Sarah', lastName: 'Chen' };
const errorOf = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as AdapterError);

describe('gitlab specifics', () => {
  it('creates a user from the email on a self-managed instance: username from the local part, confirmed, password reset mailed', async () => {
    const { adapter } = setup();
    const { account, outcome } = await adapter.ensureAccount(sarah);
    expect(outcome).toBe('applied');
    const user = fake!.users.get(Number(account.id))!;
    expect(user).toMatchObject({ username: 'sarah.chen', name: 'Sarah Chen', email: 'sarah.chen@company.com', state: 'active' });
    expect(account).toMatchObject({ system: 'gitlab', login: 'sarah.chen', email: 'sarah.chen@company.com', status: 'active' });
    expect(fake!.requests).toContain('GET /api/v4/users?search=sarah.chen%40company.com&page=1&per_page=100');
  });

  it('finds people by attributes.gitlab_login (handles.gitlab) before email', async () => {
    const { adapter } = setup();
    const existing = fake!.addUser('schen', 'sarah@personal.example');
    const found = await adapter.findAccount({ ...sarah, handles: { gitlab: 'SChen' } });
    expect(found).toMatchObject({ id: String(existing.id), login: 'schen', status: 'active' });
    expect(fake!.requests).toEqual(['GET /api/v4/users?username=SChen&page=1&per_page=100']);
  });

  it('on GitLab.com (no admin), a person without a GitLab username on record is a permanent error saying what to do', async () => {
    const { adapter } = setup();
    fake!.admin = false;
    const error = await errorOf(adapter.ensureAccount(sarah));
    expect(error).toMatchObject({ kind: 'permanent', status: 403 });
    expect(error.message).toContain('attributes.gitlab_login');
    expect(error.message).toContain('SAML/SCIM');
    // With the username on record, the existing user is used as is.
    fake!.addUser('sarahc', 'sarah.chen@company.com');
    expect(await adapter.ensureAccount({ ...sarah, handles: { gitlab: 'sarahc' } })).toMatchObject({ outcome: 'already_present', account: { login: 'sarahc' } });
  });

  it('a username taken by someone else is a permanent error naming the fix', async () => {
    const { adapter } = setup();
    fake!.addUser('sarah.chen', 'other@company.com');
    const error = await errorOf(adapter.ensureAccount(sarah));
    expect(error).toMatchObject({ kind: 'permanent', status: 409 });
    expect(error.message).toContain('Username has already been taken');
  });

  it('suspending blocks the user; ensuring again unblocks them (a rehire); a deactivated user is activated', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    expect(await adapter.suspendAccount(account)).toEqual({ outcome: 'applied' });
    expect(fake!.users.get(Number(account.id))!.state).toBe('blocked');
    expect(await adapter.findAccount(sarah)).toMatchObject({ status: 'suspended' });
    expect(await adapter.ensureAccount(sarah)).toMatchObject({ outcome: 'applied', account: { id: account.id, status: 'active' } });
    expect(fake!.users.get(Number(account.id))!.state).toBe('active');
    expect(fake!.requests).toContain(`POST /api/v4/users/${account.id}/unblock`);

    fake!.users.get(Number(account.id))!.state = 'deactivated';
    expect(await adapter.ensureAccount(sarah)).toMatchObject({ outcome: 'applied', account: { status: 'active' } });
    expect(fake!.requests).toContain(`POST /api/v4/users/${account.id}/activate`);
  });

  it('an LDAP-blocked user is not re-enabled by Gatehouse', async () => {
    const { adapter } = setup();
    fake!.addUser('sarah.chen', 'sarah.chen@company.com', 'ldap_blocked');
    await expect(adapter.ensureAccount(sarah)).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('LDAP') });
    expect(await adapter.suspendAccount((await adapter.findAccount(sarah))!)).toEqual({ outcome: 'already_absent' });
  });

  it('a Developer of a parent group holds Developer (and lower) of its subgroups and projects, reported as inherited; revoking the subgroup is already absent', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    expect(await adapter.grant(account, 'gitlab:group:engineering#developer')).toEqual({ outcome: 'applied', state: 'active' });
    expect(await adapter.checkGrant!(account, 'gitlab:group:engineering#developer')).toEqual({ entitlement: 'gitlab:group:engineering#developer', state: 'active', expiresAt: null });
    for (const e of ['gitlab:group:engineering/platform#developer', 'gitlab:group:engineering/platform#reporter', 'gitlab:project:engineering/platform/api#developer']) {
      expect(await adapter.checkGrant!(account, e)).toEqual({ entitlement: e, state: 'active', expiresAt: null, inheritedFrom: 'gitlab:group:engineering#developer' });
      expect(await adapter.grant(account, e)).toEqual({ outcome: 'already_present', state: 'active' });
      expect(await adapter.revoke(account, e)).toEqual({ outcome: 'already_absent' });
    }
    // Nothing direct was made on the subgroup, and the parent membership is untouched.
    expect(fake!.direct('groups', 'engineering/platform', Number(account.id))).toBeUndefined();
    expect(fake!.direct('groups', 'engineering', Number(account.id))).toMatchObject({ access_level: 30 });
    // Maintainer is more than the parent gives: granted directly on the subgroup.
    expect(await adapter.checkGrant!(account, 'gitlab:group:engineering/platform#maintainer')).toBeNull();
    expect(await adapter.grant(account, 'gitlab:group:engineering/platform#maintainer')).toEqual({ outcome: 'applied', state: 'active' });
    expect(fake!.direct('groups', 'engineering/platform', Number(account.id))).toMatchObject({ access_level: 40 });
    expect(await adapter.checkGrant!(account, 'gitlab:group:engineering/platform#maintainer')).toEqual({ entitlement: 'gitlab:group:engineering/platform#maintainer', state: 'active', expiresAt: null });
  });

  it('roles are ranked: granting another role changes the direct membership; the old role no longer reads back', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    await adapter.grant(account, 'gitlab:group:acme/team-1#developer');
    expect(await adapter.grant(account, 'gitlab:group:acme/team-1#maintainer')).toEqual({ outcome: 'applied', state: 'active' });
    expect(fake!.requests).toContain(`PUT /api/v4/groups/acme%2Fteam-1/members/${account.id}`);
    expect(fake!.direct('groups', 'acme/team-1', Number(account.id))).toMatchObject({ access_level: 40 });
    expect(await adapter.checkGrant!(account, 'gitlab:group:acme/team-1#developer')).toBeNull();
    expect(await adapter.revoke(account, 'gitlab:group:acme/team-1#developer')).toEqual({ outcome: 'already_absent' });
    expect(fake!.direct('groups', 'acme/team-1', Number(account.id))).toBeDefined();
    expect(await adapter.revoke(account, 'gitlab:group:acme/team-1#maintainer')).toEqual({ outcome: 'applied' });
    expect(fake!.direct('groups', 'acme/team-1', Number(account.id))).toBeUndefined();
  });

  it('passes expiresAt on as expires_at (YYYY-MM-DD), reads it back, and a new end date is a change', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    const e = 'gitlab:project:engineering/platform/api#reporter';
    expect(await adapter.grant(account, e, { expiresAt: '2026-12-31T17:00:00.000Z' })).toEqual({ outcome: 'applied', state: 'active' });
    expect(fake!.direct('projects', 'engineering/platform/api', Number(account.id))).toEqual({ access_level: 20, expires_at: '2026-12-31' });
    expect(await adapter.checkGrant!(account, e)).toEqual({ entitlement: e, state: 'active', expiresAt: '2026-12-31' });
    expect(await adapter.grant(account, e, { expiresAt: '2026-12-31' })).toEqual({ outcome: 'already_present', state: 'active' });
    expect(await adapter.grant(account, e, { expiresAt: '2027-03-31' })).toEqual({ outcome: 'applied', state: 'active' });
    expect(fake!.direct('projects', 'engineering/platform/api', Number(account.id))).toEqual({ access_level: 20, expires_at: '2027-03-31' });
    expect(adapter.describe().supports.expiringGrants).toBe(true);
  });

  it('a higher role inherited from a parent satisfies a lower one below it (GitLab refuses a direct role under an inherited one)', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    fake!.setMember('groups', 'engineering', Number(account.id), 40);
    fake!.setMember('groups', 'engineering/platform', Number(account.id), 20);
    // Direct reporter on the subgroup, inherited maintainer: developer there comes from the parent.
    expect(await adapter.checkGrant!(account, 'gitlab:group:engineering/platform#developer')).toEqual({
      entitlement: 'gitlab:group:engineering/platform#developer', state: 'active', expiresAt: null, inheritedFrom: 'gitlab:group:engineering#maintainer',
    });
    // Reporter is held directly: no inheritedFrom.
    expect(await adapter.checkGrant!(account, 'gitlab:group:engineering/platform#reporter')).toEqual({ entitlement: 'gitlab:group:engineering/platform#reporter', state: 'active', expiresAt: null });
    expect(await adapter.grant(account, 'gitlab:group:engineering/platform#developer')).toEqual({ outcome: 'already_present', state: 'active' });
    expect(await adapter.checkGrant!(account, 'gitlab:group:engineering/platform#owner')).toBeNull();
  });

  it('an expiry that is not a date is refused before any request', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    const before = fake!.requests.length;
    await expect(adapter.grant(account, 'gitlab:group:acme#developer', { expiresAt: 'next tuesday' })).rejects.toMatchObject({ kind: 'permanent' });
    expect(fake!.requests).toHaveLength(before);
  });

  it('lists direct members at one role across pages, and accounts from /users or from a group', async () => {
    const { adapter } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { account } = await adapter.ensureAccount({ employeeId: `e${i}`, email: `p${i}@company.com`, handles: { gitlab: `p${i}` } });
      await adapter.grant(account, i === 4 ? 'gitlab:group:acme#maintainer' : 'gitlab:group:acme#developer');
      ids.push(account.id);
    }
    const members = [];
    for await (const m of adapter.listMembers!('gitlab:group:acme#developer')) members.push(m.login);
    expect(members).toEqual(['p0', 'p1', 'p2', 'p3']);
    expect(fake!.requests.filter((r) => r.startsWith('GET /api/v4/groups/acme/members?'))).toHaveLength(3);
    const accounts = [];
    for await (const a of adapter.listAccounts!()) accounts.push(a.login);
    expect(accounts).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);

    const grouped = createGitLabAdapter({ url: URL_, token: 'glpat-test', group: 'acme' });
    const inGroup = [];
    for await (const a of grouped.listAccounts!()) inGroup.push(a.id);
    expect(inGroup).toEqual(ids);
  });

  // Issue 27: an x-next-page that does not advance (https://docs.gitlab.com/ee/api/rest/index.html#pagination)
  // must end the listing with an error, not loop or pass off a partial list as the whole.
  it('an x-next-page that does not advance ends listMembers with a permanent error after two pages', { timeout: 10_000 }, async () => {
    const { adapter } = setup();
    fake!.stuckNextPage = '2';
    const before = fake!.requests.length;
    const error = await errorOf((async () => {
      for await (const _ of adapter.listMembers!('gitlab:group:acme#developer')) void _;
    })());
    expect(error).toMatchObject({ kind: 'permanent', system: 'gitlab', message: expect.stringMatching(/gitlab GET groups\/acme\/members returned a next offset \(2\) that does not advance past 2/) });
    expect(fake!.requests.length - before).toBe(2);
  });

  it('makes one request per call: gitbeaker\'s own 429/502 retries are off', async () => {
    const { adapter } = setup();
    fake!.failNext('429', 30_000);
    const error = await errorOf(adapter.findAccount(sarah));
    expect(error).toMatchObject({ kind: 'retryable', rateLimited: true, status: 429, retryAfterMs: 30_000 });
    expect(error.message).toContain('Retry later');
    expect(fake!.requests).toHaveLength(1);
    fake!.failNext('500');
    expect(await errorOf(adapter.findAccount(sarah))).toMatchObject({ kind: 'retryable', status: 500 });
    expect(fake!.requests).toHaveLength(2);
  });

  it('a GitLab that does not answer is a retryable timeout, named as one', async () => {
    const { adapter } = setup();
    fake!.failNext('timeout');
    const error = await errorOf(adapter.findAccount(sarah));
    expect(error).toMatchObject({ kind: 'retryable', status: undefined, message: 'GitLab find the user with email sarah.chen@company.com timed out: GitLab did not answer in time (Gatehouse will retry)' });
  });

  it('403 is auth, with GitLab\'s message; a 404 on grant (no such group) is permanent', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    fake!.failNext('403');
    const error = await errorOf(adapter.grant(account, 'gitlab:group:acme#developer'));
    expect(error).toMatchObject({ kind: 'auth', status: 403 });
    expect(error.message).toContain('403 Forbidden');
    expect(error.requestId).toMatch(/^01FAKE/);
    // GET members/all on a missing group is a 404, read as "not a member"; the add then says why.
    const missing = await errorOf(adapter.grant(account, 'gitlab:group:nowhere#developer'));
    expect(missing).toMatchObject({ kind: 'permanent', status: 404, message: expect.stringContaining('404 Group Not Found') });
  });

  it('reads when to come back from RateLimit-Reset or RateLimit-ResetTime when there is no Retry-After', () => {
    const now = Date.parse('2021-01-05T10:59:30Z');
    expect(gitlabRetryAfterMs((h) => ({ 'ratelimit-reset': '1609844400' })[h], now)).toBe(30_000);
    expect(gitlabRetryAfterMs((h) => ({ 'ratelimit-resettime': 'Tue, 05 Jan 2021 11:00:00 GMT' })[h], now)).toBe(30_000);
    expect(gitlabRetryAfterMs(() => undefined, now)).toBeUndefined();
    expect(classify(new Error('fetch failed'), 'x')).toMatchObject({ kind: 'retryable' });
  });

  it('says precisely what is wrong with a GitLab entitlement', () => {
    const { adapter } = setup();
    expect(() => adapter.parseEntitlement('gitlab:group:eng#admin')).toThrow('"gitlab:group:eng#admin" is not a valid GitLab entitlement: "admin" is not a GitLab role; use guest, reporter, developer, maintainer, owner');
    expect(() => adapter.parseEntitlement('gitlab:group:eng')).toThrow('say which role after "#": guest, reporter, developer, maintainer, owner');
    expect(() => adapter.parseEntitlement('gitlab:project:api#reporter')).toThrow('name the project as <namespace>/<project>: gitlab:project:acme/api#reporter');
    expect(() => adapter.parseEntitlement('gitlab:group:eng//platform#developer')).toThrow('name the group by its full path');
    expect(() => adapter.parseEntitlement('gitlab:repo:acme/api#developer')).toThrow('GitLab has no type "repo"');
    expect(adapter.parseEntitlement('gitlab:group:engineering/platform#developer')).toEqual({ uri: 'gitlab:group:engineering/platform#developer', system: 'gitlab', type: 'group', resource: 'engineering/platform', level: 'developer' });
  });

  it('grant of gitlab:account is refused before any request', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    const before = fake!.requests.length;
    await expect(adapter.grant(account, 'gitlab:account')).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('ensureAccount') });
    expect(fake!.requests).toHaveLength(before);
  });

  it('usernames made from any email follow GitLab\'s username rules', () => {
    fc.assert(
      fc.property(fc.emailAddress(), fc.string(), (email, junk) => {
        for (const e of [email, `${junk}@company.com`]) {
          const u = usernameFromEmail(e);
          if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$/.test(u) || /\.(git|atom)$/i.test(u)) return false;
        }
        return true;
      }),
    );
    expect(usernameFromEmail('zoë.ångström@company.com')).toBe('zoe.angstrom');
    expect(usernameFromEmail('-.x.git@company.com')).toBe('x.git_');
    expect(usernameFromEmail('!!!@company.com')).toBe('user');
  });
});
