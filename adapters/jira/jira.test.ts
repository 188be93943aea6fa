import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { defineAdapterConformance } from '../conformance.js';
import { AdapterError } from '../types.js';
import { classify, jiraRetryAfterMs } from './errors.js';
import { FakeJira } from './fake-jira.js';
import { createJiraAdapter, type JiraAdapterConfig } from './index.js';
import { JiraHttpError } from './client.js';
import { roleIdFromUrl } from './mapping.js';

const SITE = 'https://acme.atlassian.net';
let fake: FakeJira | undefined;
afterEach(() => fake?.stop());

function setup(options: Partial<JiraAdapterConfig> = {}) {
  fake = new FakeJira(SITE, 3).start();
  fake.addGroup('jira-software-users');
  fake.addGroup('jira-servicemanagement-users');
  for (let i = 0; i < 5; i++) fake.addGroup(`team-${i}`);
  fake.addProject('PLAT', 'Platform');
  fake.addProject('WEB', 'Web');
  const adapter = createJiraAdapter({ baseUrl: SITE, email: 'gatehouse@acme.com', apiToken: 'ATATT3xTEST', timeoutMs: 250, strictSchemas: true, ...options });
  return { adapter, fake };
}

defineAdapterConformance('jira', {
  setup: async () => setup(),
  // A group first: the conformance read-back across pages lists its members (3 a page).
  entitlements: [...Array.from({ length: 5 }, (_, i) => `jira:group:team-${i}`), 'jira:project:PLAT#Developers', 'jira:project:PLAT#Administrators', 'jira:project:WEB#Viewers'],
  invalidEntitlement: 'jira:projects:PLAT#Developers',
  vendorCalls: () => fake!.requests.length,
  inject: async (_adapter, fault, { retryAfterMs }) => {
    const map = { '429': '429', '5xx': '500', timeout: 'timeout', '401': '401', '403': '403', '404-on-revoke': '404' } as const;
    fake!.failNext(map[fault], retryAfterMs, fault === '404-on-revoke' ? 'DELETE' : undefined);
  },
});

const sarah = { employeeId: 'emp_1', email: 'sarah.chen@company.com', firstName: 'Sarah', lastName: 'Chen' };
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as AdapterError,
  );

describe('jira specifics', () => {
  it('creates the account with no products and gives Jira access through the access groups', async () => {
    const { adapter } = setup({ accessGroups: ['jira-software-users', 'jira-servicemanagement-users'] });
    const { account, outcome } = await adapter.ensureAccount(sarah);
    expect(outcome).toBe('applied');
    expect(account).toEqual({ system: 'jira', id: expect.any(String), login: null, email: 'sarah.chen@company.com', employeeId: 'emp_1', status: 'active' });
    expect(fake!.requests).toContain('POST /rest/api/3/user');
    expect(fake!.lastAuthorization).toBe(`Basic ${Buffer.from('gatehouse@acme.com:ATATT3xTEST').toString('base64')}`);
    expect(fake!.groupsOf(account.id).sort()).toEqual(['jira-servicemanagement-users', 'jira-software-users']);
  });

  it('finds an account whose email is hidden by profile visibility: the one atlassian account the query found', async () => {
    const { adapter } = setup();
    const user = fake!.addUser('sarah.chen@company.com', { hideEmail: true, displayName: 'Sarah Chen' });
    fake!.addUser('sarah.chen@company.com.bot', { accountType: 'app', displayName: 'Automation for Jira' });
    fake!.groups.get('jira-software-users')!.members.add(user.accountId);
    expect(await adapter.findAccount(sarah)).toMatchObject({ id: user.accountId, status: 'active', email: 'sarah.chen@company.com' });
    expect(fake!.requests).toContain('GET /rest/api/3/user/search?query=sarah.chen%40company.com&maxResults=50');
    // Two hidden accounts for one query: ambiguous, no match.
    fake!.addUser('sarah.chen@company.com', { hideEmail: true });
    expect(await adapter.findAccount(sarah)).toBeNull();
  });

  it('an exact email wins over prefix matches; another person with a visible email is not a match', async () => {
    const { adapter } = setup();
    fake!.addUser('sarah.chen@company.com.au');
    expect(await adapter.findAccount(sarah)).toBeNull();
    const real = fake!.addUser('Sarah.Chen@company.com');
    expect((await adapter.findAccount(sarah))?.id).toBe(real.accountId);
  });

  it('suspending removes Jira access (the access groups) and keeps project roles; ensuring again restores it (a rehire)', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    await adapter.grant(account, 'jira:group:team-1');
    await adapter.grant(account, 'jira:project:PLAT#Developers');
    expect(await adapter.suspendAccount(account)).toEqual({ outcome: 'applied' });
    expect(fake!.groupsOf(account.id)).toEqual(['team-1']);
    expect(fake!.users.get(account.id)!.active).toBe(true);
    expect(await adapter.findAccount(sarah)).toMatchObject({ id: account.id, status: 'suspended' });
    expect(await adapter.checkGrant!(account, 'jira:project:PLAT#Developers')).toEqual({ entitlement: 'jira:project:PLAT#Developers', state: 'active' });
    expect(await adapter.ensureAccount(sarah)).toEqual({ account: { ...account, status: 'active' }, outcome: 'applied' });
    expect(fake!.groupsOf(account.id).sort()).toEqual(['jira-software-users', 'team-1']);
    // Only the access groups were touched: no second POST /user.
    expect(fake!.requests.filter((r) => r === 'POST /rest/api/3/user')).toHaveLength(1);
  });

  it('a deactivated Atlassian account is suspended, and ensureAccount says to reactivate it in admin.atlassian.com', async () => {
    const { adapter } = setup();
    const user = fake!.addUser('sarah.chen@company.com', { active: false });
    fake!.groups.get('jira-software-users')!.members.add(user.accountId);
    expect(await adapter.findAccount(sarah)).toMatchObject({ id: user.accountId, status: 'suspended' });
    const error = await errorOf(adapter.ensureAccount(sarah));
    expect(error).toMatchObject({ kind: 'permanent' });
    expect(error.message).toContain('admin.atlassian.com');
    expect(fake!.requests.some((r) => r.startsWith('POST'))).toBe(false);
  });

  it('an account that exists without Jira access but cannot be found (hidden email, ambiguous) is a permanent error from Jira\'s 400', async () => {
    const { adapter } = setup();
    fake!.addUser('sarah.chen@company.com', { hideEmail: true });
    fake!.addUser('sarah.chen@company.com', { hideEmail: true });
    const error = await errorOf(adapter.ensureAccount(sarah));
    expect(error).toMatchObject({ kind: 'permanent', status: 400 });
    expect(error.message).toContain('dependsOn');
  });

  it('grants a project role by name through its id, and reads it back from the role actors', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    expect(await adapter.grant(account, 'jira:project:PLAT#Developers')).toEqual({ outcome: 'applied', state: 'active' });
    const developers = fake!.roleId('Developers');
    expect(fake!.projects.get('PLAT')!.actors.get(developers)!.users.has(account.id)).toBe(true);
    expect(fake!.requests).toContain(`POST /rest/api/3/project/PLAT/role/${developers}`);
    expect(await adapter.checkGrant!(account, 'jira:project:WEB#Developers')).toBeNull();
    // The role map is read once per project.
    await adapter.grant(account, 'jira:project:PLAT#Viewers');
    expect(fake!.requests.filter((r) => r === 'GET /rest/api/3/project/PLAT/role')).toHaveLength(1);
    expect([...(await collect(adapter.listMembers!('jira:project:PLAT#Developers')))].map((m) => m.id)).toEqual([account.id]);
  });

  it('a role held through a group actor is inherited from the group: grant is already present, revoke already absent', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    fake!.projects.get('PLAT')!.actors.get(fake!.roleId('Developers'))!.groups.add('team-3');
    await adapter.grant(account, 'jira:group:team-3');
    expect(await adapter.checkGrant!(account, 'jira:project:PLAT#Developers')).toEqual({ entitlement: 'jira:project:PLAT#Developers', state: 'active', inheritedFrom: 'jira:group:team-3' });
    expect(await adapter.grant(account, 'jira:project:PLAT#Developers')).toEqual({ outcome: 'already_present', state: 'active' });
    expect(await adapter.revoke(account, 'jira:project:PLAT#Developers')).toEqual({ outcome: 'already_absent' });
    expect(fake!.projects.get('PLAT')!.actors.get(fake!.roleId('Developers'))!.users.size).toBe(0);
  });

  it('Jira\'s 400 for a user already in the role reads back as already present (a grant racing another)', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    const developers = fake!.projects.get('PLAT')!.actors.get(fake!.roleId('Developers'))!;
    // Someone else adds them between Gatehouse's read and its write.
    fake!.onRequest = (line) => {
      if (line === `POST /rest/api/3/project/PLAT/role/${fake!.roleId('Developers')}`) developers.users.add(account.id);
    };
    expect(await adapter.grant(account, 'jira:project:PLAT#Developers')).toEqual({ outcome: 'already_present', state: 'active' });
  });

  it('a project or role that does not exist is a permanent error naming what there is; revoking it is already absent', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    const noRole = await errorOf(adapter.grant(account, 'jira:project:PLAT#Developer'));
    expect(noRole).toMatchObject({ kind: 'permanent' });
    expect(noRole.message).toContain('Jira project PLAT has no role "Developer"');
    expect(noRole.message).toContain('"Developers"');
    expect((await errorOf(adapter.grant(account, 'jira:project:NOPE#Developers'))).message).toContain('no project with key NOPE');
    expect(await adapter.revoke(account, 'jira:project:NOPE#Developers')).toEqual({ outcome: 'already_absent' });
    expect(await adapter.revoke(account, 'jira:project:PLAT#Developer')).toEqual({ outcome: 'already_absent' });
    const noGroup = await errorOf(adapter.grant(account, 'jira:group:no-such-group'));
    expect(noGroup).toMatchObject({ kind: 'permanent', status: 404 });
    expect(noGroup.message).toContain('no-such-group');
  });

  it('role names match case-insensitively when the exact name is not there', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    expect(await adapter.grant(account, 'jira:project:PLAT#developers')).toEqual({ outcome: 'applied', state: 'active' });
    expect(await adapter.checkGrant!(account, 'jira:project:PLAT#Developers')).toMatchObject({ state: 'active' });
  });

  it('does not retry a 429 itself: one request, Retry-After, and Atlassian\'s request id', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(sarah);
    fake!.failNext('429', 30_000);
    const before = fake!.requests.length;
    const error = await errorOf(adapter.grant(account, 'jira:group:team-0'));
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({ kind: 'retryable', rateLimited: true, retryAfterMs: 30_000, requestId: 'req-429', status: 429 });
    expect(fake!.requests.length - before).toBe(1);
  });

  it('falls back to X-RateLimit-Reset (ISO 8601) when there is no Retry-After', () => {
    const now = Date.parse('2026-03-02T10:00:00Z');
    expect(jiraRetryAfterMs(new Headers({ 'x-ratelimit-reset': '2026-03-02T10:01Z' }), now)).toBe(60_000);
    expect(jiraRetryAfterMs(new Headers({ 'retry-after': '5', 'x-ratelimit-reset': '2026-03-02T10:01Z' }), now)).toBe(5_000);
    expect(jiraRetryAfterMs(new Headers({ 'x-ratelimit-reset': 'soon' }), now)).toBeUndefined();
    const error = classify(new JiraHttpError('GET', '/x', 503, 'Service Unavailable', { errorMessages: ['busy'] }, new Headers({ 'x-ratelimit-reset': '2026-03-02T10:01Z' })), 'read', now);
    expect(error).toMatchObject({ kind: 'retryable', rateLimited: false, retryAfterMs: 60_000 });
  });

  it('quotes Jira\'s errorMessages and errors in permanent failures', () => {
    const error = classify(new JiraHttpError('POST', '/rest/api/3/user', 400, 'Bad Request', { errorMessages: ['Nope.'], errors: { emailAddress: 'Invalid' } }, new Headers({ 'x-arequestid': 'abc' })), 'create');
    expect(error).toMatchObject({ kind: 'permanent', status: 400, requestId: 'abc' });
    expect(error.message).toContain('Nope.; emailAddress: Invalid');
  });

  it('lists group members across pages and the accounts with Jira access', async () => {
    const { adapter } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { account } = await adapter.ensureAccount({ employeeId: `m${i}`, email: `m${i}@company.com` });
      ids.push(account.id);
      if (i % 2 === 0) await adapter.grant(account, 'jira:group:team-2');
    }
    const members = await collect(adapter.listMembers!('jira:group:team-2'));
    expect(members.map((m) => m.email)).toEqual(['m0@company.com', 'm2@company.com', 'm4@company.com', 'm6@company.com']);
    expect(fake!.requests.filter((r) => r.startsWith('GET /rest/api/3/group/member?groupname=team-2'))).toEqual([
      'GET /rest/api/3/group/member?groupname=team-2&startAt=0&maxResults=50',
      'GET /rest/api/3/group/member?groupname=team-2&startAt=3&maxResults=50',
    ]);
    await adapter.suspendAccount({ system: 'jira', id: ids[0]!, status: 'active' });
    expect((await collect(adapter.listAccounts!())).map((a) => a.id).sort()).toEqual(ids.slice(1).sort());
  });

  // Issue 27: group members page by startAt until isLast
  // (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-groups/#api-rest-api-3-group-member-get);
  // a Jira that answers the first page whatever startAt asks, never isLast, must end the listing.
  it('a page that does not advance (startAt ignored, never isLast) ends listMembers with a permanent error after two pages', { timeout: 10_000 }, async () => {
    const { adapter } = setup();
    for (let i = 0; i < 4; i++) {
      const { account } = await adapter.ensureAccount({ employeeId: `n${i}`, email: `n${i}@company.com` });
      await adapter.grant(account, 'jira:group:team-3');
    }
    fake!.ignoreStartAt = true;
    const before = fake!.requests.length;
    const error = await collect(adapter.listMembers!('jira:group:team-3')).then(() => new Error('expected a failure'), (e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({ kind: 'permanent', system: 'jira', message: expect.stringMatching(/jira GET \/rest\/api\/3\/group\/member returned a next offset \(3\) that does not advance past 3/) });
    expect(fake!.requests.slice(before).filter((r) => r.startsWith('GET /rest/api/3/group/member'))).toHaveLength(2);
  });

  it('says precisely what is wrong with a Jira entitlement', () => {
    const { adapter } = setup();
    expect(() => adapter.parseEntitlement('jira:project:PLAT')).toThrow('name the project role: jira:project:PLAT#<role name>');
    expect(() => adapter.parseEntitlement('jira:project:Platform#Developers')).toThrow('"Platform" is not a Jira project key');
    expect(() => adapter.parseEntitlement('jira:group:devs#admin')).toThrow('Jira groups have no levels; drop "#admin"');
    expect(() => adapter.parseEntitlement('jira:board:12')).toThrow('Jira has no type "board"');
    expect(() => adapter.parseEntitlement('jira:account#x')).toThrow('jira:account takes no project, group or role');
    expect(adapter.parseEntitlement('jira:project:PLAT_2#Service Desk Team')).toEqual({ uri: 'jira:project:PLAT_2#Service Desk Team', system: 'jira', type: 'project', resource: 'PLAT_2', level: 'Service Desk Team' });
  });

  it('reads the role id from the URL Jira lists roles by, and nothing else', () => {
    expect(roleIdFromUrl('https://acme.atlassian.net/rest/api/3/project/PLAT/role/10001')).toBe(10001);
    fc.assert(fc.property(fc.string(), (s) => {
      const id = roleIdFromUrl(s);
      return id === null || (Number.isInteger(id) && s.includes(`/role/${id}`));
    }));
  });

  it('dependsOn is configurable for sites whose users come from the IdP by SCIM', () => {
    expect(setup({ dependsOn: ['okta'] }).adapter.describe()).toMatchObject({ dependsOn: ['okta'], defaultRateLimit: { requestsPerMinute: 300 } });
  });
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
