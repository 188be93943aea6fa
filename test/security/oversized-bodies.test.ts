import { describe, expect, it } from 'vitest';
import { attackSurface, postSlack, SECRETS } from './harness.js';
import { signHris } from '../../src/intake/hris-signature.js';

/** Threat: memory exhaustion with huge bodies. Each endpoint refuses more than 1 MiB, stores nothing, and stays up. */
describe('security: oversized bodies', () => {
  const app = attackSurface();
  const big = JSON.stringify({ events: [{ event_type: 'employee.hired', event_id: 'big', timestamp: '2026-11-20T09:00:00Z', data: { employee_id: 'big', email: 'big@company.com', padding: 'x'.repeat(2 * 1024 * 1024) } }] });

  it('HRIS webhook: 413', async () => {
    const res = await fetch(`${app.base}/hris/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'gatehouse-signature': signHris(SECRETS.HRIS_WEBHOOK_SECRET, big) }, body: big });
    expect(res.status).toBe(413);
  });

  it('SCIM: 413 in SCIM error form', async () => {
    const res = await fetch(`${app.base}/scim/v2/Users`, { method: 'POST', headers: { 'content-type': 'application/scim+json', authorization: `Bearer ${SECRETS.SCIM_TOKEN}` }, body: big });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '413' });
  });

  it('Slack: 413, not processed', async () => {
    const res = await postSlack(app.base, `payload=${encodeURIComponent(big)}`, 'application/x-www-form-urlencoded');
    expect(res.status).toBe(413);
    expect(app.slack.calls).toEqual([]);
  });

  it('the server is still up, and stored nothing', async () => {
    expect((await fetch(`${app.base}/healthz`)).status).toBe(200);
    expect(await app.gatehouse.database.db.selectFrom('person_events').select('id').execute()).toEqual([]);
  });
});
