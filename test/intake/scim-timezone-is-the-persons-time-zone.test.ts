import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';

const TOKEN = 'scim-token-tz';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/**
 * Issue 17: SCIM's core User has `timezone` ("in the 'Olson' time zone database format, e.g.
 * 'America/Los_Angeles'", RFC 7643 §4.1.1), which is the person record's `time_zone`. One the zone
 * database does not know is left out, so it cannot hold back the rest of the user's changes.
 */
describe("SCIM timezone becomes the person's time_zone", () => {
  let gatehouse: Gatehouse;
  let base: string;
  beforeAll(async () => {
    const database = await createTestDatabase();
    gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', SCIM_TOKEN: TOKEN }), createLogger('silent'));
    base = `http://127.0.0.1:${gatehouse.port}/scim/v2`;
  });
  afterAll(() => gatehouse?.stop());

  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  const person = async (email: string) => (await gatehouse.database.db.selectFrom('people').select('data').where('email', '=', email).executeTakeFirstOrThrow()).data as Record<string, unknown>;

  it('is stored as the zone database spells it, follows the IdP, and an unknown zone is left out while the rest applies', async () => {
    const created = await call('POST', '/Users', { schemas: [USER], userName: 'rae@company.com', title: 'Designer', timezone: 'australia/sydney', emails: [{ value: 'rae@company.com', primary: true }] });
    expect(created.status).toBe(201);
    expect(await person('rae@company.com')).toMatchObject({ time_zone: 'Australia/Sydney', job_title: 'Designer' });

    expect((await call('PATCH', `/Users/${created.body!.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { timezone: 'America/Los_Angeles' } }] })).status).toBe(204);
    expect(await person('rae@company.com')).toMatchObject({ time_zone: 'America/Los_Angeles' });

    expect((await call('PATCH', `/Users/${created.body!.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { timezone: 'Pacific Standard Time', title: 'Lead Designer' } }] })).status).toBe(204);
    const after = await person('rae@company.com');
    expect(after).toMatchObject({ job_title: 'Lead Designer' });
    expect(after.time_zone ?? null).toBeNull();
  });
});
