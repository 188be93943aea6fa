import { describe, expect, it } from 'vitest';
import { attackSurface, SECRETS } from './harness.js';

/** Threat: someone other than the IdP pushes users over SCIM (creating or deactivating people). */
describe('security: SCIM without, or with a wrong, bearer token', () => {
  const app = attackSurface();
  const user = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'mallory@company.com', externalId: 'emp_mallory', active: true, name: { givenName: 'Mal', familyName: 'Lory' }, emails: [{ value: 'mallory@company.com', primary: true }] };
  const post = (authorization?: string) => fetch(`${app.base}/scim/v2/Users`, { method: 'POST', headers: { 'content-type': 'application/scim+json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify(user) });

  it('refuses no token, another token, a prefix of the token, the token with more after it, and the wrong scheme, in SCIM error form', async () => {
    for (const auth of [undefined, 'Bearer wrong', `Bearer ${SECRETS.SCIM_TOKEN.slice(0, -1)}`, `Bearer ${SECRETS.SCIM_TOKEN}x`, `Basic ${SECRETS.SCIM_TOKEN}`, 'Bearer ']) {
      const res = await post(auth);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { schemas: string[]; status: string };
      expect(body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
      expect(body.status).toBe('401');
    }
    expect(await app.gatehouse.database.db.selectFrom('people').select('id').execute()).toEqual([]);
    expect(await app.gatehouse.database.db.selectFrom('scim_users').select('id').execute()).toEqual([]);
  });

  it('the right token works (so the refusals above are about the token)', async () => {
    expect((await post(`Bearer ${SECRETS.SCIM_TOKEN}`)).status).toBe(201);
  });

  it('compares tokens in constant time: hashes of both sides, then timingSafeEqual', async () => {
    // The comparison must not stop at the first differing byte; read the implementation's own guard.
    const { readFileSync } = await import('node:fs');
    const source = readFileSync(new URL('../../src/intake/scim/scim-routes.ts', import.meta.url), 'utf8');
    expect(source).toMatch(/timingSafeEqual\(/);
    expect(source).toMatch(/createHash\('sha256'\)/);
  });
});
