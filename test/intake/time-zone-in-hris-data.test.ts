import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';
import { until } from '../helpers/until.js';

const SECRET = 'whsec_test_tz';

/**
 * Issue 17: the HRIS webhook's `data` may carry `time_zone` (an optional IANA zone; an extra
 * optional field, so senders that do not know it are unaffected). An invalid one is a 400 naming
 * the field, and nothing is stored. Without it, LOCATION_TIME_ZONES and DEFAULT_TIME_ZONE decide,
 * and the policy engine's `expires: end_date` ends at midnight in that zone.
 */
describe('time_zone in the HRIS webhook data', () => {
  let gatehouse: Gatehouse;
  let base: string;
  beforeAll(async () => {
    const database = await createTestDatabase();
    gatehouse = await startGatehouse(
      loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET, LOCATION_TIME_ZONES: '{"Sydney":"Australia/Sydney"}', DEFAULT_TIME_ZONE: 'America/New_York' }),
      createLogger('silent'),
    );
    base = `http://127.0.0.1:${gatehouse.port}`;
  });
  afterAll(() => gatehouse?.stop());

  let n = 0;
  const hire = (data: Record<string, unknown>) => {
    const body = JSON.stringify({ event_type: 'employee.hired', event_id: `evt_tz_${n++}`, timestamp: '2026-11-22T15:01:00Z', data: { first_name: 'Casey', employment_type: 'Contractor', end_date: '2099-01-31', ...data } });
    return fetch(`${base}/hris/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'gatehouse-signature': signHris(SECRET, body) }, body });
  };
  const person = (employeeId: string) => gatehouse.database.db.selectFrom('people').selectAll().where('employee_id', '=', employeeId).executeTakeFirst();
  const oktaExpiry = async (employeeId: string) => {
    const { id } = (await person(employeeId))!;
    const grant = await until(`${employeeId}'s okta:account`, () => gatehouse.database.db.selectFrom('grants').select('expires_at').where('person_id', '=', id).where('entitlement', '=', 'okta:account').executeTakeFirst());
    return grant.expires_at?.toISOString();
  };

  it('an invalid time_zone is a 400 naming data.time_zone, and nothing is stored', async () => {
    const res = await hire({ employee_id: 'emp_bad_tz', email: 'bad.tz@contractor.example', time_zone: 'Australia/Sidney' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ errors: [{ path: 'data.time_zone', message: '"Australia/Sidney" is not an IANA time zone; use a name such as Australia/Sydney, America/New_York or UTC' }] });
    expect(await person('emp_bad_tz')).toBeUndefined();
  });

  it('a valid one is stored as the zone database spells it, and end_date ends at midnight there', async () => {
    expect((await hire({ employee_id: 'emp_tz', email: 'tz@contractor.example', time_zone: 'australia/sydney', location: 'Berlin' })).status).toBe(202);
    expect((await person('emp_tz'))!.data).toMatchObject({ time_zone: 'Australia/Sydney' });
    expect(await oktaExpiry('emp_tz')).toBe('2099-01-31T13:00:00.000Z');
  });

  it('without one, the location map decides, else DEFAULT_TIME_ZONE', async () => {
    expect((await hire({ employee_id: 'emp_loc', email: 'loc@contractor.example', location: 'Sydney' })).status).toBe(202);
    expect((await hire({ employee_id: 'emp_default', email: 'default@contractor.example', location: 'Berlin' })).status).toBe(202);
    expect(await oktaExpiry('emp_loc')).toBe('2099-01-31T13:00:00.000Z');
    // America/New_York in January: UTC−5.
    expect(await oktaExpiry('emp_default')).toBe('2099-02-01T05:00:00.000Z');
  });
});
