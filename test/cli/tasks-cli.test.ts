import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createLogger } from '../../src/log.js';
import { createAdapterRegistry } from '../../src/orchestrator/adapter-registry.js';
import { executeOperation } from '../../src/orchestrator/execute-operation.js';
import { startQueue } from '../../src/orchestrator/queue.js';
import { reconcilePerson } from '../../src/orchestrator/reconcile-person.js';
import { TokenBucket } from '../../src/orchestrator/token-bucket.js';
import { applyPersonChange } from '../../src/people/apply-change.js';
import { buildPolicySet } from '../../src/policy/evaluate.js';
import { loadPolicies } from '../../src/policy/loader.js';
import { createTestDatabase } from '../helpers/database.js';
import { run } from '../helpers/process.js';

/** `gatehouse tasks` and `gatehouse tasks done`, run as the real command against a real database. */
describe('gatehouse tasks', () => {
  let handle: DatabaseHandle;
  let boss: PgBoss;
  let url: string;
  let taskId: number;
  let operationId: number;
  beforeAll(async () => {
    url = (await createTestDatabase()).url;
    handle = createDatabase(url);
    await migrateToLatest(handle.db);
    boss = await startQueue(url, createLogger('silent'), { schedule: false });
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tasks-'));
    writeFileSync(join(dir, 'laptops.yaml'), 'name: laptops\ndescription: Everyone gets a laptop.\nowner: "@it"\nwhen: { status: active }\ngrants:\n  - manual:laptop:macbook-pro-14\n');
    const adapters = createAdapterRegistry(loadConfig({ DATABASE_URL: url, SYSTEMS: 'manual' }), { sql: handle.pool });
    const applied = await handle.db.transaction().execute((trx) =>
      applyPersonChange(trx, boss, { source: 'hris', eventId: 'evt_t', eventType: 'employee.hired', occurredAt: new Date('2026-11-20T09:00:00Z'), record: { employee_id: 'emp_t', email: 'tia@company.com', first_name: 'Tia', status: 'active' } as never, payload: {}, terminates: false }),
    );
    const { runId } = await reconcilePerson({ db: handle.db, boss, policies: buildPolicySet(await loadPolicies(dir)), adapters }, applied.personId!, 'joiner');
    const op = await handle.db.selectFrom('operations').select('id').where('run_id', '=', runId!).executeTakeFirstOrThrow();
    operationId = op.id;
    await executeOperation({ db: handle.db, boss, adapters, bucket: new TokenBucket(handle.db) }, op.id);
    taskId = (await handle.db.selectFrom('manual_tasks').select('id').where('operation_id', '=', op.id).executeTakeFirstOrThrow()).id;
  });
  afterAll(async () => {
    await boss?.stop({ graceful: false });
    await handle?.destroy();
  });

  const gatehouse = (...args: string[]) => run(process.execPath, ['bin/gatehouse.js', ...args], { DATABASE_URL: url, SYSTEMS: 'manual', LOG_LEVEL: 'warn' });

  it('lists the open task as JSON, then marks it done once, in the name of who did it', async () => {
    const listed = await gatehouse('tasks', '--format', 'json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.output)).toEqual({ tasks: [{ id: taskId, kind: 'grant', entitlement: 'manual:laptop:macbook-pro-14', email: 'tia@company.com', reason: 'policy:laptops', created_at: expect.any(String) }] });

    const done = await gatehouse('tasks', 'done', String(taskId), '--by', 'alice');
    expect(done).toEqual({ code: 0, output: `task #${taskId} done: provided manual:laptop:macbook-pro-14 for tia@company.com\n` });
    expect(await handle.db.selectFrom('operations').select('state').where('id', '=', operationId).executeTakeFirstOrThrow()).toEqual({ state: 'verified' });
    const audit = await handle.db.selectFrom('audit_log').select(['actor', 'action']).where('action', '=', 'manual_task.done').execute();
    expect(audit).toEqual([{ actor: 'cli:alice', action: 'manual_task.done' }]);

    const again = await gatehouse('tasks', 'done', String(taskId), '--by', 'bob');
    expect(again).toEqual({ code: 0, output: `task #${taskId} was already done (by cli:alice); nothing changed\n` });
    expect((await gatehouse('tasks')).output).toBe('no open manual tasks\n');
  });

  it('refuses a task id that is not one, and one that does not exist, changing nothing', async () => {
    const bad = await gatehouse('tasks', 'done', '12abc');
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('"12abc" is not a task id');
    const missing = await gatehouse('tasks', 'done', '99999');
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('there is no manual task #99999');
  });
});
