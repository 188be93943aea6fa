import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bearerTokenMatches } from '../../src/intake/scim/scim-routes.js';
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

  it('compares tokens in constant time: equal-length digests of both sides, for any header (property)', () => {
    // timingSafeEqual throws on buffers of different lengths; hashing both sides first is what lets
    // it compare every byte of any guess. Any header, of any length, is answered without throwing,
    // and only the exact token (after "Bearer ", any case, trimmed) matches.
    const token = SECRETS.SCIM_TOKEN;
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `Bearer ${s}`), fc.constant(`Bearer ${token}`), fc.string({ maxLength: 3 }).map((s) => `Bearer ${token.slice(0, -3)}${s}`)), (header) => {
        const expected = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() === token;
        expect(bearerTokenMatches(header, token)).toBe(expected);
      }),
      { numRuns: 500 },
    );
    expect(bearerTokenMatches(`bearer   ${token}  `, token)).toBe(true);
    expect(bearerTokenMatches(undefined, token)).toBe(false);
  });
});
