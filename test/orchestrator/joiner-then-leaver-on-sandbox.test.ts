import { setSandboxFaults } from '../../adapters/sandbox/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';
import { until } from '../helpers/until.js';

const SECRET = 'whsec_orchestrator';


/**
 * The whole path on sandboxed systems: a signed hire → reconcile-person → operations in tiers →
 * every grant verified in the sandbox; then the termination → every grant revoked and every
 * account suspended, the IdP first.
 */
describe('orchestrator on the sandbox', () => {
  let gatehouse: Gatehouse;
  let databaseUrl: string;
  beforeAll(async () => {
    const database = await createTestDatabase();
    databaseUrl = database.url;
    gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET }), createLogger('silent'));
  });
  afterAll(() => gatehouse?.stop());

  const send = async (event: Record<string, unknown>) => {
    const body = JSON.stringify(event);
    const res = await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(SECRET, body) }, body });
    expect(res.status).toBe(202);
  };
  const data = { employee_id: 'emp_pe', email: 'priya@company.com', first_name: 'Priya', last_name: 'Patel', job_title: 'Platform Engineer', department: 'Engineering', team: 'Platform', employment_type: 'FTE', location: 'New York', start_date: '2026-01-05' };

  it('provisions a platform engineer: accounts first, then every birthright grant, all verified', async () => {
    // Slack answers slowly, so that operations of one tier visibly overlap.
    await setSandboxFaults(gatehouse.database.pool, 'slack', { latencyMs: 150 });
    await send({ event_type: 'employee.hired', event_id: 'evt_pe_1', timestamp: '2026-11-20T09:00:00Z', data });
    const person = await until('the person', () => gatehouse.database.db.selectFrom('people').select('id').where('employee_id', '=', 'emp_pe').executeTakeFirst());
    const run = await until('the run to settle', () => gatehouse.database.db.selectFrom('runs').selectAll().where('person_id', '=', person.id).where('status', '=', 'settled').executeTakeFirst());
    expect(run.summary).toMatchObject({ reason: 'joiner', totals: { verified: expect.any(Number) }, failures: [], manualPending: [] });
    expect((run.summary as { totals: object }).totals).not.toHaveProperty('failed');
    const grants = await gatehouse.database.db.selectFrom('grants').select(['entitlement', 'status']).where('person_id', '=', person.id).execute();
    expect(grants.every((g) => g.status === 'verified')).toBe(true);
    expect(grants.map((g) => g.entitlement)).toEqual(expect.arrayContaining(['okta:account', 'github:repo:acme/platform-api#maintain', 'aws:account-assignment:111111111111#PowerUserAccess']));
    // What the sandboxed systems hold is what was verified.
    const { rows } = await gatehouse.database.pool.query("select system, entitlement from sandbox_grants where entitlement = 'github:repo:acme/platform-api#maintain'");
    expect(rows).toEqual([{ system: 'github', entitlement: 'github:repo:acme/platform-api#maintain' }]);
    // Order: the AWS account waited for Okta's (AWS is provisioned from Okta).
    const ops = await gatehouse.database.db.selectFrom('operations').select(['key', 'started_at', 'finished_at']).where('run_id', '=', run.id).execute();
    const at = (key: string) => ops.find((o) => o.key === key)!;
    expect(at('grant aws:account').started_at!.getTime()).toBeGreaterThanOrEqual(at('grant okta:account').finished_at!.getTime());
    // Parallel tiers: the Slack channels (one tier, after the Slack account) were in flight together.
    const channels = ops.filter((o) => o.key.startsWith('grant slack:channel:'));
    expect(channels.length).toBeGreaterThanOrEqual(4);
    const lastStart = Math.max(...channels.map((o) => o.started_at!.getTime()));
    const firstFinish = Math.min(...channels.map((o) => o.finished_at!.getTime()));
    expect(lastStart).toBeLessThan(firstFinish);
    for (const o of channels) expect(o.started_at!.getTime()).toBeGreaterThanOrEqual(at('grant slack:account').finished_at!.getTime());
    await setSandboxFaults(gatehouse.database.pool, 'slack', {});
    // The CLI contract (ARCHITECTURE.md → CLI): access EMAIL --format json.
    const { run: runCli } = await import('../helpers/process.js');
    const cli = await runCli('node', ['bin/gatehouse.js', 'access', 'Priya@company.com', '--format', 'json'], { DATABASE_URL: databaseUrl });
    expect(cli.code).toBe(0);
    const json = JSON.parse(cli.output) as { email: string; status: string; grants: { entitlement: string; source: string; status: string; expires_at: string | null }[] };
    expect(json).toMatchObject({ email: 'priya@company.com', status: 'active' });
    expect(json.grants).toContainEqual({ entitlement: 'github:repo:acme/platform-api#maintain', source: 'policy:platform-engineer', status: 'verified', expires_at: null });
    // No side effect happened twice, however often a job was delivered.
    const { rows: writes } = await gatehouse.database.pool.query('select entitlement, op, count from sandbox_writes where count <> 1');
    expect(writes).toEqual([]);
    // Every change is in the audit log.
    const audited = await gatehouse.database.db.selectFrom('audit_log').select('action').where('subject', '=', 'priya@company.com').execute();
    expect(audited.filter((a) => a.action === 'operation.verified').length).toBe(grants.length);
    expect(audited.map((a) => a.action)).toEqual(expect.arrayContaining(['event.received', 'run.planned']));
  });

  it('a termination revokes everything and suspends every account', async () => {
    await send({ event_type: 'employee.terminated', event_id: 'evt_pe_2', timestamp: '2026-11-21T09:00:00Z', data: { ...data, status: 'terminated' } });
    const person = await gatehouse.database.db.selectFrom('people').select('id').where('employee_id', '=', 'emp_pe').executeTakeFirstOrThrow();
    await until('the leaver run to settle', async () => {
      const runs = await gatehouse.database.db.selectFrom('runs').select('status').where('person_id', '=', person.id).where('reason', '=', 'leaver').execute();
      return runs.length > 0 && runs.every((r) => r.status === 'settled');
    });
    const grants = await gatehouse.database.db.selectFrom('grants').select(['entitlement', 'status']).where('person_id', '=', person.id).execute();
    expect(grants.filter((g) => g.status !== 'revoked')).toEqual([]);
    const { rows: held } = await gatehouse.database.pool.query('select count(*)::int as n from sandbox_grants');
    expect(held[0].n).toBe(0);
    const { rows: active } = await gatehouse.database.pool.query("select system from sandbox_accounts where status <> 'suspended'");
    expect(active).toEqual([]);
  });
});
