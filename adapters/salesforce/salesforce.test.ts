import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { defineAdapterConformance } from '../conformance.js';
import { AdapterError } from '../types.js';
import { FakeSalesforce, parseSoql, tokenizeSoql } from './fake-salesforce.js';
import { createSalesforceAdapter, type SalesforceAdapterConfig } from './index.js';
import { newUserRecord, soqlString } from './mapping.js';

const INSTANCE = 'https://acme.my.salesforce.com';
let fake: FakeSalesforce | undefined;
afterEach(() => fake?.stop());

const ENTITLEMENTS = [
  'salesforce:permission-set:Perm_0',
  'salesforce:permission-set:Perm_1',
  'salesforce:permission-set:Perm_2',
  'salesforce:permission-set:Perm_3',
  'salesforce:permission-set:acme__Managed_Perm',
  'salesforce:permission-set-group:Sales_Ops',
  'salesforce:permission-set-group:Support_Ops',
  "salesforce:profile:Sales Engineer's Profile",
];

function setup(config: Partial<SalesforceAdapterConfig> = {}, pageSize = 2) {
  fake = new FakeSalesforce(INSTANCE, pageSize).start();
  for (let i = 0; i < 4; i++) fake.addPermissionSet(`Perm_${i}`);
  fake.addPermissionSet('Managed_Perm', 'acme');
  fake.addPermissionSetGroup('Sales_Ops');
  fake.addPermissionSetGroup('Support_Ops');
  fake.addProfile("Sales Engineer's Profile");
  const adapter = createSalesforceAdapter({ instanceUrl: INSTANCE, clientId: fake.clientId, clientSecret: fake.clientSecret, apiVersion: '62.0', timeoutMs: 250, ...config });
  return { adapter, fake };
}

defineAdapterConformance('salesforce', {
  setup: async () => setup(),
  entitlements: ENTITLEMENTS,
  invalidEntitlement: 'salesforce:permission-set:API-Enabled',
  // Salesforce answers an exhausted allocation with 403 REQUEST_LIMIT_EXCEEDED and no Retry-After.
  retryAfterFromVendor: false,
  vendorCalls: () => fake!.requests.length,
  inject: async (_adapter, fault) => {
    const map = { '429': 'limit', '5xx': 'unavailable', timeout: 'timeout', '401': 'revoked', '403': 'forbidden', '404-on-revoke': 'not-found' } as const;
    fake!.failNext(map[fault], fault === '404-on-revoke' ? 'DELETE' : undefined);
  },
});

const pat = { employeeId: 'emp_9', email: 'pat.lee@company.com', firstName: 'Pat', lastName: 'Lee', title: 'Engineer' };

describe('salesforce specifics', () => {
  it('creates an active user with the default profile, employee number and federation id, and finds it by employee id before email', async () => {
    const { adapter } = setup();
    const { account, outcome } = await adapter.ensureAccount(pat);
    expect(outcome).toBe('applied');
    expect(fake!.user(account.id)).toMatchObject({
      Username: 'pat.lee@company.com',
      Email: 'pat.lee@company.com',
      FirstName: 'Pat',
      LastName: 'Lee',
      Alias: 'plee',
      EmployeeNumber: 'emp_9',
      FederationIdentifier: 'emp_9',
      IsActive: true,
      Title: 'Engineer',
    });
    expect(fake!.assignmentsOf(account.id)).toEqual(['profile:Standard User']);
    // The email changed in the HRIS: still the same user, found by employee id.
    expect((await adapter.findAccount({ ...pat, email: 'pat.lee-smith@company.com' }))?.id).toBe(account.id);
  });

  it('a single-word name goes to LastName (the required one) and FirstName stays empty', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount({ employeeId: 'emp_1003', email: 'madonna@company.com', firstName: 'Madonna', lastName: null });
    const user = fake!.user(account.id)!;
    expect(user.LastName).toBe('Madonna');
    expect(user.FirstName).toBeUndefined();
    expect(String(user.Alias).length).toBeLessThanOrEqual(8);
  });

  it('matches a user Okta provisioned by email when it carries no employee number, but not one that carries someone else\'s', async () => {
    const { adapter } = setup();
    const oktaMade = fake!.addUser({ Username: 'pat.lee@company.com', Email: 'pat.lee@company.com', LastName: 'Lee' });
    expect(await adapter.ensureAccount(pat)).toMatchObject({ outcome: 'already_present', account: { id: oktaMade } });
    fake!.addUser({ Username: 'old.sam@company.com', Email: 'sam@company.com', LastName: 'Old', EmployeeNumber: 'emp_other' });
    expect(await adapter.findAccount({ employeeId: 'emp_sam', email: 'sam@company.com' })).toBeNull();
  });

  it('suspending deactivates the user; ensuring again reactivates the same user (a rehire)', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(pat);
    await adapter.grant(account, 'salesforce:permission-set:Perm_1');
    expect(await adapter.suspendAccount(account)).toEqual({ outcome: 'applied' });
    expect(fake!.user(account.id)!.IsActive).toBe(false);
    expect(await adapter.findAccount(pat)).toMatchObject({ id: account.id, status: 'suspended' });
    expect(await adapter.ensureAccount(pat)).toEqual({ outcome: 'applied', account: { ...account, status: 'active' } });
    expect(fake!.user(account.id)!.IsActive).toBe(true);
    // Assignments survive deactivation.
    expect(fake!.assignmentsOf(account.id)).toContain('set:Perm_1');
    expect(fake!.rows.User!.size).toBe(1);
  });

  it('a profile replaces the one held; revoking it goes back to the default profile; the default profile cannot be revoked', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(pat);
    const list = async () => {
      const out: string[] = [];
      for await (const g of adapter.listGrants!(account)) out.push(g.entitlement);
      return out.sort();
    };
    expect(await list()).toEqual(['salesforce:profile:Standard User']);
    expect(await adapter.grant(account, "salesforce:profile:Sales Engineer's Profile")).toEqual({ outcome: 'applied', state: 'active' });
    expect(await list()).toEqual(["salesforce:profile:Sales Engineer's Profile"]);
    expect(fake!.assignmentsOf(account.id)).toEqual(["profile:Sales Engineer's Profile"]);
    expect(await adapter.grant(account, "salesforce:profile:Sales Engineer's Profile")).toEqual({ outcome: 'already_present', state: 'active' });
    expect(await adapter.revoke(account, 'salesforce:profile:Standard User')).toEqual({ outcome: 'already_absent' });
    expect(await adapter.revoke(account, "salesforce:profile:Sales Engineer's Profile")).toEqual({ outcome: 'applied' });
    expect(await list()).toEqual(['salesforce:profile:Standard User']);
    await expect(adapter.revoke(account, 'salesforce:profile:Standard User')).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('every Salesforce user has exactly one profile') });
  });

  it('a permission set group is assigned by PermissionSetGroupId and read back as the group, not as its aggregate permission set', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(pat);
    await adapter.grant(account, 'salesforce:permission-set-group:Sales_Ops');
    expect(fake!.assignmentsOf(account.id)).toEqual(['group:Sales_Ops', 'profile:Standard User']);
    const grants: string[] = [];
    for await (const g of adapter.listGrants!(account)) grants.push(g.entitlement);
    expect(grants.sort()).toEqual(['salesforce:permission-set-group:Sales_Ops', 'salesforce:profile:Standard User']);
    // The read-back excludes the profile's own permission set in SOQL.
    expect(fake!.queries.some((q) => q.includes('PermissionSet.IsOwnedByProfile = false'))).toBe(true);
  });

  it('a permission set or profile the org lacks is a permanent error naming it; revoking one is already absent', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(pat);
    await expect(adapter.grant(account, 'salesforce:permission-set:No_Such')).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('Salesforce has no permission set with the API name "No_Such"') });
    await expect(adapter.grant(account, "salesforce:profile:O'Brien Team")).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('no profile named "O\'Brien Team"') });
    expect(await adapter.revoke(account, 'salesforce:permission-set-group:No_Such')).toEqual({ outcome: 'already_absent' });
  });

  it('an expired session is renewed once by the client credentials flow, and the call goes through', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(pat);
    expect(fake!.tokenRequests).toBe(1);
    fake!.expireTokens();
    expect(await adapter.grant(account, 'salesforce:permission-set:Perm_2')).toEqual({ outcome: 'applied', state: 'active' });
    expect(fake!.tokenRequests).toBe(2);
    expect(fake!.assignmentsOf(account.id)).toContain('set:Perm_2');
  });

  it('a session refused again after one new token is an auth error: one re-sign-in, never a loop', async () => {
    const { adapter } = setup();
    await adapter.findAccount(pat);
    const tokens = fake!.tokenRequests;
    const sent = fake!.requests.length;
    fake!.failNext('session');
    fake!.failNext('session');
    const error = await adapter.findAccount(pat).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'auth', status: 401, message: expect.stringContaining('INVALID_SESSION_ID') });
    expect(fake!.tokenRequests - tokens).toBe(1);
    expect(fake!.requests.length - sent).toBe(2);
  });

  it('wrong client credentials are an auth error that says what to check', async () => {
    const { adapter } = setup({ clientSecret: 'wrong' });
    const error = await adapter.findAccount(pat).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({ kind: 'auth', status: 400, message: expect.stringContaining('invalid_client') });
    expect((error as Error).message).toContain('SALESFORCE_CLIENT_SECRET');
  });

  it('REQUEST_LIMIT_EXCEEDED is retryable and rate-limited after one request (no retries of its own)', async () => {
    const { adapter } = setup();
    await adapter.findAccount(pat);
    const before = fake!.requests.length;
    fake!.failNext('limit');
    const error = await adapter.findAccount(pat).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'retryable', rateLimited: true, status: 403 });
    expect(fake!.requests.length - before).toBe(1);
    fake!.failNext('unavailable');
    const unavailable = await adapter.findAccount(pat).catch((e: unknown) => e);
    expect(unavailable).toMatchObject({ kind: 'retryable', rateLimited: false, status: 503 });
    expect(fake!.requests.length - before).toBe(2);
  });

  it('reads Sforce-Limit-Info, and at 95% of the allocation refuses calls before sending them until the recheck time', async () => {
    let clock = 1_000_000;
    fake = new FakeSalesforce(INSTANCE, 2).start();
    fake.addPermissionSet('Perm_0');
    const { createSalesforceApi } = await import('./client.js');
    const api = createSalesforceApi({ instanceUrl: INSTANCE, clientId: fake.clientId, clientSecret: fake.clientSecret, timeoutMs: 250, apiUsageRecheckMs: 60_000 }, () => clock);
    const adapter = createSalesforceAdapter({ instanceUrl: INSTANCE, clientId: '', clientSecret: '' }, { api });
    await adapter.findAccount(pat);
    expect(adapter.lastLimitInfo).toMatchObject({ used: fake.requests.length, limit: 100_000 });
    // findAccount makes two queries (employee id, then email): the second reads 95,000 of 100,000.
    fake.apiUsed = 94_998;
    await adapter.findAccount(pat);
    expect(adapter.lastLimitInfo).toMatchObject({ used: 95_000, limit: 100_000 });
    const sent = fake.requests.length;
    const error = await adapter.findAccount(pat).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'retryable', rateLimited: true, retryAfterMs: 60_000 });
    expect(fake.requests.length).toBe(sent);
    // After the recheck time one request goes to read the usage; it has fallen, so calls flow again.
    clock += 60_000;
    fake.apiUsed = 50_000;
    expect(await adapter.findAccount(pat)).toBeNull();
    expect(adapter.lastLimitInfo?.used).toBeLessThan(95_000);
  });

  it('SOQL errors (INVALID_FIELD, MALFORMED_QUERY) are permanent with Salesforce\'s message', async () => {
    const { adapter } = setup();
    fake!.failNext('not-found');
    await expect(adapter.findAccount(pat)).rejects.toMatchObject({ kind: 'permanent', status: 404, message: expect.stringContaining('NOT_FOUND') });
    // A query for a field the object lacks is refused by the fake as Salesforce does.
    const api = (await import('./client.js')).createSalesforceApi({ instanceUrl: INSTANCE, clientId: fake!.clientId, clientSecret: fake!.clientSecret, timeoutMs: 250 });
    const bad = createSalesforceAdapter({ instanceUrl: INSTANCE, clientId: '', clientSecret: '' }, {
      api: { ...api, lastLimitInfo: null, query: (soql: string) => api.query(soql.replace('EmployeeNumber', 'EmployeeNo')) },
    });
    await expect(bad.findAccount(pat)).rejects.toMatchObject({ kind: 'permanent', status: 400, message: expect.stringContaining("INVALID_FIELD: No such column 'EmployeeNo'") });
  });

  it('says precisely what is wrong with a Salesforce entitlement', () => {
    const { adapter } = setup();
    expect(() => adapter.parseEntitlement('salesforce:permission-set:API_Enabled#admin')).toThrow('"salesforce:permission-set:API_Enabled#admin" is not a valid Salesforce entitlement: Salesforce permission-sets have no levels; drop "#admin"');
    expect(() => adapter.parseEntitlement('salesforce:role:CEO')).toThrow('Salesforce has no type "role"');
    expect(() => adapter.parseEntitlement('salesforce:permission-set:API Enabled')).toThrow('is not a permission set API name');
    expect(() => adapter.parseEntitlement('salesforce:permission-set:Bad_')).toThrow('is not a permission set API name');
    expect(adapter.parseEntitlement('salesforce:profile:Sales Engineer')).toEqual({ uri: 'salesforce:profile:Sales Engineer', system: 'salesforce', type: 'profile', resource: 'Sales Engineer', level: null });
    expect(adapter.parseEntitlement('salesforce:account')).toMatchObject({ type: 'account', resource: null });
  });

  it('lists members of a permission set and of a profile, and every person\'s user, across pages', async () => {
    const { adapter } = setup();
    for (let i = 0; i < 5; i++) {
      const { account } = await adapter.ensureAccount({ employeeId: `m${i}`, email: `m${i}@company.com`, firstName: 'M', lastName: `Member${i}` });
      if (i % 2 === 0) await adapter.grant(account, 'salesforce:permission-set:Perm_3');
    }
    const members: string[] = [];
    for await (const m of adapter.listMembers!('salesforce:permission-set:Perm_3')) members.push(m.email!);
    expect(members.sort()).toEqual(['m0@company.com', 'm2@company.com', 'm4@company.com']);
    let onProfile = 0;
    for await (const _ of adapter.listMembers!('salesforce:profile:Standard User')) onProfile++;
    expect(onProfile).toBe(5);
    let n = 0;
    for await (const _ of adapter.listAccounts!()) n++;
    expect(n).toBe(5);
  });
});

/** Strings heavy in what SOQL treats specially, plus any code point. */
const tricky = fc
  .array(fc.oneof(fc.constantFrom("'", '"', '\\', '\n', '\r', '\t', '\b', '\f', ' ', '%', '_', 'a', 'N'), fc.string({ unit: 'binary', maxLength: 2 })), { maxLength: 20 })
  .map((parts) => parts.join(''));

describe('SOQL string literals', () => {
  it('quote any string so that Salesforce reads back exactly that string (fast-check)', () => {
    fc.assert(
      fc.property(tricky, (value) => {
        const where = parseSoql(`SELECT Id FROM User WHERE Email = ${soqlString(value)} AND IsActive = true`).where as { and: { value: unknown }[] };
        return where.and.length === 2 && where.and[0]!.value === value;
      }),
      { numRuns: 500 },
    );
  });

  it('an unescaped quote would break the query (the fake parses SOQL as Salesforce does)', () => {
    expect(() => tokenizeSoql("SELECT Id FROM Profile WHERE Name = 'O'Brien'")).toThrow();
    expect(() => tokenizeSoql("SELECT Id FROM Profile WHERE Name = 'a\\x'")).toThrow('bad escape');
  });

  it('people whose ids and emails are full of quotes and backslashes are created once and found again (fast-check)', async () => {
    const { adapter } = setup();
    const nasty = fc.stringMatching(/^[a-z'"\\%_ \n]{1,12}$/);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(nasty, nasty, async (id, local) => {
        n++;
        const person = { employeeId: `e${n}${id}`, email: `${local.replace(/[\s"\\]/g, 'x')}${n}@company.com`, firstName: "D'Arcy", lastName: "O'Neil" };
        const { account, outcome } = await adapter.ensureAccount(person);
        expect(outcome).toBe('applied');
        expect((await adapter.findAccount(person))?.id).toBe(account.id);
        expect((await adapter.findAccount({ ...person, email: 'nobody@company.com' }))?.id).toBe(account.id);
        expect(fake!.user(account.id)!.EmployeeNumber).toBe(person.employeeId);
      }),
      { numRuns: 25 },
    );
  });

  it('builds a User record Salesforce accepts for names with apostrophes and accents', () => {
    const record = newUserRecord({ employeeId: 'e1', email: 'zoe@company.com', firstName: 'Zoë', lastName: "Ångström-O'Ñúñez" }, { profileId: '00e000000000001AAA', federationId: 'e1' });
    expect(record).toMatchObject({ FirstName: 'Zoë', LastName: "Ångström-O'Ñúñez", Alias: 'zangstro' });
  });
});
