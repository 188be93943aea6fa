import { describe, expect, it } from 'vitest';
import { reconcilePerson } from '../../src/orchestrator/reconcile-person.js';
import { migratedDatabaseWithQueue, reconcileDepsOnExamplePolicies } from '../helpers/database.js';

/**
 * Found by the soak: a leaver's account revoke failed once (a 5xx) and was then cancelled by the
 * rehire, which planned the account again; a transfer cancelled that grant before it ran, and the
 * grant row was dropped as "never made". But the account had been made by the first hire and
 * never removed: the system kept an account Gatehouse no longer knew of. A grant cancelled before
 * it ran now leaves its row saying what is known: still possibly there when it was applied once
 * and not revoked since, so the plan revokes it.
 */
describe('a grant cancelled before it ran, over access that may still be there', () => {
  const env = migratedDatabaseWithQueue();
  const deps = reconcileDepsOnExamplePolicies(env);

  async function financeAnalyst(name: string) {
    return env.handle.db
      .insertInto('people')
      .values({ employee_id: name, email: `${name}@company.com`, status: 'active', data: JSON.stringify({ employee_id: name, email: `${name}@company.com`, department: 'Finance', team: 'FP&A', job_title: 'Financial Analyst', employment_type: 'FTE', status: 'active' }) } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
  }
  /** A Finance analyst (no Jira under the example policies) with a queued, never-started grant of jira:account. */
  async function personWithQueuedJiraGrant(name: string, row: { applied_at: Date | null; revoked_at: Date | null }) {
    const db = env.handle.db;
    const person = await financeAnalyst(name);
    const run = await db.insertInto('runs').values({ person_id: person.id, reason: 'rehire', status: 'running' }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('operations').values({ run_id: run.id, person_id: person.id, key: 'grant jira:account', kind: 'grant', system: 'jira', entitlement: 'jira:account', depends_on: [], tier: 0, state: 'pending' }).execute();
    await db.insertInto('grants').values({ person_id: person.id, entitlement: 'jira:account', system: 'jira', status: 'pending', source: 'implied', ...row }).execute();
    return person.id;
  }
  const plannedFor = async (personId: string) =>
    (await env.handle.db.selectFrom('operations').select(['key', 'state']).where('person_id', '=', personId).where('entitlement', '=', 'jira:account').orderBy('id').execute()).map((o) => `${o.key}: ${o.state}`);

  it('applied once and never revoked: the row stays (failed: unknown) and the plan revokes it', async () => {
    const id = await personWithQueuedJiraGrant('emp_was_there', { applied_at: new Date('2026-11-01T00:00:00Z'), revoked_at: null });
    await reconcilePerson(deps.current, id, 'mover');
    expect(await plannedFor(id)).toEqual(['grant jira:account: cancelled', 'revoke jira:account: pending']);
    expect(await env.handle.db.selectFrom('grants').select('status').where('person_id', '=', id).where('entitlement', '=', 'jira:account').executeTakeFirst()).toEqual({ status: 'revoking' });
  });

  it('never applied, but an earlier grant of it timed out after writing: the row stays (failed) and the plan revokes it', async () => {
    const id = await personWithQueuedJiraGrant('emp_timed_out', { applied_at: null, revoked_at: null });
    const db = env.handle.db;
    const run = await db.insertInto('runs').values({ person_id: id, reason: 'joiner', status: 'settled' }).returning('id').executeTakeFirstOrThrow();
    // Inserted after the queued grant, so give it the lower id it would have had.
    const earlier = await db.insertInto('operations').values({ run_id: run.id, person_id: id, key: 'grant jira:account', kind: 'grant', system: 'jira', entitlement: 'jira:account', depends_on: [], tier: 0, state: 'cancelled', attempts: 1, error_kind: 'retryable', started_at: new Date('2026-11-01T00:00:00Z') }).returning('id').executeTakeFirstOrThrow();
    await db.updateTable('operations').set({ id: -earlier.id }).where('id', '=', earlier.id).execute();
    await reconcilePerson(deps.current, id, 'mover');
    expect(await plannedFor(id)).toEqual(['grant jira:account: cancelled', 'grant jira:account: cancelled', 'revoke jira:account: pending']);
  });

  it('while an older grant of it is running, the row stays with it and the plan revokes what it will make', async () => {
    const db = env.handle.db;
    const person = await financeAnalyst('emp_older_running');
    const older = await db.insertInto('runs').values({ person_id: person.id, reason: 'request', status: 'running' }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('operations').values({ run_id: older.id, person_id: person.id, key: 'grant jira:account', kind: 'grant', system: 'jira', entitlement: 'jira:account', depends_on: [], tier: 0, state: 'running', attempts: 1, started_at: new Date() }).execute();
    const newer = await db.insertInto('runs').values({ person_id: person.id, reason: 'mover', status: 'running' }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('operations').values({ run_id: newer.id, person_id: person.id, key: 'grant jira:account', kind: 'grant', system: 'jira', entitlement: 'jira:account', depends_on: [], tier: 0, state: 'pending' }).execute();
    await db.insertInto('grants').values({ person_id: person.id, entitlement: 'jira:account', system: 'jira', status: 'pending', source: 'implied' }).execute();
    await reconcilePerson(deps.current, person.id, 'mover');
    expect(await plannedFor(person.id)).toEqual(['grant jira:account: running', 'grant jira:account: cancelled', 'revoke jira:account: pending']);
  });

  it('never applied, or revoked since: the row is dropped and nothing is revoked', async () => {
    for (const [name, row] of [
      ['emp_never', { applied_at: null, revoked_at: null }],
      ['emp_revoked_since', { applied_at: new Date('2026-11-01T00:00:00Z'), revoked_at: new Date('2026-11-02T00:00:00Z') }],
    ] as const) {
      const id = await personWithQueuedJiraGrant(name, row);
      await reconcilePerson(deps.current, id, 'mover');
      expect(await plannedFor(id)).toEqual(['grant jira:account: cancelled']);
      expect(await env.handle.db.selectFrom('grants').select('status').where('person_id', '=', id).where('entitlement', '=', 'jira:account').executeTakeFirst()).toBeUndefined();
    }
  });

  /** The same analyst (okta:group:everyone is theirs by policy) with a queued, never-started revoke of it. */
  async function personWithQueuedRevoke(name: string, row: { verified_at: Date | null; last_error: string | null }) {
    const db = env.handle.db;
    const person = await financeAnalyst(name);
    const run = await db.insertInto('runs').values({ person_id: person.id, reason: 'mover', status: 'running' }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('operations').values({ run_id: run.id, person_id: person.id, key: 'revoke okta:group:everyone', kind: 'revoke', system: 'okta', entitlement: 'okta:group:everyone', depends_on: [], tier: 0, state: 'pending' }).execute();
    await db.insertInto('grants').values({ person_id: person.id, entitlement: 'okta:group:everyone', system: 'okta', status: 'revoking', source: 'policy:base-employee', applied_at: row.verified_at, ...row }).execute();
    return person.id;
  }
  const everyoneOps = async (personId: string) =>
    (await env.handle.db.selectFrom('operations').select(['key', 'state']).where('person_id', '=', personId).where('entitlement', '=', 'okta:group:everyone').orderBy('id').execute()).map((o) => `${o.key}: ${o.state}`);

  it('a revoke cancelled before it ran, over a grant that never landed (its attempts failed), is granted again', async () => {
    const id = await personWithQueuedRevoke('emp_never_landed', { verified_at: null, last_error: 'okta answered 503' });
    await reconcilePerson(deps.current, id, 'mover');
    expect(await everyoneOps(id)).toEqual(['revoke okta:group:everyone: cancelled', 'grant okta:group:everyone: pending']);
  });

  it('a revoke cancelled before it ran, over a verified grant, leaves it verified and plans nothing for it', async () => {
    const id = await personWithQueuedRevoke('emp_was_verified', { verified_at: new Date('2026-11-01T00:00:00Z'), last_error: null });
    await reconcilePerson(deps.current, id, 'mover');
    expect(await everyoneOps(id)).toEqual(['revoke okta:group:everyone: cancelled']);
    expect(await env.handle.db.selectFrom('grants').select('status').where('person_id', '=', id).where('entitlement', '=', 'okta:group:everyone').executeTakeFirst()).toEqual({ status: 'verified' });
  });
});
