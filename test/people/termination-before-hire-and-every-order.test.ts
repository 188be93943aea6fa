import { describe, expect, it } from 'vitest';
import { applyPersonChange, type PersonChange } from '../../src/people/apply-change.js';
import { personRecordSchema } from '../../src/people/person-record.js';
import { migratedDatabaseWithQueue } from '../helpers/database.js';

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('person changes arriving in any order', () => {
  const env = migratedDatabaseWithQueue();

  const change = (employeeId: string, type: string, at: string, data: Record<string, unknown>): PersonChange => ({
    source: 'hris',
    eventId: `${employeeId}-${type}-${at}`,
    eventType: type,
    occurredAt: new Date(at),
    record: personRecordSchema.parse({ employee_id: employeeId, email: `${employeeId}@company.com`, ...data }),
    payload: { type },
    terminates: type === 'employee.terminated',
  });

  it('hire, update and terminate delivered in every permutation end in the same final state', async () => {
    const finals = [];
    for (const [n, order] of permutations(['hire', 'update', 'terminate']).entries()) {
      const id = `perm_${n}`;
      const events = {
        hire: change(id, 'employee.hired', '2026-11-01T09:00:00Z', { job_title: 'Engineer', department: 'Engineering' }),
        update: change(id, 'employee.updated', '2026-11-10T09:00:00Z', { job_title: 'Senior Engineer', department: 'Engineering' }),
        terminate: change(id, 'employee.terminated', '2026-11-20T09:00:00Z', { job_title: 'Senior Engineer', department: 'Engineering', status: 'terminated' }),
      };
      for (const step of order) await env.handle.db.transaction().execute((trx) => applyPersonChange(trx, env.boss, events[step as keyof typeof events]));
      const person = await env.handle.db.selectFrom('people').select(['status', 'data', 'source_updated_at']).where('employee_id', '=', id).executeTakeFirstOrThrow();
      finals.push({ status: person.status, title: (person.data as { job_title: string }).job_title, at: person.source_updated_at?.toISOString() });
      // Every event is kept in history, whatever it changed.
      const stored = await env.handle.db.selectFrom('person_events').select('event_id').where('event_id', 'like', `${id}-%`).execute();
      expect(stored).toHaveLength(3);
    }
    expect(new Set(finals.map((f) => JSON.stringify(f))).size).toBe(1);
    expect(finals[0]).toEqual({ status: 'terminated', title: 'Senior Engineer', at: '2026-11-20T09:00:00.000Z' });
  });

  it('a termination that arrives before the hire is honoured: the late hire is stale', async () => {
    const id = 'emp_early_leaver';
    const terminate = change(id, 'employee.terminated', '2026-11-20T09:00:00Z', { status: 'terminated' });
    const hire = change(id, 'employee.hired', '2026-11-01T09:00:00Z', {});
    const first = await env.handle.db.transaction().execute((trx) => applyPersonChange(trx, env.boss, terminate));
    const second = await env.handle.db.transaction().execute((trx) => applyPersonChange(trx, env.boss, hire));
    expect([first.classification, second.classification]).toEqual(['leaver', 'stale']);
    expect(second.jobId).toBeNull();
    const person = await env.handle.db.selectFrom('people').select('status').where('employee_id', '=', id).executeTakeFirstOrThrow();
    expect(person.status).toBe('terminated');
  });

  it('classifies rehires and movers, and links managers by email in either order', async () => {
    const apply = (c: PersonChange) => env.handle.db.transaction().execute((trx) => applyPersonChange(trx, env.boss, c));
    expect((await apply(change('emp_r', 'employee.hired', '2026-01-01T00:00:00Z', { manager_email: 'boss@company.com' }))).classification).toBe('joiner');
    expect((await apply(change('emp_boss', 'employee.hired', '2026-01-02T00:00:00Z', {}))).classification).toBe('joiner');
    const [report, manager] = await Promise.all([
      env.handle.db.selectFrom('people').select('manager_id').where('employee_id', '=', 'emp_r').executeTakeFirstOrThrow(),
      env.handle.db.selectFrom('people').select('id').where('employee_id', '=', 'emp_boss').executeTakeFirstOrThrow(),
    ]);
    // emp_boss's email is emp_boss@company.com, not boss@: no link. Re-point and check the link.
    expect(report.manager_id).toBeNull();
    expect((await apply(change('emp_r', 'employee.updated', '2026-02-01T00:00:00Z', { manager_email: 'emp_boss@company.com' }))).classification).toBe('mover');
    expect((await env.handle.db.selectFrom('people').select('manager_id').where('employee_id', '=', 'emp_r').executeTakeFirstOrThrow()).manager_id).toBe(manager.id);
    expect((await apply(change('emp_r', 'employee.updated', '2026-02-02T00:00:00Z', { manager_email: 'emp_boss@company.com' }))).classification).toBe('none');
    expect((await apply(change('emp_r', 'employee.terminated', '2026-03-01T00:00:00Z', { status: 'terminated' }))).classification).toBe('leaver');
    expect((await apply(change('emp_r', 'employee.hired', '2026-06-01T00:00:00Z', {}))).classification).toBe('rehire');
  });
});
