import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failNextSandboxCalls, setSandboxFaults } from '../../adapters/sandbox/index.js';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { reconcilePerson } from '../../src/orchestrator/reconcile-person.js';
import { createTestDatabase } from '../helpers/database.js';
import { until } from '../helpers/until.js';

const SECRET = 'whsec_failures';


describe('orchestrator: retries, failures and compensation', () => {
  let gatehouse: Gatehouse;
  beforeAll(async () => {
    const database = await createTestDatabase();
    gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET }), createLogger('silent'));
  });
  afterAll(() => gatehouse?.stop());

  const hire = async (employeeId: string, email: string, extra: Record<string, unknown> = {}) => {
    const body = JSON.stringify({
      event_type: 'employee.hired',
      event_id: `evt_${employeeId}`,
      timestamp: '2026-11-20T09:00:00Z',
      data: { employee_id: employeeId, email, first_name: 'Test', last_name: 'Person', department: 'Engineering', team: 'Platform', job_title: 'Platform Engineer', employment_type: 'FTE', ...extra },
    });
    const res = await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(SECRET, body) }, body });
    expect(res.status).toBe(202);
    return until('the person', () => gatehouse.database.db.selectFrom('people').select('id').where('employee_id', '=', employeeId).executeTakeFirst());
  };
  const settled = async (personId: string) => {
    try {
      return await until('the run to settle', () => gatehouse.database.db.selectFrom('runs').selectAll().where('person_id', '=', personId).where('status', '=', 'settled').executeTakeFirst(), 15_000);
    } catch (error) {
      const ops = await gatehouse.database.db.selectFrom('operations').select(['key', 'state', 'attempts', 'last_error']).where('person_id', '=', personId).where('state', 'not in', ['verified']).execute();
      throw new Error(`${(error as Error).message}: ${JSON.stringify(ops)}`, { cause: error });
    }
  };

  it('waits out a 429 for its Retry-After, pausing the whole system, then succeeds', async () => {
    await setSandboxFaults(gatehouse.database.pool, 'jira', { retryAfterMs: 2000 });
    await failNextSandboxCalls(gatehouse.database.pool, 'jira', '429', 1);
    const person = await hire('emp_429', 'rl@company.com');
    const run = await settled(person.id);
    const jira = await gatehouse.database.db.selectFrom('operations').selectAll().where('run_id', '=', run.id).where('system', '=', 'jira').orderBy('tier').execute();
    expect(jira.every((o) => o.state === 'verified')).toBe(true);
    const first = jira[0]!;
    expect(first.attempts).toBeGreaterThanOrEqual(2);
    // The second attempt came no sooner than the vendor asked (timestamps prove it).
    expect(first.finished_at!.getTime() - run.started_at.getTime()).toBeGreaterThanOrEqual(2000);
    const limit = await gatehouse.database.db.selectFrom('rate_limits').select('pause_reason').where('system', '=', 'jira').executeTakeFirstOrThrow();
    expect(limit.pause_reason).toContain('429');
    await setSandboxFaults(gatehouse.database.pool, 'jira', {});
  });

  it('a permanent failure goes to the dead-letter queue; its dependents are cancelled; other systems complete', async () => {
    await failNextSandboxCalls(gatehouse.database.pool, 'github', '404', 1);
    const person = await hire('emp_perm', 'perm@company.com');
    const run = await settled(person.id);
    const ops = await gatehouse.database.db.selectFrom('operations').select(['system', 'key', 'state']).where('run_id', '=', run.id).execute();
    expect(ops.find((o) => o.key === 'grant github:account')?.state).toBe('failed');
    expect(ops.filter((o) => o.system === 'github' && o.key !== 'grant github:account').every((o) => o.state === 'cancelled')).toBe(true);
    expect(ops.filter((o) => o.system !== 'github').every((o) => o.state === 'verified')).toBe(true);
    const { rows } = await gatehouse.database.pool.query("select data from pgboss.job where name = 'dead-letter' and data->>'runId' = $1", [run.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].data).toMatchObject({ system: 'github', entitlement: 'github:account', kind: 'permanent' });
  });

  it('a critical grant that fails for good undoes what the run granted', async () => {
    const person = await hire('emp_crit', 'crit@company.com');
    await settled(person.id);
    // The run re-grants what was revoked; make the critical AWS assignment fail for good.
    await gatehouse.database.pool.query("delete from sandbox_grants where entitlement = 'aws:account-assignment:111111111111#PowerUserAccess'");
    await gatehouse.database.db.updateTable('grants').set({ status: 'failed' }).where('person_id', '=', person.id).where('entitlement', 'in', ['aws:account-assignment:111111111111#PowerUserAccess', 'slack:channel:platform-team']).execute();
    await gatehouse.database.pool.query("delete from sandbox_grants where entitlement = 'slack:channel:platform-team'");
    await setSandboxFaults(gatehouse.database.pool, 'aws', { latencyMs: 300 });
    await failNextSandboxCalls(gatehouse.database.pool, 'aws', '404', 50);
    const { runId } = await reconcilePerson({ db: gatehouse.database.db, boss: gatehouse.boss, policies: gatehouse.policies, adapters: gatehouse.adapters }, person.id, 'mover');
    await until('compensation to settle', () => gatehouse.database.db.selectFrom('runs').select('id').where('id', '=', runId!).where('status', '=', 'settled').executeTakeFirst());
    const ops = await gatehouse.database.db.selectFrom('operations').select(['key', 'state']).where('run_id', '=', runId!).execute();
    expect(ops.find((o) => o.key.startsWith('grant aws:account-assignment'))?.state).toBe('failed');
    const compensated = ops.filter((o) => o.key.startsWith('compensate '));
    // Slack was granted in this run before the critical failure (or cancelled if it had not started).
    for (const o of compensated) expect(o.state).toBe('verified');
    const audit = await gatehouse.database.db.selectFrom('audit_log').select('action').where('subject', '=', 'crit@company.com').where('action', '=', 'run.compensating').execute();
    expect(audit).toHaveLength(1);
    await setSandboxFaults(gatehouse.database.pool, 'aws', {});
  });

  it('two reconciles of one person at once produce one set of operations', async () => {
    const person = await hire('emp_twice', 'twice@company.com');
    await settled(person.id);
    await gatehouse.database.db.updateTable('grants').set({ status: 'failed' }).where('person_id', '=', person.id).where('entitlement', '=', 'slack:channel:incident-response').execute();
    const deps = { db: gatehouse.database.db, boss: gatehouse.boss, policies: gatehouse.policies, adapters: gatehouse.adapters };
    const results = await Promise.all([reconcilePerson(deps, person.id, 'drift'), reconcilePerson(deps, person.id, 'drift')]);
    const planned = results.filter((r) => r.operations > 0);
    expect(planned).toHaveLength(1);
    const keys = (await gatehouse.database.db.selectFrom('operations').select('key').where('run_id', '=', planned[0]!.runId!).execute()).map((o) => o.key);
    expect(keys).toEqual(['grant slack:channel:incident-response']);
  });
});
