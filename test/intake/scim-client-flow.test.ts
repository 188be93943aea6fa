import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';

const TOKEN = 'scim-token-for-tests';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** A full SCIM client flow (RFC 7644 §3), as Okta or Entra ID would drive it. */
describe('SCIM 2.0 service provider', () => {
  let gatehouse: Gatehouse;
  let base: string;
  beforeAll(async () => {
    const database = await createTestDatabase();
    gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', SCIM_TOKEN: TOKEN }), createLogger('silent'));
    base = `http://127.0.0.1:${gatehouse.port}/scim/v2`;
  });
  afterAll(() => gatehouse?.stop());

  const call = async (method: string, path: string, body?: unknown, token = TOKEN) => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  const person = (email: string) => gatehouse.database.db.selectFrom('people').selectAll().where('email', '=', email).executeTakeFirst();

  const alice = {
    schemas: [USER, ENTERPRISE],
    userName: 'alice@company.com',
    name: { givenName: 'Alice', familyName: 'Ng' },
    emails: [{ value: 'alice@company.com', type: 'work', primary: true }],
    title: 'Platform Engineer',
    active: true,
    [ENTERPRISE]: { employeeNumber: 'emp_alice', department: 'Engineering' },
  };

  it('refuses requests without the bearer token, in SCIM error form', async () => {
    const res = await call('GET', '/Users', undefined, 'wrong');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '401' });
    expect(res.headers.get('content-type')).toContain('application/scim+json');
  });

  it('create → 201 with id, meta and Location; the person is created through the same path as the HRIS', async () => {
    const res = await call('POST', '/Users', alice);
    expect(res.status).toBe(201);
    const id = res.body!.id as string;
    expect(res.headers.get('location')).toBe(`${base}/Users/${id}`);
    expect(res.body).toMatchObject({ userName: 'alice@company.com', active: true, meta: { resourceType: 'User', version: 'W/"1"' }, [ENTERPRISE]: { employeeNumber: 'emp_alice' } });
    expect(await person('alice@company.com')).toMatchObject({ employee_id: 'emp_alice', status: 'active' });
    expect((await call('POST', '/Users', { ...alice, userName: 'ALICE@company.com' })).body).toMatchObject({ status: '409', scimType: 'uniqueness' });
  });

  it('get, filter (case-insensitive userName, and/or, sw, pr) and page through the list', async () => {
    for (let i = 0; i < 4; i++) await call('POST', '/Users', { schemas: [USER], userName: `user${i}@company.com`, emails: [{ value: `user${i}@company.com`, type: 'work' }] });
    const list = await call('GET', '/Users?startIndex=2&count=2');
    expect(list.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 5, startIndex: 2, itemsPerPage: 2 });
    const byName = await call('GET', `/Users?filter=${encodeURIComponent('userName eq "ALICE@COMPANY.COM"')}`);
    expect(byName.body).toMatchObject({ totalResults: 1 });
    const id = ((byName.body!.Resources as Record<string, unknown>[])[0]!).id as string;
    expect((await call('GET', `/Users/${id}`)).body).toMatchObject({ id, userName: 'alice@company.com' });
    expect((await call('GET', `/Users?filter=${encodeURIComponent('userName sw "user" and (emails.value co "1@" or emails.value co "2@")')}`)).body).toMatchObject({ totalResults: 2 });
    expect((await call('GET', `/Users?filter=${encodeURIComponent(`${ENTERPRISE}:employeeNumber pr`)}`)).body).toMatchObject({ totalResults: 1 });
    expect((await call('GET', `/Users?filter=${encodeURIComponent('emails[type eq "work" and value sw "user3"]')}`)).body).toMatchObject({ totalResults: 1 });
    const projected = await call('GET', `/Users/${id}?attributes=userName`);
    expect(Object.keys(projected.body!).sort()).toEqual(['id', 'schemas', 'userName']);
    expect((await call('GET', '/Users?filter=userName%20eq')).body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    expect((await call('GET', '/Users/not-an-id')).body).toMatchObject({ schemas: [ERROR], status: '404' });
  });

  it('PATCH active:false terminates the person (Entra sends "False" as a string), PUT replaces, DELETE removes', async () => {
    const id = (((await call('GET', `/Users?filter=${encodeURIComponent('userName eq "alice@company.com"')}`)).body!.Resources as Record<string, unknown>[])[0]!).id as string;
    const patched = await call('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }, { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Security' }] });
    expect(patched.status).toBe(204);
    expect((await call('GET', `/Users/${id}`)).body).toMatchObject({ active: false, [ENTERPRISE]: { department: 'Security' }, meta: { version: 'W/"2"' } });
    expect(await person('alice@company.com')).toMatchObject({ status: 'terminated' });
    const put = await call('PUT', `/Users/${id}`, { ...alice, title: 'Staff Engineer' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ title: 'Staff Engineer', active: true });
    expect(await person('alice@company.com')).toMatchObject({ status: 'active' });
    expect((await call('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'explode' }] })).body).toMatchObject({ status: '400' });
    expect((await call('DELETE', `/Users/${id}`)).status).toBe(204);
    expect((await call('GET', `/Users/${id}`)).status).toBe(404);
    expect(await person('alice@company.com')).toMatchObject({ status: 'terminated' });
  });

  it('group members become the person attribute groups, and follow add, remove and rename', async () => {
    const bob = await call('POST', '/Users', { schemas: [USER], userName: 'bob@company.com', emails: [{ value: 'bob@company.com', primary: true }] });
    const bobId = bob.body!.id as string;
    const group = await call('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'platform-oncall', members: [{ value: bobId }] });
    expect(group.status).toBe(201);
    const groupId = group.body!.id as string;
    const groups = async () => ((await person('bob@company.com'))!.data as { groups?: string[] }).groups;
    expect(await groups()).toEqual(['platform-oncall']);
    await call('PATCH', `/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'sre-oncall' }] });
    expect(await groups()).toEqual(['sre-oncall']);
    expect((await call('PATCH', `/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${bobId}"]` }] })).status).toBe(204);
    expect(await groups()).toEqual([]);
    expect((await call('PATCH', `/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: '00000000-0000-0000-0000-000000000000' }] }] })).body).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });

  it('serves the discovery documents', async () => {
    expect((await call('GET', '/ServiceProviderConfig')).body).toMatchObject({ patch: { supported: true }, filter: { supported: true } });
    expect(((await call('GET', '/ResourceTypes')).body!.Resources as { id: string }[]).map((r) => r.id)).toEqual(['User', 'Group']);
    expect(((await call('GET', '/Schemas')).body!.Resources as { id: string }[]).map((r) => r.id)).toContain(ENTERPRISE);
  });

  it('property: random user bodies and filters get a 4xx with a detail, never a 5xx', async () => {
    const before = async () => Number((await gatehouse.database.db.selectFrom('scim_users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.record({ userName: fc.oneof(fc.string(), fc.integer()), active: fc.oneof(fc.boolean(), fc.string()), emails: fc.jsonValue() })), fc.string(), async (body, filter) => {
        const count = await before();
        const res = await call('POST', '/Users', JSON.stringify(body));
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) {
          expect(typeof res.body!.detail).toBe('string');
          expect(await before()).toBe(count);
        }
        const list = await call('GET', `/Users?filter=${encodeURIComponent(filter)}`);
        expect(list.status).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
  });
});
