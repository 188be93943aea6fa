import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/process.js';

/**
 * Issue 17: `gatehouse plan` and `why` evaluate people as `serve` does, so they read the same
 * DEFAULT_TIME_ZONE and LOCATION_TIME_ZONES, and a bad value stops them naming the variable.
 */
describe('gatehouse plan / why with time zones (the built command)', () => {
  const ZONES = { LOCATION_TIME_ZONES: '{"Sydney":"Australia/Sydney","Tutuila":"Pacific/Pago_Pago","Line Islands":"Pacific/Kiritimati"}', DEFAULT_TIME_ZONE: 'America/New_York' };
  const gatehouse = (env: Record<string, string>, ...args: string[]) => run('node', ['bin/gatehouse.js', ...args], env);
  // Pago Pago (UTC−11) and Kiritimati (UTC+14) are 25 hours apart: on Pago Pago's today, Kiritimati
  // is always at least a day later, so an end_date of Pago Pago's today is over there and not here.
  const pagoToday = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Pacific/Pago_Pago', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  let people: string;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plan-tz-'));
    people = join(dir, 'people.json');
    const contractor = (id: string, extra: Record<string, string>) => ({ employee_id: id, email: `${id}@contractor.example`, employment_type: 'Contractor', end_date: '2099-01-31', ...extra });
    await writeFile(
      people,
      JSON.stringify([
        contractor('sydney', { location: 'Sydney' }),
        contractor('explicit', { location: 'Sydney', time_zone: 'Asia/Tokyo' }),
        contractor('elsewhere', { location: 'Lisbon' }),
        contractor('pago', { location: 'Tutuila', end_date: pagoToday() }),
        contractor('line', { location: 'Line Islands', end_date: pagoToday() }),
      ]),
    );
  });

  it('plan: expires_at is midnight after end_date in the time_zone, else the location’s zone, else DEFAULT_TIME_ZONE', async () => {
    const { code, output } = await gatehouse(ZONES, 'plan', '--people', people, '--format', 'json');
    expect(code).toBe(0);
    const expiry = (email: string) => (JSON.parse(output) as { people: { email: string; grants: { entitlement: string; expires_at: string | null }[] }[] }).people.find((p) => p.email === email)?.grants.find((g) => g.entitlement === 'okta:account')?.expires_at;
    expect(expiry('sydney@contractor.example')).toBe('2099-01-31T13:00:00.000Z');
    expect(expiry('explicit@contractor.example')).toBe('2099-01-31T15:00:00.000Z');
    expect(expiry('elsewhere@contractor.example')).toBe('2099-02-01T05:00:00.000Z');
  });

  it('why: the last day where the person is still grants; the same date already over in their zone does not', async () => {
    const pago = await gatehouse(ZONES, 'why', 'pago@contractor.example', 'okta:account', '--people', people);
    expect(pago.output).toContain('pago@contractor.example gets okta:account from:');
    const line = await gatehouse(ZONES, 'why', 'line@contractor.example', 'okta:account', '--people', people);
    expect(line.output).toContain('does not get it: the person is not active (terminated or past end_date)');
  });

  it('a zone the database does not know stops the command, naming the variable', async () => {
    const bad = await gatehouse({ LOCATION_TIME_ZONES: '{"Sydney":"Australia/Sidney"}', DEFAULT_TIME_ZONE: 'Mars/Olympus' }, 'plan', '--people', people);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('DEFAULT_TIME_ZONE: "Mars/Olympus" is not an IANA time zone');
    expect(bad.output).toContain('LOCATION_TIME_ZONES: "Sydney": "Australia/Sidney" is not an IANA time zone');
  });
});
