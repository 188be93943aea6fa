import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { appendAudit } from '../../src/audit/append-audit.js';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import { loadConfig } from '../../src/config.js';
import { transact } from '../../src/db/transact.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { lockPeople } from '../../src/people/apply-change.js';
import { createTestDatabase } from '../helpers/database.js';

const SECRET = 'whsec_deadlocks';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Found by the soak: an HRIS batch took each person's lock after the previous event's audit row,
 * so it held the audit chain's lock while waiting for a person whom a single event (or a request)
 * held while waiting for the chain: Postgres aborted one ("deadlock detected"), and a Slack user
 * saw "could not do that just now". Batches now take their people's locks first, and what people
 * wait on re-runs a transaction Postgres aborted to break a deadlock.
 */
describe('deadlocks', () => {
  let gatehouse: Gatehouse;
  beforeAll(async () => {
    const database = await createTestDatabase();
    gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET }), createLogger('silent'));
  });
  afterAll(() => gatehouse?.stop());
  const db = () => gatehouse.database.db;

  const event = (id: string, n: number) => ({
    event_type: 'employee.hired',
    event_id: `evt_dl_${id}_${n}`,
    timestamp: `2026-11-2${n}T09:00:00Z`,
    data: { employee_id: id, email: `${id}@company.com`, first_name: id, last_name: 'X', department: 'Sales', status: 'active' },
  });
  /** Postgres's own count of deadlocks it broke in this database (its statistics reach it within a second). */
  const deadlocks = async () => {
    await sleep(1_200);
    await sql`select pg_stat_clear_snapshot()`.execute(db());
    return Number((await sql<{ n: string }>`select deadlocks as n from pg_stat_database where datname = current_database()`.execute(db())).rows[0]!.n);
  };
  const post = (body: string) => fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'gatehouse-signature': signHris(SECRET, body) }, body });

  it("a batch waiting for a person held by another transaction does not hold the audit chain meanwhile", async () => {
    // The other transaction: holds emp_dl_b's lock (as a single event for them would) and, once
    // the batch is in flight, appends to the audit chain, then commits.
    const before = await deadlocks();
    let release!: () => void;
    const holding = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const other = db()
      .transaction()
      .execute(async (trx) => {
        await lockPeople(trx, ['emp_dl_b']);
        locked();
        await holding;
        await appendAudit(trx, { actor: 'test', action: 'test.other', subject: 'emp_dl_b@company.com' });
      });
    await isLocked;
    const batch = post(JSON.stringify({ events: [event('emp_dl_a', 1), event('emp_dl_b', 1)] }));
    await sleep(500); // the batch is now waiting (for emp_dl_b, and with the old order, holding the chain)
    release();
    await expect(other).resolves.toBeUndefined();
    const res = await batch;
    expect(res.status).toBe(202);
    expect((await db().selectFrom('people').select('employee_id').where('employee_id', 'in', ['emp_dl_a', 'emp_dl_b']).orderBy('employee_id').execute()).map((p) => p.employee_id)).toEqual(['emp_dl_a', 'emp_dl_b']);
    expect((await verifyAudit(db())).ok).toBe(true);
    expect(await deadlocks()).toBe(before);
  });

  it('transact re-runs a transaction that Postgres chose as a deadlock victim, and both commit', async () => {
    await sql`create table if not exists dl_test (id int primary key, v int not null)`.execute(db());
    await sql`insert into dl_test values (1, 0), (2, 0) on conflict (id) do update set v = 0`.execute(db());
    const before = await deadlocks();
    const runs = { a: 0, b: 0 };
    // Each locks one row, waits until the other has locked the other row, then takes it: a cycle.
    let aHas!: () => void;
    let bHas!: () => void;
    const aLocked = new Promise<void>((r) => (aHas = r));
    const bLocked = new Promise<void>((r) => (bHas = r));
    const side = (name: 'a' | 'b', first: number, second: number, mine: () => void, theirs: Promise<void>) =>
      transact(db(), async (trx) => {
        runs[name]++;
        await sql`update dl_test set v = v + 1 where id = ${first}`.execute(trx);
        mine();
        await theirs;
        await sql`update dl_test set v = v + 10 where id = ${second}`.execute(trx);
      });
    await Promise.all([side('a', 1, 2, aHas, bLocked), side('b', 2, 1, bHas, aLocked)]);
    expect(runs.a + runs.b).toBe(3); // one of them ran twice
    const rows = (await sql<{ id: number; v: number }>`select id, v from dl_test order by id`.execute(db())).rows;
    expect(rows).toEqual([
      { id: 1, v: 11 },
      { id: 2, v: 11 },
    ]);
    expect(await deadlocks()).toBe(before + 1);
  });

  it('transact does not re-run other errors, and gives up after its attempts', async () => {
    let calls = 0;
    await expect(
      transact(db(), async (trx) => {
        calls++;
        await sql`select * from no_such_table`.execute(trx);
      }),
    ).rejects.toThrow(/no_such_table/);
    expect(calls).toBe(1);

    calls = 0;
    const conflict = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    await expect(
      transact(
        db(),
        async () => {
          calls++;
          throw conflict;
        },
        3,
      ),
    ).rejects.toBe(conflict);
    expect(calls).toBe(3);
  });
});
