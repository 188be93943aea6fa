import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxWriteCounts } from '../../adapters/sandbox/index.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createLogger } from '../../src/log.js';
import { applyPersonChange } from '../../src/people/apply-change.js';
import { loadPolicies } from '../../src/policy/loader.js';
import { buildPolicySet } from '../../src/policy/evaluate.js';
import { createAdapterRegistry } from '../../src/orchestrator/adapter-registry.js';
import { executeOperation } from '../../src/orchestrator/execute-operation.js';
import { startQueue } from '../../src/orchestrator/queue.js';
import { reconcilePerson } from '../../src/orchestrator/reconcile-person.js';
import { TokenBucket } from '../../src/orchestrator/token-bucket.js';
import { createTestDatabase } from '../helpers/database.js';
import { start } from '../helpers/process.js';
import type { PgBoss } from 'pg-boss';

/**
 * A worker SIGKILLed between the vendor's write and Gatehouse's record of it (a real process, a
 * real kill): the operation stays claimed, nobody else runs it while the claim is fresh, and the
 * worker that takes over once it is stale finds the grant already there, verifies it and records
 * it once. The vendor saw one write.
 */
describe('a handler killed mid-operation and run again', () => {
  let handle: DatabaseHandle;
  let boss: PgBoss;
  let url: string;
  let policiesDir: string;
  beforeAll(async () => {
    url = (await createTestDatabase()).url;
    handle = createDatabase(url);
    await migrateToLatest(handle.db);
    boss = await startQueue(url, createLogger('silent'), { schedule: false });
    policiesDir = mkdtempSync(join(tmpdir(), 'gatehouse-kill-'));
    writeFileSync(join(policiesDir, 'qa.yaml'), 'name: qa\ndescription: QA.\nowner: "@qa"\nwhen: { department: QA }\ngrants:\n  - jira:group:qa-team\n');
  });
  afterAll(async () => {
    await boss?.stop({ graceful: false });
    await handle?.destroy();
  });

  it('causes no duplicate grant', async () => {
    const config = loadConfig({ DATABASE_URL: url, SYSTEMS: 'jira', POLICIES_DIR: policiesDir });
    const adapters = createAdapterRegistry(config, { sql: handle.pool });
    const bucket = new TokenBucket(handle.db);
    await bucket.configure('jira', { requestsPerMinute: 6000 });
    const policies = buildPolicySet(await loadPolicies(policiesDir));
    const applied = await handle.db.transaction().execute((trx) =>
      applyPersonChange(trx, boss, {
        source: 'hris',
        eventId: 'evt_kill',
        eventType: 'employee.hired',
        occurredAt: new Date('2026-11-20T09:00:00Z'),
        record: { employee_id: 'emp_kill', email: 'kill@company.com', first_name: 'Kim', last_name: 'Ill', department: 'QA', status: 'active' } as never,
        payload: {},
        terminates: false,
      }),
    );
    const { runId } = await reconcilePerson({ db: handle.db, boss, policies, adapters }, applied.personId!, 'joiner');
    const ops = await handle.db.selectFrom('operations').selectAll().where('run_id', '=', runId!).orderBy('tier').execute();
    expect(ops.map((o) => o.key)).toEqual(['grant jira:account', 'grant jira:group:qa-team']);
    const deps = { db: handle.db, boss, adapters, bucket, claimTimeoutMs: 1_000 };
    await executeOperation(deps, ops[0]!.id);

    const child = start(process.execPath, ['test/helpers/crash-after-write.mjs'], { DATABASE_URL: url, OPERATION_ID: String(ops[1]!.id), POLICIES_DIR: policiesDir });
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(child.output()).toContain('written');
    const grant = ops[1]!;
    const claimed = await handle.db.selectFrom('operations').selectAll().where('id', '=', grant.id).executeTakeFirstOrThrow();
    expect(claimed).toMatchObject({ state: 'running', attempts: 1 });

    // While the dead worker's claim is fresh, a redelivery does nothing.
    await executeOperation(deps, grant.id);
    expect((await handle.db.selectFrom('operations').select('state').where('id', '=', grant.id).executeTakeFirstOrThrow()).state).toBe('running');

    // Once it is stale (pg-boss redelivers an expired job), the grant is found, verified, recorded.
    await new Promise((r) => setTimeout(r, 1_100));
    await executeOperation(deps, grant.id);
    const done = await handle.db.selectFrom('operations').selectAll().where('id', '=', grant.id).executeTakeFirstOrThrow();
    expect(done).toMatchObject({ state: 'verified', outcome: 'already_present', attempts: 2 });
    const writes = (await sandboxWriteCounts(handle.pool, 'jira')).filter((w) => w.entitlement === 'jira:group:qa-team');
    expect(writes).toEqual([expect.objectContaining({ op: 'grant', count: 1 })]);
    const audit = await handle.db.selectFrom('audit_log').select('action').where('entitlement', '=', 'jira:group:qa-team').where('action', 'like', 'operation.%').execute();
    expect(audit.map((a) => a.action)).toEqual(['operation.verified']);
    expect((await handle.db.selectFrom('grants').select('status').where('entitlement', '=', 'jira:group:qa-team').execute()).map((g) => g.status)).toEqual(['verified']);
  });
});
