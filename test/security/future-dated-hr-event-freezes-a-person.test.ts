import { describe, expect, it } from 'vitest';
import { attackSurface, hireEvent, postHris, SECRETS, until } from './harness.js';

/**
 * Issue 27 (Medium): after an update dated 2030, a real termination was accepted (202) but filed as
 * stale, because its timestamp is older than the person's source_updated_at, and the person stayed
 * active for years. A sender's clock (or an attacker with the webhook secret) froze a person.
 */
describe('security: a future-dated HR event cannot freeze a person', () => {
  const app = attackSurface();
  const db = () => app.gatehouse.database.db;
  const person = (id: string) => db().selectFrom('people').select(['id', 'status', 'source_updated_at']).where('employee_id', '=', id).executeTakeFirstOrThrow();
  const event = (type: string, id: string, timestamp: string, data: Record<string, unknown> = {}) => ({ ...hireEvent(id, data, `evt_${id}_${type}_${timestamp}`), event_type: `employee.${type}`, timestamp });

  it('refuses an update dated 2030 (400 naming timestamp, nothing stored); the real termination then terminates', async () => {
    expect((await postHris(app.base, hireEvent('frozen'))).status).toBe(202);
    const future = await postHris(app.base, event('updated', 'frozen', '2030-01-01T00:00:00Z', { job_title: 'Frozen' }));
    expect(future.status).toBe(400);
    const body = (await future.json()) as { errors: { path: string; message: string }[] };
    expect(body.errors.map((e) => e.path)).toEqual(['timestamp']);
    expect(await db().selectFrom('person_events').select('id').where('event_id', 'like', 'evt_frozen_updated%').execute()).toEqual([]);

    // A batch with one future event is refused whole, with the event's path.
    const batch = await postHris(app.base, { events: [event('updated', 'frozen', new Date().toISOString(), { job_title: 'Now' }), event('updated', 'frozen', '2031-06-01T00:00:00+02:00')] });
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['events.1.timestamp']);

    expect((await postHris(app.base, event('terminated', 'frozen', new Date().toISOString()))).status).toBe(202);
    expect((await person('frozen')).status).toBe('terminated');
  });

  it('a future source_updated_at stored before the fix does not stop a termination, and IT is told', async () => {
    expect((await postHris(app.base, hireEvent('stuck'))).status).toBe(202);
    // Data from before the fix: an update dated 2030 was applied.
    await db().updateTable('people').set({ source_updated_at: new Date('2030-01-01T00:00:00Z') }).where('employee_id', '=', 'stuck').execute();

    expect((await postHris(app.base, event('terminated', 'stuck', new Date().toISOString()))).status).toBe(202);
    const after = await person('stuck');
    expect(after.status).toBe('terminated');
    // The bogus future stamp is replaced, so the next real event is ordered against a real time.
    expect(after.source_updated_at!.getTime()).toBeLessThanOrEqual(Date.now());
    const applied = await db().selectFrom('person_events').select(['classification', 'applied']).where('event_id', 'like', 'evt_stuck_terminated%').executeTakeFirstOrThrow();
    expect(applied).toEqual({ classification: 'leaver', applied: true });

    const alert = await db().selectFrom('alerts').select(['kind', 'message']).where('subject', 'like', `${after.id}:%`).executeTakeFirstOrThrow();
    expect(alert.kind).toBe('event_order');
    expect(alert.message).toContain('stuck@company.com');
    await until('the IT alert', () => app.slack.messagesIn('it-onboarding').find((m) => m.text.includes('stuck@company.com') && m.text.includes('2030')));
  });

  it('a termination older than the last applied update follows the ordering rule, but IT is told', async () => {
    const hour = 3_600_000;
    expect((await postHris(app.base, event('hired', 'late', new Date(Date.now() - 3 * hour).toISOString()))).status).toBe(202);
    expect((await postHris(app.base, event('updated', 'late', new Date(Date.now() - hour).toISOString(), { job_title: 'Moved' }))).status).toBe(202);
    // The termination happened before that update, but arrives after it.
    expect((await postHris(app.base, event('terminated', 'late', new Date(Date.now() - 2 * hour).toISOString()))).status).toBe(202);
    const after = await person('late');
    expect(after.status).toBe('active');
    const alert = await db().selectFrom('alerts').select(['kind', 'message']).where('subject', 'like', `${after.id}:%`).executeTakeFirstOrThrow();
    expect(alert.kind).toBe('event_order');
    await until('the IT alert', () => app.slack.messagesIn('it-onboarding').find((m) => m.text.includes('late@company.com') && m.text.includes('termination')));
  });

  it('SCIM: active:false after a future stamp terminates', async () => {
    const headers = { authorization: `Bearer ${SECRETS.SCIM_TOKEN}`, 'content-type': 'application/scim+json' };
    const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
    const created = await fetch(`${app.base}/scim/v2/Users`, { method: 'POST', headers, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE], userName: 'scimstuck@company.com', [ENTERPRISE]: { employeeNumber: 'scimstuck' } }) });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await db().updateTable('people').set({ source_updated_at: new Date('2030-01-01T00:00:00Z') }).where('employee_id', '=', 'scimstuck').execute();
    const patch = await fetch(`${app.base}/scim/v2/Users/${id}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] }),
    });
    expect(patch.status).toBeLessThan(300);
    expect((await person('scimstuck')).status).toBe('terminated');
  });
});
