import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGitLab } from '../../adapters/gitlab/fake-gitlab.js';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';
import { until } from '../helpers/until.js';

const SECRET = 'whsec_live_gitlab';

/**
 * The example policies (policies/) applied end to end with every system sandboxed except one,
 * switched to its real connector against a fake of its documented API (nock): GitLab. A Sales
 * Engineer's hire ends with the GitLab membership in the fake, at the level levels.yaml gives,
 * and their termination removes it.
 */
describe('example policies with GitLab live (against its fake) and everything else sandboxed', () => {
  let gatehouse: Gatehouse;
  let gitlab: FakeGitLab;
  beforeAll(async () => {
    gitlab = new FakeGitLab('https://gitlab.acme.dev', 2).start();
    gitlab.addGroup('customer-solutions');
    const user = gitlab.addUser('sam', 'sam@company.com');
    expect(user.id).toBeGreaterThan(0);
    const database = await createTestDatabase();
    gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET, GITLAB_TOKEN: 'glpat-live', GITLAB_URL: 'https://gitlab.acme.dev' }), createLogger('silent'));
  });
  afterAll(async () => {
    await gatehouse?.stop();
    gitlab?.stop();
  });

  const send = async (type: string, status: string, n: number) => {
    const body = JSON.stringify({ event_type: type, event_id: `evt_sam_${n}`, timestamp: `2026-11-2${n}T09:00:00Z`, data: { employee_id: 'emp_sam', email: 'sam@company.com', first_name: 'Sam', last_name: 'Lee', department: 'Sales', job_title: 'Sales Engineer', employment_type: 'FTE', status, attributes: { gitlab_login: 'sam' } } });
    expect((await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(SECRET, body) }, body })).status).toBe(202);
  };

  it('grants the reporter membership in GitLab, verified, with every other system sandboxed; the termination removes it', async () => {
    expect(gatehouse.adapters.get('gitlab').describe().mode).toBe('live');
    expect(gatehouse.adapters.get('salesforce').describe().mode).toBe('sandbox');
    await send('employee.hired', 'active', 1);
    const run = await until('the run to settle', () => gatehouse.database.db.selectFrom('runs').selectAll().where('reason', '=', 'joiner').where('status', '=', 'settled').executeTakeFirst());
    const ops = await gatehouse.database.db.selectFrom('operations').select(['entitlement', 'state']).where('run_id', '=', run.id).execute();
    expect(ops.filter((o) => o.state !== 'verified')).toEqual([]);
    expect(ops.map((o) => o.entitlement)).toEqual(expect.arrayContaining(['gitlab:account', 'gitlab:group:customer-solutions#reporter', 'salesforce:profile:Sales Engineer', 'jira:project:SE#Developers']));
    const sam = [...gitlab.users.values()].find((u) => u.username === 'sam')!;
    expect(gitlab.direct('groups', 'customer-solutions', sam.id)).toMatchObject({ access_level: 20 });

    await send('employee.terminated', 'terminated', 2);
    await until('revoked in GitLab', () => !gitlab.direct('groups', 'customer-solutions', sam.id));
    await until('the leaver run to settle', () => gatehouse.database.db.selectFrom('runs').select('id').where('reason', '=', 'leaver').where('status', '=', 'settled').executeTakeFirst());
    expect([...gitlab.users.values()].find((u) => u.username === 'sam')!.state).toBe('blocked');
  });
});
