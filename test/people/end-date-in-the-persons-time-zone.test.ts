import { describe, expect, it } from 'vitest';
import { applyPersonChange, type PersonChange } from '../../src/people/apply-change.js';
import { personRecordSchema } from '../../src/people/person-record.js';
import { migratedDatabaseWithQueue } from '../helpers/database.js';

const HOUR = 3_600_000;
const SETTINGS = { byLocation: new Map([['sydney', 'Australia/Sydney'], ['london', 'Europe/London']]), defaultZone: 'UTC' };

/**
 * Issue 17: intake decided "end_date has passed" and when the leaver reconcile runs in UTC. Both
 * are now on the person's calendar (time_zone, else LOCATION_TIME_ZONES, else DEFAULT_TIME_ZONE),
 * the same instants the policy engine uses.
 */
describe("start and end dates are days in the person's time zone", () => {
  const env = migratedDatabaseWithQueue();

  let n = 0;
  const change = (employeeId: string, at: string, data: Record<string, unknown>): PersonChange => ({
    source: 'hris',
    eventId: `evt_tz_${n++}`,
    eventType: 'employee.updated',
    occurredAt: new Date(at),
    record: personRecordSchema.parse({ employee_id: employeeId, email: `${employeeId}@company.com`, ...data }),
    payload: {},
    terminates: false,
  });
  const apply = (c: PersonChange, now: string) => env.handle.db.transaction().execute((trx) => applyPersonChange(trx, env.boss, c, { now: new Date(now), joinerLeadTimeMs: 24 * HOUR, timeZones: SETTINGS }));
  const leaverJobs = async (employeeId: string) =>
    (
      await env.handle.pool.query<{ start_after: Date }>(
        `select j.start_after from pgboss.job j join people p on p.id::text = j.data->>'personId'
         where j.name = 'reconcile-person' and j.data->>'reason' = 'leaver' and p.employee_id = $1 order by j.start_after`,
        [employeeId],
      )
    ).rows.map((j) => j.start_after.toISOString());
  const status = async (employeeId: string) => (await env.handle.db.selectFrom('people').select('status').where('employee_id', '=', employeeId).executeTakeFirstOrThrow()).status;

  it('a future end_date in Sydney schedules the leaver reconcile at midnight Sydney time after it', async () => {
    expect(await apply(change('e_syd', '2026-01-20T00:00:00Z', { time_zone: 'Australia/Sydney', end_date: '2026-01-31' }), '2026-01-20T00:00:00Z')).toMatchObject({ classification: 'joiner', endDateJobId: expect.any(String) });
    expect(await leaverJobs('e_syd')).toEqual(['2026-01-31T13:00:00.000Z']);
  });

  it('the location map gives the zone when the record has none', async () => {
    await apply(change('e_syd_loc', '2026-01-20T00:00:00Z', { location: 'Sydney', end_date: '2026-01-31' }), '2026-01-20T00:00:00Z');
    expect(await leaverJobs('e_syd_loc')).toEqual(['2026-01-31T13:00:00.000Z']);
  });

  it('an end_date over in Sydney is a leaver, though it is still that day in UTC', async () => {
    // 13:30 UTC on 31 January is 00:30 on 1 February in Sydney.
    expect((await apply(change('e_syd_over', '2026-01-31T13:30:00Z', { time_zone: 'Australia/Sydney', end_date: '2026-01-31' }), '2026-01-31T13:30:00Z')).classification).toBe('leaver');
    expect(await status('e_syd_over')).toBe('terminated');
    // One minute before its end, the same record is still employed.
    expect((await apply(change('e_syd_last', '2026-01-31T12:59:00Z', { time_zone: 'Australia/Sydney', end_date: '2026-01-31' }), '2026-01-31T12:59:00Z')).classification).toBe('joiner');
    expect(await status('e_syd_last')).toBe('active');
  });

  it('a start date in Sydney is provisioned the lead time before midnight there', async () => {
    await apply(change('e_syd_start', '2026-01-20T00:00:00Z', { time_zone: 'Australia/Sydney', start_date: '2026-02-02' }), '2026-01-20T00:00:00Z');
    const [job] = (await env.handle.pool.query<{ start_after: Date }>(`select j.start_after from pgboss.job j join people p on p.id::text = j.data->>'personId' where j.name = 'reconcile-person' and p.employee_id = 'e_syd_start'`)).rows;
    // Midnight 2 February in Sydney is 13:00 UTC on 1 February; minus a day.
    expect(job!.start_after.toISOString()).toBe('2026-01-31T13:00:00.000Z');
  });

  it('moving to another zone with the same end_date schedules the leaver reconcile for the new end', async () => {
    await apply(change('e_move', '2026-01-20T00:00:00Z', { location: 'London', end_date: '2026-01-31' }), '2026-01-20T00:00:00Z');
    const moved = await apply(change('e_move', '2026-01-21T00:00:00Z', { location: 'Sydney', end_date: '2026-01-31' }), '2026-01-21T00:00:00Z');
    expect(moved).toMatchObject({ classification: 'mover', endDateJobId: expect.any(String) });
    expect(await leaverJobs('e_move')).toEqual(['2026-01-31T13:00:00.000Z', '2026-02-01T00:00:00.000Z']);
    // Nothing moved: nothing more is scheduled.
    expect((await apply(change('e_move', '2026-01-22T00:00:00Z', { location: 'Sydney', end_date: '2026-01-31', job_title: 'Lead' }), '2026-01-22T00:00:00Z')).endDateJobId).toBeNull();
  });
});
