import { describe, expect, it } from 'vitest';
import { applyPersonChange, type PersonChange } from '../../src/people/apply-change.js';
import { personRecordSchema } from '../../src/people/person-record.js';
import { migratedDatabaseWithQueue } from '../helpers/database.js';

const NOW = new Date('2026-11-22T12:00:00Z');
const HOUR = 3_600_000;

describe('start and end dates decide when a person is reconciled', () => {
  const env = migratedDatabaseWithQueue();

  let n = 0;
  const change = (employeeId: string, type: string, at: string, data: Record<string, unknown> = {}): PersonChange => ({
    source: 'hris',
    eventId: `evt_${n++}`,
    eventType: type,
    occurredAt: new Date(at),
    record: personRecordSchema.parse({ employee_id: employeeId, email: `${employeeId}@company.com`, ...data }),
    payload: { type },
    terminates: type === 'employee.terminated',
  });
  const apply = (c: PersonChange, leadHours = 24) => env.handle.db.transaction().execute((trx) => applyPersonChange(trx, env.boss, c, { now: NOW, joinerLeadTimeMs: leadHours * HOUR }));
  const jobs = async (employeeId: string) =>
    (
      await env.handle.pool.query<{ reason: string; priority: number; start_after: Date; singleton_key: string }>(
        `select j.data->>'reason' as reason, j.priority, j.start_after, j.singleton_key from pgboss.job j join people p on p.id::text = j.data->>'personId'
         where j.name = 'reconcile-person' and p.employee_id = $1 order by j.start_after, j.priority desc`,
        [employeeId],
      )
    ).rows.map((j) => ({ reason: j.reason, priority: j.priority, at: j.start_after.toISOString(), key: j.singleton_key }));
  const status = async (employeeId: string) => (await env.handle.db.selectFrom('people').select(['id', 'status']).where('employee_id', '=', employeeId).executeTakeFirstOrThrow());

  it('a future joiner waits until the start date minus the configured lead time, and so does any change before it', async () => {
    expect((await apply(change('e_future', 'employee.hired', '2026-11-20T00:00:00Z', { start_date: '2026-12-07' }), 48)).classification).toBe('joiner');
    expect((await apply(change('e_future', 'employee.updated', '2026-11-21T00:00:00Z', { start_date: '2026-12-07', job_title: 'Analyst' }), 48)).classification).toBe('mover');
    const { id } = await status('e_future');
    // Both jobs wait for 2026-12-05 (start minus 48 h), each keyed to the person.
    expect(await jobs('e_future')).toEqual([
      { reason: 'joiner', priority: 60, at: '2026-12-05T00:00:00.000Z', key: id },
      { reason: 'mover', priority: 40, at: '2026-12-05T00:00:00.000Z', key: id },
    ]);
  });

  it('a joiner whose start date is within the lead time is reconciled now', async () => {
    await apply(change('e_soon', 'employee.hired', '2026-11-20T00:00:00Z', { start_date: '2026-11-23' }));
    const [job] = await jobs('e_soon');
    expect(new Date(job!.at).getTime()).toBeLessThanOrEqual(Date.now() + 5_000);
  });

  it('an end_date already passed is a leaver; a future one schedules a leaver reconcile for the day after', async () => {
    expect((await apply(change('e_ended', 'employee.updated', '2026-11-20T00:00:00Z', { end_date: '2026-11-21' }))).classification).toBe('leaver');
    expect((await status('e_ended')).status).toBe('terminated');

    expect((await apply(change('e_leaving', 'employee.hired', '2026-11-01T00:00:00Z'))).classification).toBe('joiner');
    const applied = await apply(change('e_leaving', 'employee.updated', '2026-11-20T00:00:00Z', { end_date: '2026-11-30' }));
    expect(applied).toMatchObject({ classification: 'mover', endDateJobId: expect.any(String) });
    expect((await status('e_leaving')).status).toBe('active');
    // Access lasts through 30 November (UTC); the leaver reconcile runs at the start of 1 December.
    expect((await jobs('e_leaving')).filter((j) => j.reason === 'leaver')).toEqual([{ reason: 'leaver', priority: 100, at: '2026-12-01T00:00:00.000Z', key: (await status('e_leaving')).id }]);
    // The same end_date again schedules nothing more.
    expect((await apply(change('e_leaving', 'employee.updated', '2026-11-21T00:00:00Z', { end_date: '2026-11-30', job_title: 'Lead' }))).endDateJobId).toBeNull();
  });

  it('at the same instant a termination wins over an update, whichever arrives first', async () => {
    for (const [id, order] of [['e_tie1', ['update', 'terminate']], ['e_tie2', ['terminate', 'update']]] as const) {
      await apply(change(id, 'employee.hired', '2026-11-01T00:00:00Z'));
      const events = {
        update: change(id, 'employee.updated', '2026-11-10T00:00:00Z', { job_title: 'Lead' }),
        terminate: change(id, 'employee.terminated', '2026-11-10T00:00:00Z', { job_title: 'Lead', status: 'terminated' }),
      };
      for (const step of order) await apply(events[step]);
      expect((await status(id)).status).toBe('terminated');
    }
  });

  it('two first events for the same new person, applied concurrently, make one person and keep both events', async () => {
    const results = await Promise.all([
      apply(change('e_race', 'employee.hired', '2026-11-01T00:00:00Z')),
      apply(change('e_race', 'employee.updated', '2026-11-02T00:00:00Z', { job_title: 'Engineer' })),
    ]);
    expect(results.map((r) => r.duplicate)).toEqual([false, false]);
    const people = await env.handle.db.selectFrom('people').select('data').where('employee_id', '=', 'e_race').execute();
    expect(people).toHaveLength(1);
    expect(people[0]!.data).toMatchObject({ job_title: 'Engineer' });
  });
});
