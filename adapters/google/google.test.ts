import { afterEach, describe, expect, it } from 'vitest';
import { defineAdapterConformance } from '../conformance.js';
import { FakeGoogle, fakeServiceAccountKey } from './fake-google.js';
import { createGoogleAdapter } from './index.js';

const KEY = fakeServiceAccountKey();
let fake: FakeGoogle | undefined;
afterEach(() => fake?.stop());

function setup() {
  fake = new FakeGoogle(2).start();
  for (let i = 0; i < 8; i++) fake.addGroup(`team-${i}@company.com`);
  return { adapter: createGoogleAdapter({ serviceAccountKey: KEY, adminEmail: 'admin@company.com', customer: 'my_customer', timeoutMs: 250 }) };
}

defineAdapterConformance('google', {
  setup: async () => setup(),
  entitlements: Array.from({ length: 8 }, (_, i) => `google:group:team-${i}@company.com`),
  invalidEntitlement: 'google:group:not-an-email',
  vendorCalls: () => fake!.requests.length,
  inject: async (_adapter, fault, { retryAfterMs }) => {
    const map = { '429': '429', '5xx': '500', timeout: 'timeout', '401': '401', '403': '403', '404-on-revoke': '404' } as const;
    fake!.failNext(map[fault], retryAfterMs, fault === '404-on-revoke' ? 'DELETE' : undefined);
  },
});

describe('google specifics', () => {
  it('creates users with the employee id as an externalId and finds them by it before email', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount({ employeeId: 'emp_7', email: 'ann@company.com', firstName: 'Ann', lastName: 'Lee' });
    expect(fake!.users.get(account.id)!.externalIds).toEqual([{ type: 'organization', value: 'emp_7' }]);
    expect((await adapter.findAccount({ employeeId: 'emp_7', email: 'ann.lee@company.com' }))?.id).toBe(account.id);
    // The service account's JWT grant happened once and its token was reused.
    expect(fake!.tokenRequests).toBe(1);
  });

  it('a 403 with a quota reason is a retryable rate limit, not an auth error', async () => {
    const { adapter } = setup();
    fake!.failNext('403-quota');
    await expect(adapter.findAccount({ employeeId: 'x', email: 'x@company.com' })).rejects.toMatchObject({ kind: 'retryable', rateLimited: true, status: 403 });
  });

  it('moves people between org units; revoking moves them back to the root', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount({ employeeId: 'e', email: 'ou@company.com', firstName: 'O', lastName: 'U' });
    expect(await adapter.grant(account, 'google:org-unit:/Sales/Enterprise')).toEqual({ outcome: 'applied', state: 'active' });
    expect(await adapter.grant(account, 'google:org-unit:/Sales/Enterprise')).toEqual({ outcome: 'already_present', state: 'active' });
    const held: string[] = [];
    for await (const g of adapter.listGrants!(account)) held.push(g.entitlement);
    expect(held).toEqual(['google:org-unit:/Sales/Enterprise']);
    expect(await adapter.revoke(account, 'google:org-unit:/Sales/Enterprise')).toEqual({ outcome: 'applied' });
    expect(fake!.users.get(account.id)!.orgUnitPath).toBe('/');
  });

  it('verifies a group named in any case with one direct-membership read', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount({ employeeId: 'e3', email: 'case@company.com', firstName: 'C', lastName: 'A' });
    expect(await adapter.grant(account, 'google:group:Team-1@Company.com')).toEqual({ outcome: 'applied', state: 'active' });
    const before = fake!.requests.length;
    expect(await adapter.checkGrant!(account, 'google:group:Team-1@Company.com')).toEqual({ entitlement: 'google:group:Team-1@Company.com', state: 'active' });
    expect(fake!.requests.slice(before)).toEqual([`GET /admin/directory/v1/groups/team-1%40company.com/members/${account.id}`]);
    expect(await adapter.checkGrant!(account, 'google:group:team-2@company.com')).toBeNull();
  });

  it('says precisely what is wrong with a Google entitlement', () => {
    const { adapter } = setup();
    expect(() => adapter.parseEntitlement('google:group:sales@company.com#owner')).toThrow('Google groups have no levels; drop "#owner"');
    expect(() => adapter.parseEntitlement('google:org-unit:Sales')).toThrow('name the org unit by its full path: google:org-unit:/Sales/Enterprise');
    expect(() => adapter.parseEntitlement('google:drive:shared')).toThrow('Google has no type "drive"');
    expect(adapter.parseEntitlement('google:org-unit:/Sales/Enterprise')).toMatchObject({ type: 'org-unit', resource: '/Sales/Enterprise' });
  });

  it('suspending signs the user out', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount({ employeeId: 'e2', email: 's@company.com', firstName: 'S', lastName: 'T' });
    await adapter.suspendAccount(account);
    expect(fake!.requests.slice(-2)).toEqual([`PUT /admin/directory/v1/users/${account.id}`, `POST /admin/directory/v1/users/${account.id}/signOut`]);
  });

  // Issue 27: members.list pages by nextPageToken
  // (https://developers.google.com/admin-sdk/directory/reference/rest/v1/members/list); one that
  // repeats must end the listing with an error at its second sight, not loop forever.
  it('a nextPageToken that repeats ends listMembers with a permanent error after two pages', { timeout: 10_000 }, async () => {
    const { adapter } = setup();
    fake!.stuckNextPageToken = '2';
    const before = fake!.requests.length;
    const error = await (async () => {
      for await (const _ of adapter.listMembers!('google:group:team-0@company.com')) void _;
    })().then(() => new Error('expected a failure'), (e: unknown) => e);
    expect(error).toMatchObject({ name: 'AdapterError', kind: 'permanent', system: 'google', message: expect.stringMatching(/google members\.list returned the same page token twice/) });
    expect(fake!.requests.slice(before).filter((r) => r.startsWith('GET /admin/directory/v1/groups/'))).toHaveLength(2);
  });
});
