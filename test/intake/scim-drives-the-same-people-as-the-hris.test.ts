import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { applyPersonChange } from '../../src/people/apply-change.js';
import { personRecordSchema } from '../../src/people/person-record.js';
import { createTestDatabase } from '../helpers/database.js';

const TOKEN = 'scim-token-people';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/**
 * An IdP pushing SCIM for people the HRIS also describes (RFC 7643 §4.1, §4.3; RFC 7644 §3.5.2,
 * §3.14): one person per human, HRIS-only fields kept, and status decided only by what SCIM changed.
 */
describe('SCIM users drive the same person rows as the HRIS', () => {
  let gatehouse: Gatehouse;
  let base: string;
  beforeAll(async () => {
    const database = await createTestDatabase();
    gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', SCIM_TOKEN: TOKEN }), createLogger('silent'));
    base = `http://127.0.0.1:${gatehouse.port}/scim/v2`;
  });
  afterAll(() => gatehouse?.stop());

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json', ...headers }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  const hris = (data: Record<string, unknown>, at: string, type = 'employee.hired') =>
    gatehouse.database.db.transaction().execute((trx) =>
      applyPersonChange(trx, gatehouse.boss, {
        source: 'hris',
        eventId: `evt_${Math.random()}`,
        eventType: type,
        occurredAt: new Date(at),
        record: personRecordSchema.parse(data),
        payload: data,
        terminates: type === 'employee.terminated',
      }),
    );
  const people = (email: string) => gatehouse.database.db.selectFrom('people').selectAll().where('email', '=', email).execute();

  it('merges SCIM attributes over the HRIS record: team and start_date survive, title follows the IdP', async () => {
    await hris({ employee_id: 'emp_100', email: 'dana@company.com', team: 'Platform', start_date: '2026-01-05', job_title: 'Engineer' }, '2026-01-01T00:00:00Z');
    const created = await call('POST', '/Users', { schemas: [USER, ENTERPRISE], userName: 'dana@company.com', title: 'Senior Engineer', emails: [{ value: 'dana@company.com', primary: true }], [ENTERPRISE]: { employeeNumber: 'emp_100' } });
    expect(created.status).toBe(201);
    const [person] = await people('dana@company.com');
    expect(person).toMatchObject({ employee_id: 'emp_100', scim_user_id: created.body!.id, status: 'active' });
    expect(person!.data).toMatchObject({ team: 'Platform', start_date: '2026-01-05', job_title: 'Senior Engineer' });

    // Removing the title in the IdP clears it; attributes SCIM never sent stay.
    expect((await call('PATCH', `/Users/${created.body!.id}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: 'title' }] })).status).toBe(204);
    const [after] = await people('dana@company.com');
    expect(after!.data).toMatchObject({ team: 'Platform', job_title: null });
  });

  it('links a SCIM user without employeeNumber to the HRIS person with the same email, not a twin', async () => {
    await hris({ employee_id: 'emp_200', email: 'eli@company.com', team: 'Sales' }, '2026-01-01T00:00:00Z');
    const created = await call('POST', '/Users', { schemas: [USER], userName: 'ELI@company.com', name: { givenName: 'Eli', familyName: 'Park' } });
    expect(created.status).toBe(201);
    const rows = await gatehouse.database.db.selectFrom('people').selectAll().where((eb) => eb.fn('lower', ['email']), '=', 'eli@company.com').execute();
    expect(rows.map((r) => r.employee_id)).toEqual(['emp_200']);
    expect(rows[0]!.data).toMatchObject({ first_name: 'Eli', team: 'Sales' });
  });

  it('a group change for a user the HRIS terminated does not rehire them; only a change of active does', async () => {
    await hris({ employee_id: 'emp_300', email: 'fay@company.com' }, '2026-01-01T00:00:00Z');
    const user = await call('POST', '/Users', { schemas: [USER, ENTERPRISE], userName: 'fay@company.com', active: true, [ENTERPRISE]: { employeeNumber: 'emp_300' } });
    // The HRIS terminates after the IdP created the user (SCIM changes are dated when they arrive).
    await hris({ employee_id: 'emp_300', email: 'fay@company.com', status: 'terminated' }, new Date().toISOString(), 'employee.terminated');
    const group = await call('POST', '/Groups', { schemas: [GROUP], displayName: 'designers', members: [{ value: user.body!.id }] });
    expect(group.status).toBe(201);
    const [person] = await people('fay@company.com');
    expect(person).toMatchObject({ status: 'terminated' });
    expect(person!.data).toMatchObject({ groups: ['designers'] });

    // The IdP deactivates, then reactivates: that is SCIM deciding, so the person is rehired.
    await call('PATCH', `/Users/${user.body!.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] });
    await call('PATCH', `/Users/${user.body!.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: true } }] });
    const [rehired] = await people('fay@company.com');
    expect(rehired!.status).toBe('active');
    const classes = await gatehouse.database.db.selectFrom('person_events').select('classification').where('person_id', '=', rehired!.id).where('source', '=', 'scim').orderBy('id').execute();
    expect(classes.slice(-2).map((c) => c.classification)).toEqual(['none', 'rehire']);
  });

  it('a placeholder person takes the employeeNumber the IdP adds later; one that names another person is terminated', async () => {
    const user = await call('POST', '/Users', { schemas: [USER], userName: 'gus@company.com' });
    const [placeholder] = await people('gus@company.com');
    expect(placeholder!.employee_id).toBe(`scim-${user.body!.id}`);
    await call('PATCH', `/Users/${user.body!.id}`, { schemas: [PATCH], Operations: [{ op: 'add', path: `${ENTERPRISE}:employeeNumber`, value: 'emp_400' }] });
    expect((await people('gus@company.com')).map((p) => [p.id, p.employee_id, p.status])).toEqual([[placeholder!.id, 'emp_400', 'active']]);

    await hris({ employee_id: 'emp_500', email: 'hal@company.com' }, '2026-01-01T00:00:00Z');
    const hal = await call('POST', '/Users', { schemas: [USER], userName: 'hal.scim@company.com' });
    await call('PATCH', `/Users/${hal.body!.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'emails', value: [{ value: 'hal@company.com', primary: true }] }, { op: 'add', path: `${ENTERPRISE}:employeeNumber`, value: 'emp_500' }] });
    const placeholderHal = await gatehouse.database.db.selectFrom('people').selectAll().where('employee_id', '=', `scim-${hal.body!.id}`).executeTakeFirstOrThrow();
    expect(placeholderHal).toMatchObject({ status: 'terminated', scim_user_id: null });
    expect(await gatehouse.database.db.selectFrom('people').select(['scim_user_id', 'status']).where('employee_id', '=', 'emp_500').executeTakeFirstOrThrow()).toEqual({ scim_user_id: hal.body!.id, status: 'active' });
  });

  it('If-Match: a stale version gets 412 and changes nothing; the current one goes through (RFC 7644 §3.14)', async () => {
    const user = await call('POST', '/Users', { schemas: [USER], userName: 'ivy@company.com', title: 'Analyst' });
    const id = user.body!.id as string;
    expect(user.headers.get('etag')).toBe('W/"1"');
    const stale = await call('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: 'Lead' }] }, { 'if-match': 'W/"7"' });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ schemas: [ERROR], status: '412' });
    expect((await call('GET', `/Users/${id}`)).body).toMatchObject({ title: 'Analyst', meta: { version: 'W/"1"' } });
    const fresh = await call('PATCH', `/Users/${id}?attributes=title`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: 'Lead' }] }, { 'if-match': 'W/"1"' });
    // Asking for attributes= gets the resource back (RFC 7644 §3.5.2: 200 with the resource).
    expect(fresh.status).toBe(200);
    expect(fresh.body).toEqual({ schemas: [USER], id, title: 'Lead' });
    expect(fresh.headers.get('etag')).toBe('W/"2"');
    expect((await call('DELETE', `/Users/${id}`, undefined, { 'if-match': 'W/"1"' })).status).toBe(412);
    expect((await call('DELETE', `/Users/${id}`, undefined, { 'if-match': 'W/"2"' })).status).toBe(204);
  });

  it('pages through users with totalResults counting all of them', async () => {
    const total = (await call('GET', '/Users?count=0')).body!.totalResults as number;
    expect(total).toBeGreaterThan(4);
    const seen: string[] = [];
    for (let start = 1; start <= total; start += 2) {
      const page = await call('GET', `/Users?startIndex=${start}&count=2`);
      expect(page.body).toMatchObject({ totalResults: total, startIndex: start });
      seen.push(...(page.body!.Resources as { id: string }[]).map((r) => r.id));
    }
    expect(new Set(seen).size).toBe(total);
    expect((await call('GET', `/Users?startIndex=${total + 1}`)).body).toMatchObject({ totalResults: total, itemsPerPage: 0, Resources: [] });
  });

  it('answers a body over 1 MiB with 413 in SCIM error form', async () => {
    const res = await call('POST', '/Users', JSON.stringify({ schemas: [USER], userName: 'big@company.com', title: 'x'.repeat(1024 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '413' });
  });
});
