import { describe, expect, it } from 'vitest';
import { reconcilePerson } from '../../src/orchestrator/reconcile-person.js';
import { migratedDatabaseWithQueue, reconcileDepsOnExamplePolicies } from '../helpers/database.js';

/**
 * Issue 17: end-date leaver reconciles scheduled before people's dates were counted in their zone
 * (or before LOCATION_TIME_ZONES changed) run at the old instant. In San Francisco, midnight UTC
 * after end_date is 16:00 on the last day: the reconcile finds the contractor still employed, and
 * nothing else would end their access. It schedules itself again for the end where they are.
 */
describe('an end-date reconcile that comes before the end in the person’s zone is due again', () => {
  const env = migratedDatabaseWithQueue();
  const deps = reconcileDepsOnExamplePolicies(env);
  const SETTINGS = { byLocation: new Map([['san francisco', 'America/Los_Angeles']]), defaultZone: 'UTC' };

  const leaverJobs = async (personId: string) =>
    (await env.handle.pool.query<{ start_after: Date }>(`select start_after from pgboss.job where name = 'reconcile-person' and data->>'personId' = $1 and data->>'reason' = 'leaver' order by start_after`, [personId])).rows.map((r) => r.start_after.toISOString());

  it('keeps the contractor and schedules the leaver reconcile at midnight in San Francisco; once that has passed, ends them', async () => {
    const record = { employee_id: 'c_sf', email: 'sf@contractor.example', employment_type: 'Contractor', end_date: '2026-01-31', location: 'San Francisco', status: 'active', attributes: {} };
    const { id } = await env.handle.db.insertInto('people').values({ employee_id: record.employee_id, email: record.email, status: 'active', data: JSON.stringify(record), updated_at: new Date() }).returning('id').executeTakeFirstOrThrow();

    // The job scheduled for midnight UTC: 31 January, 16:00 in San Francisco.
    await reconcilePerson({ ...deps.current, timeZones: SETTINGS, now: () => new Date('2026-02-01T00:00:00Z') }, id, 'leaver');
    expect((await env.handle.db.selectFrom('people').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('active');
    expect(await leaverJobs(id)).toEqual(['2026-02-01T08:00:00.000Z']);

    // At the end there, the contractor leaves, and nothing more is scheduled.
    await reconcilePerson({ ...deps.current, timeZones: SETTINGS, now: () => new Date('2026-02-01T08:00:00Z') }, id, 'leaver');
    expect((await env.handle.db.selectFrom('people').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('terminated');
    expect(await leaverJobs(id)).toEqual(['2026-02-01T08:00:00.000Z']);
  });
});
