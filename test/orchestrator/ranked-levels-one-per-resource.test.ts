import { describe, expect, it } from 'vitest';
import { reconcilePerson } from '../../src/orchestrator/reconcile-person.js';
import { migratedDatabaseWithQueue, reconcileDepsOnExamplePolicies } from '../helpers/database.js';

/**
 * Found by the soak in CI: a contractor's approved request for github:repo:acme/platform-docs#read
 * and, after a transfer, the platform-engineer policy's #write of the same repository were both
 * planned. A repository has one permission, so granting read replaced write, and revoking read at
 * the request's expiry removed the person from the repository. Now the highest level of a ranked
 * resource stands for all of them, and a request it covers counts as provided.
 */
describe('one level per ranked resource', () => {
  const env = migratedDatabaseWithQueue();
  const deps = reconcileDepsOnExamplePolicies(env);

  it('a policy granting #write and a request for #read of the same repository plan #write alone; the request is provided by it', async () => {
    const db = env.handle.db;
    const record = { employee_id: 'emp_ranked', email: 'ranked@company.com', department: 'Engineering', team: 'Platform', job_title: 'Platform Engineer', employment_type: 'FTE', status: 'active' };
    const person = await db.insertInto('people').values({ employee_id: record.employee_id, email: record.email, status: 'active', data: JSON.stringify(record) } as never).returning('id').executeTakeFirstOrThrow();
    const request = await db
      .insertInto('access_requests')
      .values({ person_id: person.id, entitlement: 'github:repo:acme/platform-docs#read', policy: 'contractor', duration_ms: 3_600_000, state: 'approved', steps: JSON.stringify([]) } as never)
      .returning('id')
      .executeTakeFirstOrThrow();

    await reconcilePerson(deps.current, person.id, 'joiner');
    const planned = (await db.selectFrom('operations').select('key').where('person_id', '=', person.id).where('entitlement', 'like', 'github:repo:acme/platform-docs#%').execute()).map((o) => o.key);
    expect(planned).toEqual(['grant github:repo:acme/platform-docs#write']);

    // Once #write is in place, a reconcile finds the request provided and starts its clock.
    await db.updateTable('operations').set({ state: 'verified' }).where('person_id', '=', person.id).execute();
    await db.updateTable('grants').set({ status: 'verified', applied_at: new Date(), verified_at: new Date() }).where('person_id', '=', person.id).execute();
    await reconcilePerson(deps.current, person.id, 'request');
    const after = await db.selectFrom('access_requests').select(['state', 'expires_at']).where('id', '=', request.id).executeTakeFirstOrThrow();
    expect(after.state).toBe('active');
    expect(after.expires_at).not.toBeNull();
    expect(await db.selectFrom('operations').select('key').where('person_id', '=', person.id).where('entitlement', '=', 'github:repo:acme/platform-docs#read').execute()).toEqual([]);
  });
});
