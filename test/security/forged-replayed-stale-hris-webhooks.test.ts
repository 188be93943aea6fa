import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { attackSurface, hireEvent, postHris, SECRETS } from './harness.js';

/** Threat: a forged HR event hires (or fires) someone; a captured one is replayed. */
describe('security: forged, replayed, stale and future-dated HRIS and BambooHR webhooks', () => {
  const app = attackSurface();
  const people = async () => (await app.gatehouse.database.db.selectFrom('people').select('employee_id').execute()).map((p) => p.employee_id);

  it('refuses a wrong secret, a missing signature, and a stale or future timestamp; nothing is stored', async () => {
    expect((await postHris(app.base, hireEvent('forged'), { secret: 'not-the-secret' })).status).toBe(401);
    expect((await fetch(`${app.base}/hris/events`, { method: 'POST', body: JSON.stringify(hireEvent('unsigned')) })).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    expect((await postHris(app.base, hireEvent('stale'), { at: now - 301 })).status).toBe(401);
    expect((await postHris(app.base, hireEvent('future'), { at: now + 301 })).status).toBe(401);
    expect(await people()).toEqual([]);
    expect(await app.gatehouse.database.db.selectFrom('person_events').select('id').execute()).toEqual([]);
  });

  it('a replay of a valid delivery is a duplicate: applied once', async () => {
    const event = hireEvent('replayed');
    expect((await postHris(app.base, event)).status).toBe(202);
    const again = await postHris(app.base, event);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ duplicate: true });
    expect((await app.gatehouse.database.db.selectFrom('person_events').select('id').where('event_id', '=', 'evt_replayed').execute()).length).toBe(1);
  });

  it('BambooHR: a forged or stale delivery is refused', async () => {
    const body = JSON.stringify({ employees: [{ id: '42', action: 'Updated', timestamp: new Date().toISOString(), fields: { 'First Name': { value: 'Eve' } }, changedFields: ['First Name'] }] });
    const at = String(Math.floor(Date.now() / 1000));
    const sign = (secret: string, t: string) => createHmac('sha256', secret).update(body + t).digest('hex');
    expect((await fetch(`${app.base}/hris/bamboohr`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-bamboohr-signature': sign('wrong', at), 'x-bamboohr-timestamp': at }, body })).status).toBe(401);
    const stale = String(Math.floor(Date.now() / 1000) - 600);
    expect((await fetch(`${app.base}/hris/bamboohr`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-bamboohr-signature': sign(SECRETS.BAMBOOHR_WEBHOOK_SECRET, stale), 'x-bamboohr-timestamp': stale }, body })).status).toBe(401);
  });
});
