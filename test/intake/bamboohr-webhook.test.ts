import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { signBamboo } from '../../src/intake/bamboohr.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';

const KEY = 'bamboohr-private-key-for-tests';

/** A field-based webhook payload (https://documentation.bamboohr.com/docs/field-based-webhooks). */
function payload(action: 'Created' | 'Updated' | 'Deleted', id: string, fields: Record<string, string | null>, timestamp = '2026-11-22T15:01:00+00:00') {
  return { employees: [{ id, action, timestamp, changedFields: Object.keys(fields), fields }] };
}

describe('POST /hris/bamboohr', () => {
  let gatehouse: Gatehouse;
  let base: string;
  beforeAll(async () => {
    const database = await createTestDatabase();
    gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', BAMBOOHR_WEBHOOK_SECRET: KEY }), createLogger('silent'));
    base = `http://127.0.0.1:${gatehouse.port}`;
  });
  afterAll(() => gatehouse?.stop());

  const post = (body: string, headers?: Record<string, string>) => {
    const { signature, timestamp } = signBamboo(KEY, body);
    return fetch(`${base}/hris/bamboohr`, { method: 'POST', headers: { 'content-type': 'application/json', ...(headers ?? { 'x-bamboohr-signature': signature, 'x-bamboohr-timestamp': timestamp }) }, body });
  };
  const person = (id: string) => gatehouse.database.db.selectFrom('people').selectAll().where('employee_id', '=', id).executeTakeFirst();

  it('Created → a hire, with BambooHR fields mapped to the person record', async () => {
    const res = await post(JSON.stringify(payload('Created', '4041', { 'Work Email': 'maya@company.com', 'First Name': 'Maya', 'Last Name': 'Ortiz', 'Job Title': 'Account Executive', Department: 'Sales', 'Employment Status': 'Full-Time', 'Hire Date': '2026-12-01', 'Termination Date': '0000-00-00', Status: 'Active' })));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: true, employees: [{ id: '4041', status: 'accepted' }] });
    expect((await person('4041'))?.data).toMatchObject({ email: 'maya@company.com', job_title: 'Account Executive', department: 'Sales', employment_type: 'FTE', start_date: '2026-12-01', end_date: null, status: 'active' });
  });

  it('Updated with only the changed fields → merged over what the store knows (a mover)', async () => {
    const res = await post(JSON.stringify(payload('Updated', '4041', { 'Job Title': 'Sales Engineer' }, '2026-11-23T10:00:00+00:00')));
    expect(res.status).toBe(202);
    const stored = await person('4041');
    expect(stored?.data).toMatchObject({ email: 'maya@company.com', job_title: 'Sales Engineer', department: 'Sales' });
    const event = await gatehouse.database.db.selectFrom('person_events').select('classification').where('source', '=', 'bamboohr').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(event.classification).toBe('mover');
  });

  it('Deleted → a termination', async () => {
    expect((await post(JSON.stringify(payload('Deleted', '4041', {}, '2026-11-24T10:00:00+00:00')))).status).toBe(202);
    expect((await person('4041'))?.status).toBe('terminated');
  });

  it('Created and Deleted without fields (as BambooHR sends them) are kept in history and acknowledged', async () => {
    // https://documentation.bamboohr.com/docs/global-webhooks: "For Created and Deleted actions the
    // payload will always contain empty changedFields and fields objects".
    const created = await post(JSON.stringify({ employees: [{ id: '4242', action: 'Created', timestamp: '2026-11-22T15:01:00+0000', changedFields: [], fields: {} }] }));
    expect(created.status).toBe(202);
    expect(await created.json()).toEqual({ accepted: true, employees: [{ id: '4242', status: 'recorded' }] });
    expect(await person('4242')).toBeUndefined();
    // The Updated that follows carries the posted fields and creates the person.
    const updated = await post(JSON.stringify(payload('Updated', '4242', { 'Work Email': 'noor@company.com', 'First Name': 'Noor' }, '2026-11-22T15:01:05+0000')));
    expect(updated.status).toBe(202);
    expect((await person('4242'))?.status).toBe('active');
    const deletedUnknown = await post(JSON.stringify({ employees: [{ id: '9999', action: 'Deleted', timestamp: '2026-11-22T15:01:00+0000', changedFields: [], fields: {} }] }));
    expect(deletedUnknown.status).toBe(202);
    const history = await gatehouse.database.db.selectFrom('person_events').select(['event_id', 'applied', 'person_id']).where('source', '=', 'bamboohr').where('event_id', 'like', '9999:%').execute();
    expect(history).toEqual([{ event_id: '9999:Deleted:2026-11-22T15:01:00+0000', applied: false, person_id: null }]);
  });

  it('refuses an Event-Based webhook payload, which carries no field values, saying what to change', async () => {
    // https://documentation.bamboohr.com/docs/event-based-webhooks (JSON format).
    const res = await post(JSON.stringify({ type: 'employee.updated', timestamp: '2026-01-31T18:42:00+0000', data: { companyId: '12345', employeeId: '67890', changedFields: ['firstName'] } }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message).toContain('Field-Based');
  });

  it('reads an ISO 8601 X-BambooHR-Timestamp as well as unix seconds', async () => {
    const body = JSON.stringify(payload('Updated', '4041', { 'Job Title': 'Solutions Engineer' }, '2026-11-25T10:00:00+00:00'));
    const iso = new Date().toISOString();
    const { signature } = signBamboo(KEY, body);
    const signed = createHmac('sha256', KEY).update(body).update(iso).digest('hex');
    expect(signature).not.toBe(signed);
    expect((await post(body, { 'x-bamboohr-signature': signed, 'x-bamboohr-timestamp': iso })).status).toBe(202);
  });

  it('refuses bad, missing and stale signatures with 401', async () => {
    const body = JSON.stringify(payload('Created', '5000', { 'Work Email': 'x@company.com' }));
    expect((await post(body, { 'x-bamboohr-signature': signBamboo('wrong', body).signature, 'x-bamboohr-timestamp': String(Math.floor(Date.now() / 1000)) })).status).toBe(401);
    expect((await post(body, {})).status).toBe(401);
    const old = signBamboo(KEY, body, Math.floor(Date.now() / 1000) - 600);
    expect((await post(body, { 'x-bamboohr-signature': old.signature, 'x-bamboohr-timestamp': old.timestamp })).status).toBe(401);
    expect(await person('5000')).toBeUndefined();
  });

  it('answers unmappable values and missing required fields with 400 and paths, storing nothing', async () => {
    const res = await post(JSON.stringify(payload('Created', '6000', { 'Work Email': 'y@company.com', 'Employment Status': 'Seasonal' })));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['employees.0.fields.Employment Status']);
    const missing = await post(JSON.stringify(payload('Created', '6001', { 'First Name': 'No Email' })));
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { errors: { path: string; message: string }[] }).errors).toEqual([{ path: 'employees.0.email', message: expect.stringMatching(/^is required \(BambooHR employee 6001 is new to Gatehouse.*BAMBOOHR_FIELD_MAP/) }]);
    expect(await person('6000')).toBeUndefined();
    expect(await person('6001')).toBeUndefined();
  });

  it('property: random and mutated bodies never get a 5xx, and a 400 stores nothing', async () => {
    const valid = JSON.stringify(payload('Created', '7000', { 'Work Email': 'p@company.com' }));
    const mutated = fc.tuple(fc.nat(valid.length), fc.nat(20), fc.string({ maxLength: 8 })).map(([at, cut, text]) => valid.slice(0, at) + text + valid.slice(at + cut));
    const count = async () => Number((await gatehouse.database.db.selectFrom('person_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), mutated), async (body) => {
        const before = await count();
        const res = await post(body);
        expect(res.status).toBeLessThan(500);
        if (res.status === 400) expect(await count()).toBe(before);
        await res.body?.cancel();
      }),
      { numRuns: 50 },
    );
  });
});
