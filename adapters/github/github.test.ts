import { afterEach, describe, expect, it } from 'vitest';
import { defineAdapterConformance } from '../conformance.js';
import { FakeGitHub } from './fake-github.js';
import { createGitHubAdapter } from './index.js';

let fake: FakeGitHub | undefined;
afterEach(() => fake?.stop());

function setup() {
  fake = new FakeGitHub(2).start();
  fake.addOrg('acme');
  for (const login of ['sarahchen', 'zoe-a', 'madonna', ...Array.from({ length: 7 }, (_, i) => `page-${i}`)]) fake.addUser(login);
  for (let i = 0; i < 8; i++) fake.addTeam('acme', `team-${i}`);
  fake.addRepo('acme', 'platform-api');
  return { adapter: createGitHubAdapter({ token: 'ghp_test', org: 'acme', pace: false, timeoutMs: 250 }) };
}

defineAdapterConformance('github', {
  setup: async () => setup(),
  entitlements: Array.from({ length: 8 }, (_, i) => `github:team:acme/team-${i}#member`),
  invalidEntitlement: 'github:repo:acme/platform-api#writer',
  vendorCalls: () => fake!.requests.length,
  inject: async (_adapter, fault, { retryAfterMs }) => {
    const map = { '429': '429', '5xx': '500', timeout: 'timeout', '401': '401', '403': '403', '404-on-revoke': '404' } as const;
    fake!.failNext(map[fault], retryAfterMs, fault === '404-on-revoke' ? 'DELETE' : undefined);
  },
});

describe('github specifics', () => {
  const person = { employeeId: 'e1', email: 'sarah.chen@company.com', handles: { github: 'sarahchen' } };

  it('a repository role for someone outside the org is an invitation: applied and pending, verified once accepted', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(person);
    expect(account.status).toBe('pending');
    expect(await adapter.grant(account, 'github:repo:acme/platform-api#maintain')).toEqual({ outcome: 'applied', state: 'pending' });
    expect(await adapter.checkGrant!(account, 'github:repo:acme/platform-api#maintain')).toEqual({ entitlement: 'github:repo:acme/platform-api#maintain', state: 'pending' });
    expect(await adapter.grant(account, 'github:repo:acme/platform-api#maintain')).toEqual({ outcome: 'already_present', state: 'pending' });
    fake!.accept('sarahchen');
    expect(await adapter.checkGrant!(account, 'github:repo:acme/platform-api#maintain')).toEqual({ entitlement: 'github:repo:acme/platform-api#maintain', state: 'active' });
    // Verified through the permission-level endpoint.
    expect(fake!.requests).toContain('GET /repos/acme/platform-api/collaborators/sarahchen/permission');
  });

  it('a different level is not the entitlement: checking write when they hold maintain is null', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(person);
    fake!.accept('sarahchen');
    await adapter.grant(account, 'github:repo:acme/platform-api#maintain');
    expect(await adapter.checkGrant!(account, 'github:repo:acme/platform-api#write')).toBeNull();
    expect(await adapter.revoke(account, 'github:repo:acme/platform-api#write')).toEqual({ outcome: 'already_absent' });
    expect(await adapter.revoke(account, 'github:repo:acme/platform-api#maintain')).toEqual({ outcome: 'applied' });
  });

  it('the primary rate limit (403, remaining 0) is retryable until x-ratelimit-reset', async () => {
    const { adapter } = setup();
    fake!.failNext('403-ratelimit', 60_000);
    const error = await adapter.findAccount(person).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'retryable', rateLimited: true, status: 403 });
    expect((error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(55_000);
  });

  it('a GitHub that does not answer is a retryable timeout, named as one (not Octokit\'s made-up 500)', async () => {
    const { adapter } = setup();
    fake!.failNext('timeout');
    const error = await adapter.findAccount(person).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'retryable', status: undefined, message: 'GitHub find user sarahchen timed out: GitHub did not answer in time (Gatehouse will retry)' });
  });

  it('says precisely what is wrong with a GitHub entitlement', () => {
    const { adapter } = setup();
    expect(() => adapter.parseEntitlement('github:repo:acme/api#writer')).toThrow('"github:repo:acme/api#writer" is not a valid GitHub entitlement: "writer" is not a repository role; use read, triage, write, maintain, admin');
    expect(() => adapter.parseEntitlement('github:repo:acme/api')).toThrow('say which role after "#": read, triage, write, maintain, admin');
    expect(() => adapter.parseEntitlement('github:team:platform#member')).toThrow('name the team as <org>/<team slug>: github:team:acme/platform');
    expect(() => adapter.parseEntitlement('github:org:acme#admin')).toThrow('organization membership has no levels; drop "#admin"');
    expect(adapter.parseEntitlement('github:team:acme/platform')).toEqual({ uri: 'github:team:acme/platform', system: 'github', type: 'team', resource: 'acme/platform', level: null });
  });

  it('without a GitHub login on record, says where to put it', async () => {
    const { adapter } = setup();
    await expect(adapter.ensureAccount({ employeeId: 'e9', email: 'new@company.com' })).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('attributes.github_login') });
  });
});

describe('github with the production throttling plugin', () => {
  it('reports a secondary rate limit after one request instead of waiting and retrying', async () => {
    fake = new FakeGitHub(2).start();
    fake.addOrg('acme');
    fake.addUser('sarahchen');
    const adapter = createGitHubAdapter({ token: 'ghp_test', org: 'acme' });
    fake.failNext('429', 30_000);
    const error = await adapter.findAccount({ employeeId: 'e1', email: 'sarah.chen@company.com', handles: { github: 'sarahchen' } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'retryable', rateLimited: true, retryAfterMs: 30_000, requestId: 'ABCD:1234' });
    expect(fake.requests).toEqual(['GET /users/sarahchen']);
  });

  // Issue 27: lists page by `Link: rel="next"`
  // (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api); a next
  // link that points back at a page already read must end the listing, not loop forever.
  it('a next link that repeats ends listMembers with a permanent error at its second sight', { timeout: 10_000 }, async () => {
    const { adapter } = setup();
    fake!.stuckNextPage = '2';
    const before = fake!.requests.length;
    const error = await (async () => {
      for await (const _ of adapter.listMembers!('github:team:acme/team-0#member')) void _;
    })().then(() => new Error('expected a failure'), (e: unknown) => e);
    expect(error).toMatchObject({ name: 'AdapterError', kind: 'permanent', system: 'github', message: expect.stringMatching(/github GET \/orgs\/acme\/teams\/team-0\/members returned the same page token twice/) });
    // The first page, page 2, and page 2 again: then it stops.
    expect(fake!.requests.length - before).toBe(3);
  });
});
