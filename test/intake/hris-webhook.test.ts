import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';

const SECRET = 'whsec_test_9f8e7d';

/** The contract's example event (ARCHITECTURE.md → HRIS webhook). */
function hired(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  return {
    event_type: 'employee.hired',
    event_id: `evt_${Math.random().toString(36).slice(2)}`,
    timestamp: '2026-11-22T15:01:00Z',
    data: {
      employee_id: 'emp_789',
      email: 'sarah.chen@company.com',
      first_name: 'Sarah',
      last_name: 'Chen',
      job_title: 'Sales Engineer',
      department: 'Sales',
      team: 'Enterprise',
      employment_type: 'FTE',
      start_date: '2026-11-25',
      end_date: null,
      manager_email: 'john.doe@company.com',
      location: 'San Francisco',
      status: 'active',
      attributes: {},
      ...data,
    },
    ...overrides,
  };
}

describe('POST /hris/events', () => {
  let gatehouse: Gatehouse;
  let base: string;
  beforeAll(async () => {
    const database = await createTestDatabase();
    gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET }), createLogger('silent'));
    base = `http://127.0.0.1:${gatehouse.port}`;
  });
  afterAll(() => gatehouse?.stop());

  const post = (body: string, headers: Record<string, string> = { 'gatehouse-signature': signHris(SECRET, body) }) =>
    fetch(`${base}/hris/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const count = async (table: 'people' | 'person_events') => Number((await gatehouse.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const jobs = async (personId: string) =>
    (await gatehouse.database.pool.query("select data, priority, start_after from pgboss.job where name = 'reconcile-person' and data->>'personId' = $1", [personId])).rows;

  it('accepts a signed hire: 202 after the person, the event and a reconcile job are committed', async () => {
    const event = hired({}, { employee_id: 'emp_accept', email: 'accept@company.com' });
    const res = await post(JSON.stringify(event));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: true, event_id: event.event_id });
    const person = await gatehouse.database.db.selectFrom('people').selectAll().where('employee_id', '=', 'emp_accept').executeTakeFirstOrThrow();
    expect(person).toMatchObject({ email: 'accept@company.com', status: 'active' });
    const stored = await gatehouse.database.db.selectFrom('person_events').selectAll().where('event_id', '=', event.event_id).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ source: 'hris', classification: 'joiner', applied: true, person_id: person.id });
    const [job] = await jobs(person.id);
    expect(job.data).toMatchObject({ personId: person.id, reason: 'joiner', eventId: event.event_id });
  });

  it('answers a redelivered event 200 duplicate and stores nothing more', async () => {
    const body = JSON.stringify(hired({}, { employee_id: 'emp_dup', email: 'dup@company.com' }));
    expect((await post(body)).status).toBe(202);
    const [people, events] = [await count('people'), await count('person_events')];
    const again = await post(body);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ duplicate: true });
    expect([await count('people'), await count('person_events')]).toEqual([people, events]);
  });

  it.each([
    ['a missing signature', (_b: string) => ({})],
    ['a wrong secret', (b: string) => ({ 'gatehouse-signature': signHris('not-the-secret', b) })],
    ['a stale timestamp (301 s old)', (b: string) => ({ 'gatehouse-signature': signHris(SECRET, b, Math.floor(Date.now() / 1000) - 301) })],
    ['a future timestamp (301 s ahead)', (b: string) => ({ 'gatehouse-signature': signHris(SECRET, b, Math.floor(Date.now() / 1000) + 301) })],
    ['a signature over other bytes', (b: string) => ({ 'gatehouse-signature': signHris(SECRET, `${b} `) })],
    // Issue 17: junk beside a valid signature was skipped, not refused.
    ['a malformed v1 beside the valid one', (b: string) => ({ 'gatehouse-signature': `${signHris(SECRET, b)},v1=not-hex` })],
    ['a second t=', (b: string) => ({ 'gatehouse-signature': `${signHris(SECRET, b)},t=${Math.floor(Date.now() / 1000)}` })],
    ['more than 8 v1 values', (b: string) => ({ 'gatehouse-signature': `${signHris(SECRET, b)}${`,v1=${'0'.repeat(64)}`.repeat(8)}` })],
  ])('refuses %s with 401 and stores nothing', async (_name, headers) => {
    const body = JSON.stringify(hired({}, { employee_id: 'emp_401', email: 'x401@company.com' }));
    const before = await count('person_events');
    const res = await post(body, headers(body));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error.length).toBeGreaterThan(0);
    expect(await count('person_events')).toBe(before);
  });

  it('accepts any one of several v1 signatures (secret rotation)', async () => {
    const body = JSON.stringify(hired({}, { employee_id: 'emp_rot', email: 'rot@company.com' }));
    const t = Math.floor(Date.now() / 1000);
    const old = signHris('old-secret', body, t).split(',')[1];
    const current = signHris(SECRET, body, t).split(',')[1];
    expect((await post(body, { 'gatehouse-signature': `t=${t},${old},${current}` })).status).toBe(202);
  });

  it('answers malformed JSON and schema errors with 400 and field paths, storing nothing', async () => {
    const before = await count('person_events');
    const malformed = await post('{"event_type": ');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('(body)');
    const invalid = await post(JSON.stringify(hired({ event_type: 'employee.promoted', timestamp: 'yesterday' }, { email: 'nope', start_date: '2026-02-30' })));
    expect(invalid.status).toBe(400);
    const { errors } = (await invalid.json()) as { errors: { path: string; message: string }[] };
    expect(errors.map((e) => e.path).sort()).toEqual(['data.email', 'data.start_date', 'event_type', 'timestamp']);
    const batch = await post(JSON.stringify({ events: [hired({}, { employee_id: 'emp_b1', email: 'b1@company.com' }), hired({}, { email: 'bad' })] }));
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['events.1.data.email']);
    expect(await count('person_events')).toBe(before);
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const body = JSON.stringify(hired({}, { attributes: { blob: 'x'.repeat(1000) } })).padEnd(1024 * 1024 + 10, ' ');
    expect((await post(body)).status).toBe(413);
  });

  it('accepts a batch in one transaction and reports each event', async () => {
    const a = hired({}, { employee_id: 'emp_ba', email: 'ba@company.com' });
    const b = hired({}, { employee_id: 'emp_bb', email: 'bb@company.com' });
    expect((await post(JSON.stringify(a))).status).toBe(202);
    const res = await post(JSON.stringify({ events: [a, b] }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: true, events: [{ event_id: a.event_id, status: 'duplicate' }, { event_id: b.event_id, status: 'accepted' }] });
    // The same batch again: every event is stored already.
    const again = await post(JSON.stringify({ events: [a, b] }));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ accepted: false, duplicate: true, events: [{ event_id: a.event_id, status: 'duplicate' }, { event_id: b.event_id, status: 'duplicate' }] });
  });

  it('defers a future joiner to the start date minus the lead time, and puts leavers first', async () => {
    const future = hired({}, { employee_id: 'emp_future', email: 'future@company.com', start_date: '2099-01-10' });
    expect((await post(JSON.stringify(future))).status).toBe(202);
    const person = await gatehouse.database.db.selectFrom('people').select('id').where('employee_id', '=', 'emp_future').executeTakeFirstOrThrow();
    const [job] = await jobs(person.id);
    expect(new Date(job.start_after).toISOString()).toBe('2099-01-09T00:00:00.000Z');
    const leave = hired({ event_type: 'employee.terminated', timestamp: '2026-11-23T09:00:00Z' }, { employee_id: 'emp_future', email: 'future@company.com', status: 'terminated' });
    expect((await post(JSON.stringify(leave))).status).toBe(202);
    const priorities = (await jobs(person.id)).map((j) => j.priority).sort((x, y) => x - y);
    expect(priorities).toEqual([60, 100]);
  });

  it('hire, update and terminate delivered in every order over HTTP end in the same person', async () => {
    const orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    const finals = new Set<string>();
    for (const [n, order] of orders.entries()) {
      const data = { employee_id: `emp_order_${n}`, email: `order${n}@company.com` };
      const events = [
        hired({ timestamp: '2026-11-01T09:00:00Z' }, { ...data, job_title: 'Engineer' }),
        hired({ event_type: 'employee.updated', timestamp: '2026-11-10T09:00:00Z' }, { ...data, job_title: 'Senior Engineer' }),
        hired({ event_type: 'employee.terminated', timestamp: '2026-11-20T09:00:00Z' }, { ...data, job_title: 'Senior Engineer', status: 'terminated' }),
      ];
      for (const i of order) expect((await post(JSON.stringify(events[i]))).status).toBe(202);
      const person = await gatehouse.database.db.selectFrom('people').select(['status', 'data', 'source_updated_at']).where('employee_id', '=', data.employee_id).executeTakeFirstOrThrow();
      const { employee_id: _e, email: _m, ...rest } = person.data as Record<string, unknown>;
      finals.add(JSON.stringify({ status: person.status, at: person.source_updated_at?.toISOString(), rest }));
    }
    expect(finals.size).toBe(1);
    expect(JSON.parse([...finals][0]!)).toMatchObject({ status: 'terminated', at: '2026-11-20T09:00:00.000Z', rest: { job_title: 'Senior Engineer', status: 'terminated' } });
  });

  it('property: random and mutated bodies get a 4xx with a message (or are accepted when valid), never a 5xx', async () => {
    const valid = JSON.stringify(hired({}, { employee_id: 'emp_prop', email: 'prop@company.com' }));
    const mutated = fc.tuple(fc.nat(valid.length), fc.nat(20), fc.string({ maxLength: 8 })).map(([at, cut, text]) => valid.slice(0, at) + text + valid.slice(at + cut));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), mutated, fc.string()), async (body) => {
        const before = await count('person_events');
        const res = await post(body);
        expect(res.status).toBeLessThan(500);
        if (res.status === 400) {
          const json = (await res.json()) as { errors: { message: string }[] };
          expect(json.errors[0]!.message.length).toBeGreaterThan(0);
          expect(await count('person_events')).toBe(before);
        } else {
          await res.body?.cancel();
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('POST /hris/events with the database down', () => {
  it('answers 503 (so the sender retries) and nothing is half-stored', async () => {
    const database = await createTestDatabase();
    const gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET }), createLogger('silent'));
    try {
      // The pool loses its server: every query fails to connect.
      await gatehouse.database.pool.end();
      const body = JSON.stringify(hired());
      const res = await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(SECRET, body) }, body });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
    } finally {
      await gatehouse.stop().catch(() => {});
    }
  });

  it('answers 503 while the webhook secret is not configured', async () => {
    const database = await createTestDatabase();
    const gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1' }), createLogger('silent'));
    try {
      const res = await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toContain('HRIS_WEBHOOK_SECRET');
    } finally {
      await gatehouse.stop();
    }
  });
});
