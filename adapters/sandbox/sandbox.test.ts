import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigratedDatabase } from '../../test/helpers/database.js';
import { defineAdapterConformance } from '../conformance.js';
import { createSandboxAdapter, failNextSandboxCalls, sandboxWriteCounts, setSandboxFaults, type SqlClient } from './index.js';

let pool: pg.Pool;
let queries = 0;
/** The pool, counting the statements the sandbox sends (its "vendor calls"). */
const counted: SqlClient = {
  query: (text, values) => {
    queries++;
    return pool.query(text, values) as never;
  },
};
/** What the live Okta connector says it has: the sandbox standing in for Okta refuses the rest. */
const OKTA_TYPES = [{ type: 'group', description: 'membership of an Okta group', levels: null }];
beforeAll(async () => {
  const database = await createMigratedDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
});
afterAll(() => pool?.end());

defineAdapterConformance('sandbox', {
  // Tests in a file run one after another: each starts from an empty vendor.
  setup: async () => {
    await pool.query('delete from sandbox_accounts; delete from sandbox_faults; delete from sandbox_writes');
    return { adapter: createSandboxAdapter({ system: 'okta', sql: counted, pageSize: 3, timeoutMs: 50, description: { entitlementTypes: OKTA_TYPES } }) };
  },
  entitlements: Array.from({ length: 8 }, (_, i) => `okta:group:team-${i}`),
  invalidEntitlement: 'okta:groups:team-0',
  vendorCalls: () => queries,
  inject: async (adapter, fault, { retryAfterMs }) => {
    if (fault === '429') {
      await setSandboxFaults(pool, adapter.system, { retryAfterMs });
      await failNextSandboxCalls(pool, adapter.system, '429');
    } else if (fault === '401' || fault === '403') await failNextSandboxCalls(pool, adapter.system, 'auth');
    else if (fault === '404-on-revoke') await failNextSandboxCalls(pool, adapter.system, '404');
    else await failNextSandboxCalls(pool, adapter.system, fault);
  },
});

describe('sandbox specifics', () => {
  it('counts each real change once, so repeated runs prove no duplicated side effects', async () => {
    await pool.query('delete from sandbox_accounts; delete from sandbox_faults; delete from sandbox_writes');
    const adapter = createSandboxAdapter({ system: 'github', sql: pool });
    const person = { employeeId: 'e1', email: 'a@company.com' };
    const [{ account }] = await Promise.all([adapter.ensureAccount(person), adapter.ensureAccount(person), adapter.ensureAccount(person)]);
    await Promise.all(Array.from({ length: 5 }, () => adapter.grant(account, 'github:repo:acme/api#write')));
    const counts = await sandboxWriteCounts(pool, 'github');
    expect(counts.map((c) => [c.entitlement, c.op, c.count])).toEqual([
      ['github:account', 'create', 1],
      ['github:repo:acme/api#write', 'grant', 1],
    ]);
  });

  it('a new level of a ranked resource replaces the old one', async () => {
    const adapter = createSandboxAdapter({ system: 'github', sql: pool });
    const { account } = await adapter.ensureAccount({ employeeId: 'e2', email: 'b@company.com' });
    await adapter.grant(account, 'github:repo:acme/api#write');
    await adapter.grant(account, 'github:repo:acme/api#maintain');
    const held = [];
    for await (const g of adapter.listGrants!(account)) held.push(g.entitlement);
    expect(held).toEqual(['github:repo:acme/api#maintain']);
  });

  it('lists members and accounts across pages', async () => {
    const adapter = createSandboxAdapter({ system: 'slack', sql: pool, pageSize: 2 });
    for (let i = 0; i < 5; i++) {
      const { account } = await adapter.ensureAccount({ employeeId: `m${i}`, email: `m${i}@company.com` });
      if (i % 2 === 0) await adapter.grant(account, 'slack:channel:general');
    }
    const members = [];
    for await (const m of adapter.listMembers!('slack:channel:general')) members.push(m.email);
    expect(members.sort()).toEqual(['m0@company.com', 'm2@company.com', 'm4@company.com']);
    let accounts = 0;
    for await (const _ of adapter.listAccounts!()) accounts++;
    expect(accounts).toBe(5);
  });

  it('re-activates a suspended account on ensure (a rehire)', async () => {
    const adapter = createSandboxAdapter({ system: 'google', sql: pool });
    const person = { employeeId: 'e9', email: 'rehire@company.com' };
    const { account } = await adapter.ensureAccount(person);
    await adapter.suspendAccount(account);
    expect(await adapter.ensureAccount(person)).toEqual({ account: { ...account, status: 'active' }, outcome: 'applied' });
  });

  it('injects latency and failure rates for every process on the database', async () => {
    const adapter = createSandboxAdapter({ system: 'jira', sql: pool });
    await setSandboxFaults(pool, 'jira', { latencyMs: 60 });
    const started = Date.now();
    await adapter.findAccount({ employeeId: 'x', email: 'x@company.com' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    await setSandboxFaults(pool, 'jira', { authFailing: true });
    await expect(adapter.findAccount({ employeeId: 'x', email: 'x@company.com' })).rejects.toMatchObject({ kind: 'auth' });
    await setSandboxFaults(pool, 'jira', {});
    expect(await adapter.findAccount({ employeeId: 'x', email: 'x@company.com' })).toBeNull();
  });
});
