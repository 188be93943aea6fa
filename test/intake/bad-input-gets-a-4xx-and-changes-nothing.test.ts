import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { checkImport, contentDigest, ImportRejected, importPeople } from '../../src/intake/import-people.js';
import { createLogger } from '../../src/log.js';
import { PeopleFileError, parsePeopleText } from '../../src/people/people-file.js';
import { createTestDatabase } from '../helpers/database.js';

/**
 * Property tests for the intake parsers the webhook and BambooHR suites do not already cover:
 * SCIM PATCH, PUT and Group bodies, Group filters, and the CSV/JSON import. Random and mutated
 * input gets a 4xx (or, for the import, a refusal) with a message, never a 5xx or a crash, and a
 * refused request changes no row.
 */
const TOKEN = 'scim-token-property';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** A valid text with a slice replaced by random characters: mostly broken, sometimes still valid. */
const mutationsOf = (valid: string) =>
  fc.tuple(fc.nat(valid.length), fc.nat(12), fc.string({ maxLength: 6 })).map(([at, cut, text]) => valid.slice(0, at) + text + valid.slice(at + cut));

describe('bad input gets a 4xx with a message and changes nothing', () => {
  let gatehouse: Gatehouse;
  let base: string;
  let userId: string;
  let groupId: string;
  beforeAll(async () => {
    const database = await createTestDatabase();
    gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', SCIM_TOKEN: TOKEN }), createLogger('silent'));
    base = `http://127.0.0.1:${gatehouse.port}/scim/v2`;
    userId = (await call('POST', '/Users', { schemas: [USER], userName: 'prop@company.com', emails: [{ value: 'prop@company.com', primary: true }] })).body!.id as string;
    groupId = (await call('POST', '/Groups', { schemas: [GROUP], displayName: 'prop-group', members: [{ value: userId }] })).body!.id as string;
  });
  afterAll(() => gatehouse?.stop());

  async function call(method: string, path: string, body?: unknown) {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, body: json };
  }

  /** Every row an intake write can touch, with the target resources' versions. */
  async function snapshot() {
    const db = gatehouse.database.db;
    const count = async (table: 'scim_users' | 'scim_groups' | 'scim_group_members' | 'people' | 'person_events') => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return {
      users: await count('scim_users'),
      groups: await count('scim_groups'),
      members: await count('scim_group_members'),
      people: await count('people'),
      events: await count('person_events'),
      userVersion: (await db.selectFrom('scim_users').select('version').where('id', '=', userId).executeTakeFirst())?.version,
      groupVersion: (await db.selectFrom('scim_groups').select('version').where('id', '=', groupId).executeTakeFirst())?.version,
    };
  }

  async function expectRefusedOrDone(method: string, path: () => string, body: unknown) {
    const before = await snapshot();
    const res = await call(method, path(), body);
    expect(res.status, `${method} ${path()} ${typeof body === 'string' ? body : JSON.stringify(body)}`).toBeLessThan(500);
    if (res.status >= 400) {
      expect(res.body).toMatchObject({ schemas: [ERROR], status: String(res.status), detail: expect.any(String) });
      expect((res.body!.detail as string).length).toBeGreaterThan(0);
      expect(await snapshot()).toEqual(before);
    }
  }

  const jsonBodies = (valid: unknown) => fc.oneof(fc.jsonValue(), mutationsOf(JSON.stringify(valid)), fc.string());

  it('SCIM PATCH of a user', async () => {
    const valid = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: true }, { op: 'add', path: 'emails[type eq "work"].value', value: 'prop@company.com' }] };
    const ops = fc.record({ op: fc.oneof(fc.constantFrom('add', 'replace', 'remove', 'Replace'), fc.string()), path: fc.oneof(fc.constantFrom('active', 'title', 'name.givenName', 'emails[type eq "work"]', 'members', `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`), fc.string()), value: fc.jsonValue() }, { requiredKeys: ['op'] });
    await fc.assert(
      fc.asyncProperty(fc.oneof(jsonBodies(valid), fc.record({ schemas: fc.constant([PATCH]), Operations: fc.array(ops, { maxLength: 3 }) })), (body) =>
        expectRefusedOrDone('PATCH', () => `/Users/${userId}`, typeof body === 'string' ? body : JSON.stringify(body)),
      ),
      { numRuns: 50 },
    );
  });

  it('SCIM PUT of a user', async () => {
    const valid = { schemas: [USER], userName: 'prop@company.com', active: true, emails: [{ value: 'prop@company.com', primary: true }] };
    await fc.assert(fc.asyncProperty(jsonBodies(valid), (body) => expectRefusedOrDone('PUT', () => `/Users/${userId}`, typeof body === 'string' ? body : JSON.stringify(body))), { numRuns: 40 });
  });

  it('SCIM POST, PUT and PATCH of groups', async () => {
    const validGroup = { schemas: [GROUP], displayName: 'prop-group', members: [{ value: 'USER' }] };
    const validPatch = { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: 'USER' }] }, { op: 'remove', path: 'members[value eq "USER"]' }] };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('POST', 'PUT', 'PATCH'), fc.oneof(jsonBodies(validGroup), jsonBodies(validPatch)), async (method, body) => {
        const text = (typeof body === 'string' ? body : JSON.stringify(body)).replaceAll('USER', userId);
        await expectRefusedOrDone(method, () => (method === 'POST' ? '/Groups' : `/Groups/${groupId}`), text);
      }),
      { numRuns: 50 },
    );
  });

  it('SCIM filters on users and groups', async () => {
    const valid = 'userName eq "prop@company.com" and (emails[type eq "work" and value co "prop"] or displayName sw "P") and meta.created gt "2020-01-01T00:00:00Z"';
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/Users', '/Groups'), fc.oneof(mutationsOf(valid), fc.string()), async (path, filter) => {
        const res = await call('GET', `${path}?filter=${encodeURIComponent(filter)}`);
        expect(res.status, filter).toBeLessThan(500);
        if (res.status >= 400) expect(res.body).toMatchObject({ schemas: [ERROR], scimType: 'invalidFilter', detail: expect.any(String) });
      }),
      { numRuns: 60 },
    );
  });

  it('the CSV and JSON import: a file with any bad row is refused whole, naming the row', async () => {
    const header = 'employee_id,email,first_name,job_title,employment_type,start_date,attributes.github_login';
    const validCsv = `${header}\ne_p1,p1@company.com,Pat,Engineer,FTE,2026-01-05,pat\ne_p2,p2@company.com,Sam,Analyst,Contractor,2026-02-01,sam\n`;
    const validJson = JSON.stringify([{ employee_id: 'e_p3', email: 'p3@company.com', status: 'active', attributes: { level: 3 } }]);
    const db = gatehouse.database.db;
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutationsOf(validCsv).map((t) => ['csv', t] as const), mutationsOf(validJson).map((t) => ['json', t] as const), fc.string().map((t) => ['csv', t] as const)), async ([format, text]) => {
        const before = await snapshot();
        let records;
        try {
          records = checkImport(parsePeopleText(text, format, `export.${format}`), `export.${format}`);
        } catch (error) {
          expect(error instanceof ImportRejected || error instanceof PeopleFileError, String(error)).toBe(true);
          expect((error as Error).message).toMatch(/export\.(csv|json)/);
          expect(await snapshot()).toEqual(before);
          return;
        }
        // A file that passed the check imports without error, and a second run changes nothing.
        const first = await importPeople(db, gatehouse.boss, { records, name: `export.${format}`, digest: contentDigest(text) });
        expect(first.total).toBe(records.length);
        const again = await importPeople(db, gatehouse.boss, { records, name: `export.${format}`, digest: contentDigest(text) });
        expect(again.plan).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
