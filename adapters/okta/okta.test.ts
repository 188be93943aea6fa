import { afterEach, describe, expect, it } from 'vitest';
import { defineAdapterConformance } from '../conformance.js';
import { AdapterError } from '../types.js';
import { FakeOkta } from './fake-okta.js';
import { createOktaAdapter } from './index.js';

const ORG = 'https://acme.okta.example';
let fake: FakeOkta | undefined;
afterEach(() => fake?.stop());

function setup() {
  fake = new FakeOkta(ORG, 2).start();
  for (let i = 0; i < 8; i++) fake.addGroup(`team-${i}`);
  return { adapter: createOktaAdapter({ orgUrl: ORG, token: '00abcdefTESTTOKEN', timeoutMs: 250 }) };
}

defineAdapterConformance('okta', {
  setup: async () => setup(),
  entitlements: Array.from({ length: 8 }, (_, i) => `okta:group:team-${i}`),
  invalidEntitlement: 'okta:groups:team-0',
  vendorCalls: () => fake!.requests.length,
  inject: async (_adapter, fault, { retryAfterMs }) => {
    const map = { '429': '429', '5xx': '500', timeout: 'timeout', '401': '401', '403': '403', '404-on-revoke': '404' } as const;
    fake!.failNext(map[fault], retryAfterMs, fault === '404-on-revoke' ? 'DELETE' : undefined);
  },
});

describe('okta specifics', () => {
  it('creates users active, with the employee number, and finds them by it before email', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount({ employeeId: 'emp_9', email: 'Pat.Lee@company.com', firstName: 'Pat', lastName: 'Lee', title: 'Engineer' });
    const user = fake!.users.get(account.id)!;
    expect(user.status).toBe('ACTIVE');
    expect(user.profile).toMatchObject({ login: 'Pat.Lee@company.com', employeeNumber: 'emp_9', title: 'Engineer' });
    // The email changed in the HRIS: still the same account, found by employee number.
    expect((await adapter.findAccount({ employeeId: 'emp_9', email: 'pat.lee-smith@company.com' }))?.id).toBe(account.id);
    expect(fake!.requests).toContain('GET /api/v1/users?search=profile.employeeNumber%20eq%20%22emp_9%22');
  });

  it('suspending ends the sessions; ensuring again unsuspends (a rehire)', async () => {
    const { adapter } = setup();
    const person = { employeeId: 'emp_1', email: 'a@company.com', firstName: 'A', lastName: 'B' };
    const { account } = await adapter.ensureAccount(person);
    await adapter.suspendAccount(account);
    expect(fake!.requests.filter((r) => r.startsWith('POST') || r.startsWith('DELETE')).slice(-2)).toEqual([`POST /api/v1/users/${account.id}/lifecycle/suspend`, `DELETE /api/v1/users/${account.id}/sessions?oauthTokens=true`]);
    expect(await adapter.ensureAccount(person)).toMatchObject({ outcome: 'applied', account: { status: 'active' } });
    expect(fake!.users.get(account.id)!.status).toBe('ACTIVE');
  });

  it('deleting deactivates the user without emailing them; ensuring again activates them', async () => {
    const { adapter } = setup();
    const person = { employeeId: 'emp_2', email: 'gone@company.com', firstName: 'Gone', lastName: 'Soon' };
    const { account } = await adapter.ensureAccount(person);
    expect(await adapter.deleteAccount!(account)).toEqual({ outcome: 'applied' });
    expect(fake!.requests).toContain(`POST /api/v1/users/${account.id}/lifecycle/deactivate?sendEmail=false`);
    expect(fake!.users.get(account.id)!.status).toBe('DEPROVISIONED');
    expect(await adapter.findAccount(person)).toMatchObject({ id: account.id, status: 'suspended' });
    expect(await adapter.ensureAccount(person)).toMatchObject({ outcome: 'applied', account: { id: account.id, status: 'active' } });
    expect(fake!.users.get(account.id)!.status).toBe('ACTIVE');
  });

  it('says precisely what is wrong with an Okta entitlement', () => {
    const { adapter } = setup();
    expect(() => adapter.parseEntitlement('okta:group:sales#admin')).toThrow('"okta:group:sales#admin" is not a valid Okta entitlement: Okta groups have no levels; drop "#admin"');
    expect(() => adapter.parseEntitlement('okta:app:salesforce')).toThrow('Okta has no type "app"; it has okta:account and okta:group:<group name>');
    expect(() => adapter.parseEntitlement('okta:group')).toThrow('name the group: okta:group:<group name>');
    expect(adapter.parseEntitlement('okta:group:Sales Team (EMEA)')).toEqual({ uri: 'okta:group:Sales Team (EMEA)', system: 'okta', type: 'group', resource: 'Sales Team (EMEA)', level: null });
  });

  it('a group that does not exist is a permanent error naming it', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount({ employeeId: 'e', email: 'e@company.com', firstName: 'E', lastName: 'F' });
    await expect(adapter.grant(account, 'okta:group:no-such-team')).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('Okta has no group named "no-such-team"') });
  });

  it('does not retry a 429 itself: one request, and the reset time from X-Rate-Limit-Reset', async () => {
    const { adapter } = setup();
    fake!.failNext('429', 30_000);
    const before = fake!.requests.length;
    const error = await adapter.findAccount({ employeeId: 'x', email: 'x@company.com' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({ kind: 'retryable', rateLimited: true, retryAfterMs: 30_000, requestId: 'req-429' });
    expect(fake!.requests.length - before).toBe(1);
  });

  it('lists members and accounts across pages', async () => {
    const { adapter } = setup();
    for (let i = 0; i < 5; i++) {
      const { account } = await adapter.ensureAccount({ employeeId: `m${i}`, email: `m${i}@company.com`, firstName: 'M', lastName: `${i}` });
      if (i % 2 === 0) await adapter.grant(account, 'okta:group:team-1');
    }
    const members: string[] = [];
    for await (const m of adapter.listMembers!('okta:group:team-1')) members.push(m.email!);
    expect(members).toEqual(['m0@company.com', 'm2@company.com', 'm4@company.com']);
    let n = 0;
    for await (const _ of adapter.listAccounts!()) n++;
    expect(n).toBe(5);
  });
});
