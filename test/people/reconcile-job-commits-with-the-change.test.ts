import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { applyPersonChange, type PersonChange } from '../../src/people/apply-change.js';
import { personRecordSchema } from '../../src/people/person-record.js';
import { migratedDatabaseWithQueue } from '../helpers/database.js';

/** The transactional outbox: the person, the event and the reconcile-person job stand or fall together. */
describe('the reconcile job is written on the change\'s own transaction', () => {
  const env = migratedDatabaseWithQueue();

  const hire = (employeeId: string): PersonChange => ({
    source: 'hris',
    eventId: `evt_${employeeId}`,
    eventType: 'employee.hired',
    occurredAt: new Date('2026-11-22T15:01:00Z'),
    record: personRecordSchema.parse({ employee_id: employeeId, email: `${employeeId}@company.com` }),
    payload: {},
    terminates: false,
  });
  const counts = async (employeeId: string) => {
    const people = await env.handle.db.selectFrom('people').select('id').where('employee_id', '=', employeeId).execute();
    const events = await env.handle.db.selectFrom('person_events').select('id').where('event_id', '=', `evt_${employeeId}`).execute();
    const { rows } = await env.handle.pool.query("select id from pgboss.job where name = 'reconcile-person' and data->>'eventId' = $1", [`evt_${employeeId}`]);
    return { people: people.length, events: events.length, jobs: rows.length };
  };

  it('rolls back with it: no person, no event, no job', async () => {
    let jobId: string | null = null;
    await expect(
      env.handle.db.transaction().execute(async (trx) => {
        jobId = (await applyPersonChange(trx, env.boss, hire('e_rolled_back'))).jobId;
        // Inside the transaction the job row is there, next to the person.
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pgboss.job where id = ${jobId}`.execute(trx);
        expect(rows[0]!.n).toBe(1);
        throw new Error('the caller fails after the change');
      }),
    ).rejects.toThrow('the caller fails after the change');
    expect(jobId).toEqual(expect.any(String));
    expect(await counts('e_rolled_back')).toEqual({ people: 0, events: 0, jobs: 0 });
  });

  it('commits with it: the person, the event and exactly one job', async () => {
    await env.handle.db.transaction().execute((trx) => applyPersonChange(trx, env.boss, hire('e_committed')));
    expect(await counts('e_committed')).toEqual({ people: 1, events: 1, jobs: 1 });
  });
});
