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
  return { adapter: createGoogleAdapter({ serviceAccountKey: KEY, adminEmail: 'admin@company.com', customer: 'my_customer' }) };
}

defineAdapterConformance('google', {
  setup: async () => setup(),
  entitlements: Array.from({ length: 8 }, (_, i) => `google:group:team-${i}@company.com`),
  invalidEntitlement: 'google:group:not-an-email',
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

  it('suspending signs the user out', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount({ employeeId: 'e2', email: 's@company.com', firstName: 'S', lastName: 'T' });
    await adapter.suspendAccount(account);
    expect(fake!.requests.slice(-2)).toEqual([`PUT /admin/directory/v1/users/${account.id}`, `POST /admin/directory/v1/users/${account.id}/signOut`]);
  });
});
