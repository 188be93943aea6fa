import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAttribute } from '../../src/policy/condition.js';
import { attackSurface, SECRETS } from './harness.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const NAMES = ['__proto__', 'constructor', 'prototype'];

/**
 * Threat (issue 27): a SCIM client (or whoever holds its token) sends a PATCH whose path or value
 * keys walk into `__proto__` / `constructor.prototype`. On the code before the fix,
 * `path: "__proto__.groups"` set Object.prototype.groups in the server process, so every person
 * without groups of their own "was in" the attacker's group until restart: a production-admin
 * request whose auto_approve tests `groups` was approved automatically.
 */
describe('security: SCIM PATCH/PUT/POST cannot pollute the object prototype', () => {
  const app = attackSurface();
  const prototypeNames = () => [...Object.getOwnPropertyNames(Object.prototype), ...Object.getOwnPropertySymbols(Object.prototype).map(String)].sort();
  const arrayNames = () => Object.getOwnPropertyNames(Array.prototype).sort();
  let before: string[];
  let arrayBefore: string[];
  let userId: string;
  beforeAll(() => {
    before = prototypeNames();
    arrayBefore = arrayNames();
  });
  afterAll(() => {
    // The app runs in this vitest worker: undo anything a failing run put on the prototypes so it
    // cannot leak into other tests' objects.
    for (const name of Object.getOwnPropertyNames(Object.prototype)) if (!before.includes(name)) delete (Object.prototype as Record<string, unknown>)[name];
    for (const name of Object.getOwnPropertyNames(Array.prototype)) if (!arrayBefore.includes(name)) delete (Array.prototype as unknown as Record<string, unknown>)[name];
  });

  const scim = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${app.base}/scim/v2${path}`, { method, headers: { authorization: `Bearer ${SECRETS.SCIM_TOKEN}`, 'content-type': 'application/scim+json' }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  const patch = (id: string, operations: unknown[], kind = 'Users') => scim('PATCH', `/${kind}/${id}`, { schemas: [PATCH], Operations: operations });
  const storedUser = async (id: string) => (await app.gatehouse.database.db.selectFrom('scim_users').select(['resource', 'version']).where('id', '=', id).executeTakeFirstOrThrow());
  const storedPerson = async () => (await app.gatehouse.database.db.selectFrom('people').select('data').where('email', '=', 'victim@company.com').executeTakeFirstOrThrow()).data;
  const expectRefused = (res: { status: number; body?: Record<string, unknown> }, scimType: 'invalidPath' | 'invalidValue') => {
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType });
  };

  it('creates the victim user (the PATCHes below target it)', async () => {
    const res = await scim('POST', '/Users', { schemas: [USER, ENTERPRISE], userName: 'victim@company.com', name: { givenName: 'Vic', familyName: 'Tim' }, emails: [{ value: 'victim@company.com', type: 'work', primary: true }], [ENTERPRISE]: { employeeNumber: 'emp_victim', department: 'Engineering' } });
    expect(res.status).toBe(201);
    userId = res.body!.id as string;
  });

  it('path "__proto__.groups" is refused with 400 invalidPath, and no object gains `groups`', async () => {
    const person = await storedPerson();
    const version = (await storedUser(userId)).version;
    for (const op of ['add', 'replace']) {
      const res = await patch(userId, [{ op, path: '__proto__.groups', value: ['platform-oncall'] }]);
      expect(({} as Record<string, unknown>).groups).toBeUndefined();
      expectRefused(res, 'invalidPath');
    }
    expect(prototypeNames()).toEqual(before);
    expect((await storedUser(userId)).version).toBe(version);
    expect(await storedPerson()).toEqual(person);
  });

  it('every other way into a prototype through a path is refused: constructor.prototype.x, a URN attribute, a filter path, any case', async () => {
    const paths = [
      'constructor.prototype.groups',
      'name.__proto__.polluted',
      'prototype',
      `${USER}:__proto__`,
      `${ENTERPRISE}:__proto__.polluted`,
      `${ENTERPRISE}:manager.constructor`,
      'emails[type eq "work"].__proto__',
      '__proto__[value eq "x"]',
      'emails[__proto__ eq "x"]',
      'emails[type eq "home"].constructor',
      '__PROTO__.groups',
      'Constructor.Prototype.groups',
    ];
    for (const path of paths) {
      const res = await patch(userId, [{ op: 'add', path, value: { polluted: true } }]);
      expect({ path, status: res.status, scimType: res.body?.scimType }).toEqual({ path, status: 400, scimType: 'invalidPath' });
    }
    expect(prototypeNames()).toEqual(before);
  });

  it('value objects with __proto__ / constructor / prototype keys are refused with 400 invalidValue, at any depth', async () => {
    const version = (await storedUser(userId)).version;
    const values: { path?: string; value: string }[] = [
      // JSON text, not objects: JSON.stringify would drop a literal __proto__ key.
      { value: '{"__proto__":{"groups":["platform-oncall"]}}' },
      { value: '{"name":{"__proto__":{"polluted":true}}}' },
      { path: 'emails[type eq "work"]', value: '{"__proto__":{"primary":true,"value":"ceo@company.com"}}' },
      { path: 'emails[type eq "home"]', value: '{"constructor":{"prototype":{"polluted":true}}}' },
      { path: 'name', value: '{"prototype":"x"}' },
      { path: 'emails', value: '[{"value":"a@company.com","__proto__":{"polluted":true}}]' },
    ];
    for (const { path, value } of values) {
      const raw = `{"schemas":["${PATCH}"],"Operations":[{"op":"add",${path ? `"path":${JSON.stringify(path)},` : ''}"value":${value}}]}`;
      expectRefused(await scim('PATCH', `/Users/${userId}`, raw), 'invalidValue');
    }
    expect(prototypeNames()).toEqual(before);
    expect((await storedUser(userId)).version).toBe(version);
  });

  it('POST and PUT bodies with those keys are refused with 400 invalidValue, and nothing is stored', async () => {
    const users = await app.gatehouse.database.db.selectFrom('scim_users').select('id').execute();
    const body = (extra: string) => `{"schemas":["${USER}"],"userName":"mallory@company.com","emails":[{"value":"mallory@company.com"}],${extra}}`;
    for (const extra of ['"__proto__":{"active":false}', '"name":{"constructor":{"prototype":{"x":1}}}', `"${ENTERPRISE}":{"prototype":"x"}`]) {
      expectRefused(await scim('POST', '/Users', body(extra)), 'invalidValue');
      expectRefused(await scim('PUT', `/Users/${userId}`, body(extra)), 'invalidValue');
    }
    expectRefused(await scim('POST', '/Groups', '{"displayName":"eng","__proto__":{"x":1}}'), 'invalidValue');
    expect(await app.gatehouse.database.db.selectFrom('scim_users').select('id').execute()).toEqual(users);
    expect(await app.gatehouse.database.db.selectFrom('scim_groups').select('id').execute()).toEqual([]);
    expect(prototypeNames()).toEqual(before);
  });

  it('group PATCH paths are refused the same way', async () => {
    const group = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'designers' });
    expect(group.status).toBe(201);
    const id = group.body!.id as string;
    expectRefused(await patch(id, [{ op: 'add', path: '__proto__.groups', value: ['platform-oncall'] }], 'Groups'), 'invalidPath');
    expectRefused(await patch(id, [{ op: 'replace', path: 'constructor.prototype.displayName', value: 'x' }], 'Groups'), 'invalidPath');
    expect(prototypeNames()).toEqual(before);
  });

  it('ordinary PATCHes still apply (the refusals above are about the names)', async () => {
    expect((await patch(userId, [{ op: 'replace', path: 'name.givenName', value: 'Victoria' }, { op: 'add', path: 'emails[type eq "home"].value', value: 'vic@home.example' }])).status).toBe(204);
    expect(((await storedUser(userId)).resource as { name: { givenName: string } }).name.givenName).toBe('Victoria');
  });

  it('property: any PATCH with those names at any position of a path or key is a 400, nothing changes, and Object.prototype gains nothing', async () => {
    const bad = fc.constantFrom(...NAMES, '__PROTO__', 'Constructor', 'PROTOTYPE');
    const good = fc.constantFrom('name', 'givenName', 'groups', 'emails', 'title', 'x', 'manager', 'value');
    const segment = fc.oneof(good, bad);
    const urnPrefix = fc.constantFrom('', `${USER}:`, `${ENTERPRISE}:`);
    // A path with a forbidden name somewhere in it: segments around it, maybe under a URN, maybe a filter.
    const badPath = fc
      .tuple(urnPrefix, fc.array(segment, { maxLength: 3 }), bad, fc.array(segment, { maxLength: 3 }), fc.boolean())
      .map(([urn, pre, name, post, filtered]) => {
        const parts = [...pre, name, ...post];
        return filtered && parts.length > 1 ? `${urn}${parts[0]}[type eq "work"].${parts.slice(1).join('.')}` : `${urn}${parts.join('.')}`;
      });
    const goodPath = fc.array(good, { minLength: 1, maxLength: 3 }).map((p) => p.join('.'));
    // JSON text of a value with a forbidden key at some depth (as text: JSON.stringify drops __proto__).
    const leaf = fc.oneof(fc.string({ maxLength: 5 }).map((s) => JSON.stringify(s)), fc.constant('true'), fc.constant('["platform-oncall"]'));
    const badValue: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.tuple(bad, leaf, fc.array(fc.tuple(good, leaf), { maxLength: 2 })).map(([k, v, rest]) => `{${[[k, v], ...rest].map(([a, b]) => `${JSON.stringify(a)}:${b}`).join(',')}}`),
        fc.tuple(good, tie('v')).map(([k, v]) => `{${JSON.stringify(k)}:${v}}`),
        tie('v').map((v) => `[${v}]`),
      ),
    })).v;
    const badOp = fc.oneof(
      fc.tuple(fc.constantFrom('add', 'replace', 'remove', 'Replace'), badPath, leaf).map(([op, path, value]) => `{"op":"${op}","path":${JSON.stringify(path)},"value":${value}}`),
      fc.tuple(fc.constantFrom('add', 'replace'), fc.option(goodPath, { nil: undefined }), badValue).map(([op, path, value]) => `{"op":"${op}",${path ? `"path":${JSON.stringify(path)},` : ''}"value":${value}}`),
    );
    const goodOp = fc.tuple(fc.constantFrom('add', 'replace'), goodPath, leaf).map(([op, path, value]) => `{"op":"${op}","path":${JSON.stringify(path)},"value":${value}}`);
    const version = (await storedUser(userId)).version;
    const person = await storedPerson();
    await fc.assert(
      fc.asyncProperty(fc.array(goodOp, { maxLength: 2 }), badOp, fc.array(goodOp, { maxLength: 2 }), async (pre, op, post) => {
        const raw = `{"schemas":["${PATCH}"],"Operations":[${[...pre, op, ...post].join(',')}]}`;
        const res = await scim('PATCH', `/Users/${userId}`, raw);
        expect(prototypeNames()).toEqual(before);
        expect(arrayNames()).toEqual(arrayBefore);
        expect(({} as Record<string, unknown>).groups).toBeUndefined();
        expect(res.status).toBe(400);
        expect(['invalidPath', 'invalidValue']).toContain(res.body?.scimType);
      }),
      { numRuns: 150 },
    );
    expect((await storedUser(userId)).version).toBe(version);
    expect(await storedPerson()).toEqual(person);
  });

  it('policies read only a person\'s own attributes: a polluted prototype still would not put anyone in a group', () => {
    const proto = Object.prototype as Record<string, unknown>;
    try {
      proto.groups = ['platform-oncall'];
      proto.polluted = 'yes';
      expect(readAttribute({ employee_id: 'e1', email: 'e1@company.com' }, 'groups')).toEqual([]);
      expect(readAttribute({ employee_id: 'e1', email: 'e1@company.com' }, 'polluted')).toBeUndefined();
      expect(readAttribute({ employee_id: 'e1', email: 'e1@company.com', attributes: {} }, 'attributes.polluted')).toBeUndefined();
      expect(readAttribute({ employee_id: 'e1', email: 'e1@company.com', attributes: {} }, 'attributes.constructor')).toBeUndefined();
      expect(readAttribute({ employee_id: 'e1', email: 'e1@company.com', groups: ['eng'] }, 'groups')).toEqual(['eng']);
    } finally {
      delete proto.groups;
      delete proto.polluted;
    }
  });
});
