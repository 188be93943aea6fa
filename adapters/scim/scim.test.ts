import fc from 'fast-check';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { defineAdapterConformance, type InjectedFault } from '../conformance.js';
import { type Adapter, AdapterError } from '../types.js';
import { FakeScim, type FakeScimOptions, parseEqFilter, type ScimFault } from './fake-scim.js';
import { createScimAdapter, createScimAppAdapters, quote, SCIM_DEFAULT_REQUESTS_PER_MINUTE } from './index.js';
import { eqFilter } from './mapping.js';

/** Two apps at different bases, behaving as the two common kinds of SCIM service provider. */
const APPS = {
  // Users carry `groups` (RFC 7643 §4.1.2), filters on externalId work, PATCH answers 200.
  figma: { base: 'https://www.figma.com/scim/v2/acme-tenant', token: 'figma-scim-token', userGroups: true, patchStatus: 200 },
  // No `groups` on users, filters on userName only, PATCH answers 204.
  notion: { base: 'https://api.notion.com/scim/v2', token: 'notion-scim-token', userGroups: false, patchStatus: 204, filterable: ['userName', 'displayName', 'id'] },
} satisfies Record<string, FakeScimOptions>;
type App = keyof typeof APPS;

const fakes = new Map<App, FakeScim>();
afterEach(() => {
  for (const fake of fakes.values()) fake.stop();
  fakes.clear();
});

function start(app: App, options: Partial<FakeScimOptions> = {}): FakeScim {
  const fake = new FakeScim({ ...APPS[app], ...options }).start();
  fakes.set(app, fake);
  for (let i = 0; i < 8; i++) fake.addGroup(`team-${i}`);
  fake.addGroup('designers');
  return fake;
}
const adapterFor = (app: App, extra: { requestsPerMinute?: number } = {}) => createScimAdapter(app, { url: APPS[app].base, token: APPS[app].token, timeoutMs: 250, ...extra });
const fakeOf = (adapter: Adapter) => fakes.get(adapter.system.slice('scim:'.length) as App)!;

const FAULTS: Record<InjectedFault, ScimFault> = { '429': '429', '5xx': '500', timeout: 'timeout', '401': '401', '403': '403', '404-on-revoke': '404' };

for (const app of Object.keys(APPS) as App[]) {
  defineAdapterConformance(`scim:${app}`, {
    setup: async () => {
      // Both apps are up in every run: each adapter must talk to its own.
      for (const other of Object.keys(APPS) as App[]) start(other);
      return { adapter: adapterFor(app) };
    },
    entitlements: Array.from({ length: 8 }, (_, i) => `scim:${app}:group:team-${i}`),
    invalidEntitlement: `scim:${app}:groups:team-0`,
    vendorCalls: () => fakes.get(app)!.requests.length,
    inject: async (adapter, fault, { retryAfterMs }) => {
      fakeOf(adapter).failNext(FAULTS[fault], retryAfterMs, fault === '404-on-revoke' ? 'PATCH' : undefined);
    },
  });
}

const person = { employeeId: 'emp_9', email: 'Pat.Lee@company.com', firstName: 'Pat', lastName: 'Lee', title: 'Engineer' };

async function failure(promise: Promise<unknown>): Promise<AdapterError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AdapterError);
  return error as AdapterError;
}
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('scim: several apps at once', () => {
  it('makes one independent adapter per app of SCIM_APPS', async () => {
    const figma = start('figma');
    const notion = start('notion');
    const adapters = createScimAppAdapters(
      { figma: { url: `${APPS.figma.base}/`, token: APPS.figma.token, requestsPerMinute: 30 }, notion: { url: APPS.notion.base, token: APPS.notion.token } },
      { timeoutMs: 250 },
    );
    expect(adapters.map((a) => a.system)).toEqual(['scim:figma', 'scim:notion']);
    const [a, b] = adapters as [Adapter, Adapter];
    expect(a.describe().defaultRateLimit.requestsPerMinute).toBe(30);
    expect(b.describe().defaultRateLimit.requestsPerMinute).toBe(SCIM_DEFAULT_REQUESTS_PER_MINUTE);

    const inFigma = (await a.ensureAccount(person)).account;
    const inNotion = (await b.ensureAccount(person)).account;
    expect(inFigma).toMatchObject({ system: 'scim:figma', login: person.email, employeeId: 'emp_9', status: 'active' });
    expect(inNotion).toMatchObject({ system: 'scim:notion', login: person.email, status: 'active' });
    expect(inFigma.id).not.toBe(inNotion.id);
    expect([...figma.users.keys()]).toEqual([inFigma.id]);
    expect([...notion.users.keys()]).toEqual([inNotion.id]);

    // The same group name in both apps is two groups: each adapter resolves and caches its own.
    await a.grant(inFigma, 'scim:figma:group:designers');
    expect([...figma.groupNamed('designers')!.members]).toEqual([inFigma.id]);
    expect(notion.groupNamed('designers')!.members.size).toBe(0);
    await b.grant(inNotion, 'scim:notion:group:designers');
    expect([...notion.groupNamed('designers')!.members]).toEqual([inNotion.id]);
    expect(await collect(a.listGrants!(inFigma))).toEqual([{ entitlement: 'scim:figma:group:designers', state: 'active' }]);
    expect(await collect(b.listGrants!(inNotion))).toEqual([{ entitlement: 'scim:notion:group:designers', state: 'active' }]);

    // A suspension in one app leaves the other alone.
    await a.suspendAccount(inFigma);
    expect(figma.users.get(inFigma.id)!.active).toBe(false);
    expect(notion.users.get(inNotion.id)!.active).toBe(true);

    // A 429 from one app is that app's: the other keeps working.
    figma.failNext('429', 5000);
    expect(await failure(a.findAccount(person))).toMatchObject({ system: 'scim:figma', rateLimited: true, retryAfterMs: 5000 });
    expect((await b.findAccount(person))?.id).toBe(inNotion.id);

    // Entitlements of one app are refused by the other.
    expect(() => b.parseEntitlement('scim:figma:group:designers')).toThrow('does not start with "scim:notion:"');
  });

  it('sends each app its own token', async () => {
    start('figma');
    start('notion');
    const crossed = createScimAdapter('notion', { url: APPS.notion.base, token: APPS.figma.token, timeoutMs: 250 });
    const error = await failure(crossed.findAccount(person));
    expect(error).toMatchObject({ kind: 'auth', status: 401, system: 'scim:notion' });
    expect(error.message).toContain('SCIM_APPS');
    expect(error.message).not.toContain(APPS.figma.token);
  });

  it('refuses an app name that cannot be a system name, and a base that is not a URL', () => {
    expect(() => createScimAdapter('Figma!', { url: APPS.figma.base, token: 't' })).toThrow('lower-case letters');
    expect(() => createScimAdapter('figma', { url: 'www.figma.com/scim/v2', token: 't' })).toThrow('http(s) SCIM base URL');
    expect(createScimAppAdapters(undefined)).toEqual([]);
  });
});

describe('scim: accounts', () => {
  it('creates users per RFC 7643 and finds them by externalId before userName', async () => {
    const fake = start('figma');
    const adapter = adapterFor('figma');
    const { account, outcome } = await adapter.ensureAccount(person);
    expect(outcome).toBe('applied');
    expect(fake.exchanges.find((x) => x.method === 'POST')).toEqual({
      method: 'POST',
      path: '/Users',
      body: {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'Pat.Lee@company.com',
        externalId: 'emp_9',
        name: { formatted: 'Pat Lee', givenName: 'Pat', familyName: 'Lee' },
        displayName: 'Pat Lee',
        emails: [{ value: 'Pat.Lee@company.com', primary: true, type: 'work' }],
        active: true,
        title: 'Engineer',
      },
    });
    // The email changed in the HRIS: still the same account, found by externalId.
    fake.requests.length = 0;
    expect((await adapter.findAccount({ ...person, email: 'pat.lee-smith@company.com' }))?.id).toBe(account.id);
    expect(fake.requests).toEqual(['GET /Users?filter=externalId%20eq%20%22emp_9%22&startIndex=1&count=100']);
    // userName is not caseExact (RFC 7643 §4.1.1): a differently-cased email finds it too.
    expect((await adapter.findAccount({ employeeId: 'other', email: 'pat.lee@COMPANY.com' }))?.id).toBe(account.id);
  });

  it('never takes a user the app returned for a filter it ignored', async () => {
    const fake = start('figma', { ignoresFilterOn: ['externalId', 'userName'] });
    fake.addUser({ userName: 'someone.else@company.com', externalId: 'emp_other' });
    const adapter = adapterFor('figma');
    expect(await adapter.findAccount(person)).toBeNull();
    const { account } = await adapter.ensureAccount(person);
    expect((await adapter.findAccount(person))?.id).toBe(account.id);
    expect((await adapter.findAccount({ ...person, employeeId: 'emp_new' }))?.id).toBe(account.id);
  });

  it('a single-word name is sent as givenName alone', async () => {
    const fake = start('figma');
    await adapterFor('figma').ensureAccount({ employeeId: 'e1', email: 'madonna@company.com', firstName: 'Madonna', lastName: null });
    expect((fake.exchanges.find((x) => x.method === 'POST')!.body as { name: unknown }).name).toEqual({ formatted: 'Madonna', givenName: 'Madonna' });
  });

  it('an app that cannot filter on externalId is asked by userName, and only once by externalId', async () => {
    const fake = start('notion');
    const adapter = adapterFor('notion');
    const { account } = await adapter.ensureAccount(person);
    expect((await adapter.findAccount(person))?.id).toBe(account.id);
    expect(fake.requests.filter((r) => r.includes('externalId'))).toHaveLength(1);
    expect(fake.requests.filter((r) => r.startsWith('GET /Users?filter=userName'))).toHaveLength(2);
  });

  it('suspends with active=false and re-enables a suspended user (a rehire) with the RFC PATCH form', async () => {
    for (const app of ['figma', 'notion'] as const) {
      const fake = start(app);
      const adapter = adapterFor(app);
      const { account } = await adapter.ensureAccount(person);
      expect(await adapter.suspendAccount(account)).toEqual({ outcome: 'applied' });
      expect(fake.exchanges.at(-1)).toEqual({
        method: 'PATCH',
        path: `/Users/${account.id}`,
        body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] },
      });
      expect(await adapter.findAccount(person)).toMatchObject({ id: account.id, status: 'suspended' });
      expect(await adapter.ensureAccount(person)).toEqual({ account: { ...account, status: 'active' }, outcome: 'applied' });
      expect(fake.users.get(account.id)!.active).toBe(true);
      expect(fake.users.size).toBe(1);
    }
  });

  it('a 409 because someone else just made the user finds that user instead of failing', async () => {
    const fake = start('figma');
    const adapter = adapterFor('figma');
    let otherId = '';
    fake.beforeNextCreate = () => {
      otherId = fake.addUser({ userName: person.email, externalId: person.employeeId });
    };
    const result = await adapter.ensureAccount(person);
    expect(result).toMatchObject({ outcome: 'already_present', account: { id: otherId, status: 'active' } });
    expect(fake.requests.filter((r) => r.startsWith('POST'))).toHaveLength(1);
    expect(fake.users.size).toBe(1);
  });

  it('a 409 with no user to be found is permanent and quotes the app', async () => {
    const fake = start('figma');
    fake.addUser({ userName: 'pat-old-handle', email: person.email.toLowerCase() });
    const error = await failure(adapterFor('figma').ensureAccount(person));
    expect(error).toMatchObject({ kind: 'permanent', status: 409 });
    expect(error.message).toContain('A user with email pat.lee@company.com already exists.');
  });

  it('deletes with DELETE /Users/{id}; a second delete is already absent', async () => {
    const fake = start('notion');
    const adapter = adapterFor('notion');
    const { account } = await adapter.ensureAccount(person);
    expect(await adapter.deleteAccount!(account)).toEqual({ outcome: 'applied' });
    expect(fake.users.has(account.id)).toBe(false);
    expect(await adapter.deleteAccount!(account)).toEqual({ outcome: 'already_absent' });
    expect(await adapter.suspendAccount(account)).toEqual({ outcome: 'already_absent' });
    expect(await adapter.findAccount(person)).toBeNull();
  });

  it('lists every account across pages', async () => {
    const fake = start('figma');
    const adapter = adapterFor('figma');
    for (let i = 0; i < 7; i++) await adapter.ensureAccount({ employeeId: `e${i}`, email: `u${i}@company.com`, firstName: 'U', lastName: String(i) });
    fake.requests.length = 0;
    const emails = (await collect(adapter.listAccounts!())).map((a) => a.email);
    expect(emails.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `u${i}@company.com`));
    expect(fake.requests).toEqual(['GET /Users?startIndex=1&count=100', 'GET /Users?startIndex=4&count=100', 'GET /Users?startIndex=7&count=100']);
  });

  // Issue 27: RFC 7644 §3.4.2.4 pages by startIndex up to totalResults; an app that answers the
  // first page whatever startIndex asks, with an endless totalResults, must end the listing.
  it('a startIndex that does not advance ends listAccounts with a permanent error after two pages', { timeout: 10_000 }, async () => {
    const fake = start('figma');
    const adapter = adapterFor('figma');
    for (let i = 0; i < 4; i++) await adapter.ensureAccount({ employeeId: `e${i}`, email: `u${i}@company.com`, firstName: 'U', lastName: String(i) });
    fake.ignoreStartIndex = true;
    fake.requests.length = 0;
    const error = await collect(adapter.listAccounts!()).then(() => new Error('expected a failure'), (e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({ kind: 'permanent', message: expect.stringMatching(/scim GET \/Users returned a next offset \(4\) that does not advance past 4/) });
    expect(fake.requests).toHaveLength(2);
  });
});

describe('scim: filters quote their values (RFC 7644 §3.4.2.2)', () => {
  it('any string survives quoting: the app reads back exactly the value sent', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.stringMatching(/^[\\"a ]*$/)), fc.constantFrom('userName', 'externalId', 'displayName'), (value, attribute) => {
        const filter = eqFilter(attribute, value);
        const parsed = parseEqFilter(filter);
        return parsed !== null && parsed.attribute === attribute && parsed.value === value && [...filter].every((c) => c.charCodeAt(0) >= 0x20);
      }),
    );
    expect(quote('a "quoted" \\ name')).toBe('"a \\"quoted\\" \\\\ name"');
  });

  it('finds exactly the right user whatever the employee id or email holds', async () => {
    const fake = start('figma');
    const adapter = adapterFor('figma');
    const decoy = fake.addUser({ userName: 'decoy@company.com', externalId: 'a\\"b' });
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1 }).filter((s) => s !== 'a\\"b'), async (employeeId) => {
        for (const id of [...fake.users.keys()]) if (id !== decoy) fake.users.delete(id);
        const email = `${JSON.stringify(employeeId.slice(0, 8))}@company.com`;
        const { account } = await adapter.ensureAccount({ employeeId, email, firstName: 'Q' });
        expect((await adapter.findAccount({ employeeId, email: 'nobody@company.com' }))?.id).toBe(account.id);
        expect((await adapter.findAccount({ employeeId: 'nobody', email }))?.id).toBe(account.id);
      }),
      { numRuns: 40 },
    );
    expect((await adapter.findAccount({ employeeId: 'a\\"b', email: 'x@company.com' }))?.id).toBe(decoy);
  });
});

describe('scim: groups', () => {
  it('adds and removes members with the RFC 7644 PATCH operations', async () => {
    const fake = start('figma');
    const adapter = adapterFor('figma');
    const { account } = await adapter.ensureAccount(person);
    const group = fake.groupNamed('designers')!;
    expect(await adapter.grant(account, 'scim:figma:group:designers')).toEqual({ outcome: 'applied', state: 'active' });
    expect(fake.exchanges.at(-1)).toEqual({
      method: 'PATCH',
      path: `/Groups/${group.id}`,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: account.id }] }] },
    });
    expect(await adapter.revoke(account, 'scim:figma:group:designers')).toEqual({ outcome: 'applied' });
    expect(fake.exchanges.at(-1)!.body).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove', path: `members[value eq "${account.id}"]` }] });
    expect(group.members.size).toBe(0);
  });

  it('resolves a displayName once (excluding members) and caches it', async () => {
    const fake = start('figma');
    const adapter = adapterFor('figma');
    const { account } = await adapter.ensureAccount(person);
    await adapter.grant(account, 'scim:figma:group:designers');
    await adapter.revoke(account, 'scim:figma:group:designers');
    await adapter.grant(account, 'scim:figma:group:designers');
    expect(fake.requests.filter((r) => r.startsWith('GET /Groups?'))).toEqual(['GET /Groups?filter=displayName%20eq%20%22designers%22&excludedAttributes=members&startIndex=1&count=100']);
  });

  it('a group deleted and made again under the same name is found again, not failed on', async () => {
    for (const app of ['figma', 'notion'] as const) {
      const fake = start(app);
      const adapter = adapterFor(app);
      const { account } = await adapter.ensureAccount(person);
      await adapter.grant(account, `scim:${app}:group:designers`);
      fake.groups.delete(fake.groupNamed('designers')!.id);
      const again = fake.addGroup('designers');
      expect(await adapter.grant(account, `scim:${app}:group:designers`)).toEqual({ outcome: 'applied', state: 'active' });
      expect([...fake.groups.get(again)!.members]).toEqual([account.id]);
    }
  });

  it('matches displayName case-insensitively when there is one such group, and refuses an ambiguous or missing name', async () => {
    const fake = start('figma');
    const adapter = adapterFor('figma');
    const { account } = await adapter.ensureAccount(person);
    expect(await adapter.grant(account, 'scim:figma:group:Designers')).toMatchObject({ outcome: 'applied' });
    expect(fake.groupNamed('designers')!.members.has(account.id)).toBe(true);
    fake.addGroup('Team-1');
    const ambiguous = await failure(adapter.grant(account, 'scim:figma:group:TEAM-1'));
    expect(ambiguous).toMatchObject({ kind: 'permanent' });
    expect(ambiguous.message).toContain('has 2 groups named "TEAM-1"');
    const missing = await failure(adapter.grant(account, 'scim:figma:group:no-such-team'));
    expect(missing.message).toContain('scim:figma has no group named "no-such-team"');
    expect(await adapter.revoke(account, 'scim:figma:group:no-such-team')).toEqual({ outcome: 'already_absent' });
    expect(await adapter.checkGrant!(account, 'scim:figma:group:no-such-team')).toBeNull();
  });

  it('refuses to grant the account entitlement, and says what is wrong with a URI', () => {
    start('figma');
    const adapter = adapterFor('figma');
    const account = { system: 'scim:figma', id: 'x', status: 'active' as const };
    expect(() => adapter.parseEntitlement('scim:figma:group:design#admin')).toThrow('SCIM groups have no levels; drop "#admin"');
    expect(() => adapter.parseEntitlement('scim:figma:role:admin')).toThrow('a SCIM app has no type "role"');
    expect(() => adapter.parseEntitlement('scim:figma:group')).toThrow('name the group: scim:figma:group:<group displayName>');
    expect(adapter.parseEntitlement('scim:figma:group:Design: UX (EMEA)')).toEqual({ uri: 'scim:figma:group:Design: UX (EMEA)', system: 'scim:figma', type: 'group', resource: 'Design: UX (EMEA)', level: null });
    return expect(adapter.grant(account, 'scim:figma:account')).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('made by ensureAccount') });
  });

  it('reads grants from the user where the app lists them, else from the groups, page by page', async () => {
    const figma = start('figma');
    const notion = start('notion');
    for (const [app, fake] of [['figma', figma], ['notion', notion]] as const) {
      const adapter = adapterFor(app);
      const { account } = await adapter.ensureAccount(person);
      for (const g of ['team-1', 'team-4', 'team-7']) await adapter.grant(account, `scim:${app}:group:${g}`);
      fake.requests.length = 0;
      expect((await collect(adapter.listGrants!(account))).map((g) => g.entitlement)).toEqual(['team-1', 'team-4', 'team-7'].map((g) => `scim:${app}:group:${g}`));
      if (app === 'figma') expect(fake.requests).toEqual([`GET /Users/${account.id}`]);
      // 9 groups, 3 a page: the read-back spans 3 pages of GET /Groups.
      else expect(fake.requests.filter((r) => r.startsWith('GET /Groups?'))).toEqual(['GET /Groups?startIndex=1&count=100', 'GET /Groups?startIndex=4&count=100', 'GET /Groups?startIndex=7&count=100']);
      expect(await adapter.checkGrant!(account, `scim:${app}:group:team-4`)).toEqual({ entitlement: `scim:${app}:group:team-4`, state: 'active' });
      expect(await adapter.checkGrant!(account, `scim:${app}:group:team-5`)).toBeNull();
    }
  });

  it('names a group from the app when the user\'s groups carry no display, once per group', async () => {
    const fake = start('figma', { groupsDisplay: false });
    const adapter = adapterFor('figma');
    const { account } = await adapter.ensureAccount(person);
    fake.groupNamed('team-2')!.members.add(account.id);
    fake.groupNamed('team-5')!.members.add(account.id);
    for (let i = 0; i < 2; i++) expect((await collect(adapter.listGrants!(account))).map((g) => g.entitlement)).toEqual(['scim:figma:group:team-2', 'scim:figma:group:team-5']);
    expect(fake.requests.filter((r) => r.startsWith('GET /Groups/'))).toEqual([`GET /Groups/${fake.groupNamed('team-2')!.id}?excludedAttributes=members`, `GET /Groups/${fake.groupNamed('team-5')!.id}?excludedAttributes=members`]);
  });

  it('lists a group\'s members as accounts', async () => {
    const fake = start('notion');
    const adapter = adapterFor('notion');
    const expected: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { account } = await adapter.ensureAccount({ employeeId: `m${i}`, email: `m${i}@company.com`, firstName: 'M', lastName: `${i}` });
      if (i % 2 === 0) {
        await adapter.grant(account, 'scim:notion:group:team-1');
        expected.push(account.email!);
      }
    }
    expect(fake.groupNamed('team-1')!.members.size).toBe(3);
    expect((await collect(adapter.listMembers!('scim:notion:group:team-1'))).map((a) => a.email)).toEqual(expected);
  });

  it('a member already removed by the app (400 noTarget, or 404) is already absent', async () => {
    const fake = start('figma');
    const adapter = adapterFor('figma');
    const { account } = await adapter.ensureAccount(person);
    await adapter.grant(account, 'scim:figma:group:designers');
    fake.failNext('400-noTarget', 0, 'PATCH');
    expect(await adapter.revoke(account, 'scim:figma:group:designers')).toEqual({ outcome: 'already_absent' });
    fake.users.delete(account.id);
    expect(await adapter.revoke(account, 'scim:figma:group:designers')).toEqual({ outcome: 'already_absent' });
    const gone = await failure(adapter.grant(account, 'scim:figma:group:designers'));
    expect(gone.message).toContain('ensureAccount makes it again');
  });
});

describe('scim: errors', () => {
  it('does not retry a 429 itself: one request, Retry-After in ms, the request id', async () => {
    const fake = start('figma');
    fake.failNext('429', 30_000);
    const error = await failure(adapterFor('figma').findAccount(person));
    expect(error).toMatchObject({ kind: 'retryable', rateLimited: true, retryAfterMs: 30_000, status: 429, requestId: 'req-429' });
    expect(fake.requests).toHaveLength(1);
  });

  it('a 400 is permanent and quotes the app\'s scimType and detail; a 5xx while listing is retryable', async () => {
    const fake = start('figma');
    const adapter = adapterFor('figma');
    const { account } = await adapter.ensureAccount(person);
    fake.failNext('400-invalidValue', 0, 'PATCH');
    const error = await failure(adapter.grant(account, 'scim:figma:group:team-2'));
    expect(error).toMatchObject({ kind: 'permanent', status: 400, system: 'scim:figma' });
    expect(error.message).toContain('HTTP 400 invalidValue: A required value was missing, or the value specified was not compatible');
    expect(fake.groupNamed('team-2')!.members.size).toBe(0);
    fake.failNext('500');
    expect((await failure(adapter.listAccounts!()[Symbol.asyncIterator]().next())).kind).toBe('retryable');
  });

  it('a network failure is retryable', async () => {
    nock.disableNetConnect();
    try {
      const adapter = createScimAdapter('zoom', { url: 'https://api.zoom.example/scim2', token: 't', timeoutMs: 250 });
      expect((await failure(adapter.findAccount(person))).kind).toBe('retryable');
    } finally {
      nock.enableNetConnect();
    }
  });
});
