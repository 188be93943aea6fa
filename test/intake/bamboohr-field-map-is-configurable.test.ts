import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { signBamboo } from '../../src/intake/bamboohr.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';

const KEY = 'bamboohr-map-key';

describe('BAMBOOHR_FIELD_MAP', () => {
  it('refuses a key that is not a person field at start-up, naming the variable and the choices', () => {
    expect(() => loadConfig({ BAMBOOHR_FIELD_MAP: '{"emial":"Work Email"}' })).toThrow(ConfigError);
    try {
      loadConfig({ BAMBOOHR_FIELD_MAP: '{"emial":"Work Email"}' });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([{ variable: 'BAMBOOHR_FIELD_MAP', message: expect.stringContaining('"emial" is not a person field') }]);
    }
    expect(() => loadConfig({ BAMBOOHR_FIELD_MAP: 'not json' })).toThrow(/BAMBOOHR_FIELD_MAP: must be a JSON object/);
  });

  describe('with aliases, a custom attribute and an unmapped default', () => {
    let gatehouse: Gatehouse;
    beforeAll(async () => {
      const database = await createTestDatabase();
      // The webhook posts fields under aliases (https://documentation.bamboohr.com/docs/field-based-webhooks → Field Name Aliases).
      const map = JSON.stringify({ employee_id: 'employeeNumber', email: 'workEmail', job_title: 'jobTitle', 'attributes.badge': 'Badge #', team: '' });
      gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', BAMBOOHR_WEBHOOK_SECRET: KEY, BAMBOOHR_FIELD_MAP: map }), createLogger('silent'));
    });
    afterAll(() => gatehouse?.stop());

    const post = (employees: unknown[]) => {
      const body = JSON.stringify({ employees });
      const { signature, timestamp } = signBamboo(KEY, body);
      return fetch(`http://127.0.0.1:${gatehouse.port}/hris/bamboohr`, { method: 'POST', headers: { 'x-bamboohr-signature': signature, 'x-bamboohr-timestamp': timestamp }, body });
    };

    it('maps the configured names, keys on the mapped employee number, and merges attributes', async () => {
      const created = await post([{ id: '17', action: 'Updated', timestamp: '2026-11-22T10:00:00+0000', changedFields: ['workEmail'], fields: { employeeNumber: 'E-017', workEmail: 'zoe@company.com', jobTitle: 'Buyer', 'Badge #': 'B-9', Division: 'Ops' } }]);
      expect(created.status).toBe(202);
      const person = await gatehouse.database.db.selectFrom('people').select(['employee_id', 'data']).where('employee_id', '=', 'E-017').executeTakeFirstOrThrow();
      expect(person.data).toMatchObject({ email: 'zoe@company.com', job_title: 'Buyer', attributes: { badge: 'B-9' } });
      expect((person.data as { team?: string }).team).toBeUndefined();
    });
  });
});
