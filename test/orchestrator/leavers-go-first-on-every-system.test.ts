import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeScim } from '../../adapters/scim/fake-scim.js';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';
import { until } from '../helpers/until.js';

const SECRET = 'whsec_leavers_first';
const SYSTEMS = ['okta', 'google', 'aws', 'github', 'gitlab', 'slack', 'salesforce', 'jira', 'scim:figma'] as const;
/**
 * Low enough that 1,000 hires are a backlog on every system for the whole test, and that every
 * bucket is one second's worth under two tokens, where the leavers' reserve came to nothing (as
 * at Slack's published 20/min and a SCIM app's default 60/min). A token every 2 s (4 s for AWS
 * and Salesforce, whose accounts wait for Okta's, so that their backlog builds at all): longer
 * than a leaver's operation takes to be picked up, which the assertion below relies on.
 */
const RATE_LIMITS = 'okta=30,google=30,aws=15,github=30,gitlab=30,slack=30,salesforce=15,jira=30,scim:figma=30';
/** Ready hire operations that make a backlog: AWS and Salesforce get theirs at Okta's pace. */
const BACKLOG: Record<string, number> = { aws: 3, salesforce: 3 };

/**
 * Issue 17, "Leavers go first on every system": with 1,000 hires queued on every system, a
 * termination's operations start before the backlog's next ones on each of them, including Slack
 * and a SCIM app, whose buckets of one second's worth held no token for leavers. Gatehouse is
 * started as `serve` starts it (startGatehouse without test options: its own workers, buckets and
 * RATE_LIMITS); every system is sandboxed except the SCIM app, live against a fake (SCIM_APPS).
 */
describe('issue 17: a termination behind 1,000 hires, through the workers serve starts', () => {
  let gatehouse: Gatehouse;
  let replica: Gatehouse;
  let figma: FakeScim;
  beforeAll(async () => {
    figma = new FakeScim({ base: 'https://figma.test/scim/v2/acme', token: 'scim-figma-token' }).start();
    for (const group of ['designers', 'editors', 'admins', 'viewers']) figma.addGroup(group);
    const policiesDir = mkdtempSync(join(tmpdir(), 'gatehouse-leavers-first-'));
    copyFileSync(join(import.meta.dirname, '..', '..', 'policies', 'levels.yaml'), join(policiesDir, 'levels.yaml'));
    const policy = (name: string, when: string, grants: string[]) =>
      [`name: ${name}`, `description: ${name}`, 'owner: "@it-team"', `when: ${when}`, 'grants:', ...grants.map((e) => `  - ${e}`), ''].join('\n');
    // One grant on every system for everyone, so that every hire has work on each.
    writeFileSync(
      join(policiesDir, 'everyone.yaml'),
      policy('everyone', '{ status: active }', ['okta:group:everyone', 'google:group:everyone@company.com', 'aws:account-assignment:111111111111#ReadOnlyAccess', 'github:team:acme/everyone#member', 'gitlab:group:acme/everyone#reporter', 'slack:channel:general', 'salesforce:permission-set:API_Enabled', 'jira:group:jira-software-users', 'scim:figma:group:designers']),
    );
    // The leaver has several grants on Slack and the SCIM app: their revokes are ready together and
    // each waits for a token there, which must not hold up the leaver's work on the other systems.
    writeFileSync(join(policiesDir, 'design.yaml'), policy('design', '{ department: Design }', ['slack:channel:design', 'slack:channel:design-crit', 'slack:channel:design-ops', 'scim:figma:group:editors', 'scim:figma:group:admins', 'scim:figma:group:viewers']));
    const database = await createTestDatabase();
    const config = loadConfig({
      DATABASE_URL: database.url,
      PORT: '0',
      HOST: '127.0.0.1',
      HRIS_WEBHOOK_SECRET: SECRET,
      POLICIES_DIR: policiesDir,
      SYSTEMS: 'okta,google,aws,github,gitlab,slack,salesforce,jira,scim',
      SCIM_APPS: JSON.stringify({ figma: { url: figma.base.toString(), token: 'scim-figma-token' } }),
      RATE_LIMITS,
      DRIFT_SCHEDULE: 'off',
    });
    // Two replicas, as production runs them: they share every system's bucket, and between them
    // 40 general workers wait for tokens on the hires' behalf.
    gatehouse = await startGatehouse(config, createLogger('silent'));
    replica = await startGatehouse(config, createLogger('silent'));
  });
  afterAll(async () => {
    await Promise.all([gatehouse?.stop(), replica?.stop()]);
    figma?.stop();
  });

  const post = async (body: unknown) => {
    const text = JSON.stringify(body);
    const res = await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(SECRET, text) }, body: text });
    expect(res.status).toBe(202);
  };
  const event = (type: 'employee.hired' | 'employee.terminated', id: string, n: number, department = 'Operations') => ({
    event_type: type,
    event_id: `evt_${type}_${id}`,
    timestamp: new Date().toISOString(),
    data: { employee_id: id, email: `${id}@company.com`, first_name: 'P', last_name: id, job_title: 'Analyst', department, employment_type: 'FTE', start_date: '2020-01-06', status: type === 'employee.hired' ? 'active' : 'terminated', attributes: { n } },
  });

  /** Hire operations per system that are pending and whose dependencies are done: the backlog. */
  const readyHires = async () => {
    const { rows } = await sql<{ system: string; ready: number }>`
      select o.system, count(*)::int as ready
        from operations o join runs r on r.id = o.run_id
       where r.reason = 'joiner' and o.state = 'pending'
         and not exists (select 1 from operations d where d.run_id = o.run_id and d.key = any(o.depends_on) and d.state not in ('verified', 'applied'))
       group by o.system`.execute(gatehouse.database.db);
    return Object.fromEntries(rows.map((r) => [r.system, r.ready])) as Record<string, number>;
  };

  it("starts the leaver's operations before the backlog's next ones on every system", { timeout: 150_000 }, async () => {
    const db = gatehouse.database.db;
    // The leaver, provisioned everywhere before the backlog arrives.
    await post(event('employee.hired', 'leaver', 0, 'Design'));
    const leaver = await until('the leaver', () => db.selectFrom('people').select('id').where('employee_id', '=', 'leaver').executeTakeFirst());
    await until('the leaver provisioned', () => db.selectFrom('runs').select('id').where('person_id', '=', leaver.id).where('reason', '=', 'joiner').where('status', '=', 'settled').executeTakeFirst(), 45_000);
    const held = await db.selectFrom('grants').select(['system', 'status']).where('person_id', '=', leaver.id).execute();
    expect(new Set(held.filter((g) => g.status === 'verified').map((g) => g.system))).toEqual(new Set(SYSTEMS));

    await post({ events: Array.from({ length: 1000 }, (_, i) => event('employee.hired', `hire${i}`, i + 1)) });
    // The backlog is real on every system before the termination comes (polled gently: the
    // query is not free beside 1,000 reconciles).
    const backlogBy = Date.now() + 60_000;
    for (let ready = await readyHires(); !SYSTEMS.every((s) => (ready[s] ?? 0) >= (BACKLOG[s] ?? 10)); ready = await readyHires()) {
      if (Date.now() > backlogBy) throw new Error(`timed out waiting for hires waiting on every system: ${JSON.stringify(ready)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await post(event('employee.terminated', 'leaver', 1001, 'Design'));
    const run = await until('the leaver run', () => db.selectFrom('runs').selectAll().where('person_id', '=', leaver.id).where('reason', '=', 'leaver').executeTakeFirst());
    // Not until(): on a build where leavers queue behind hires this takes minutes; what had
    // happened by the cut-off is enough to show it.
    const deadline = Date.now() + 40_000;
    for (;;) {
      const open = await db.selectFrom('operations').select('id').where('run_id', '=', run.id).where('state', 'in', ['pending', 'running']).executeTakeFirst();
      if (!open || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const now = new Date();
    const backlogAfter = await readyHires();

    const ops = await db.selectFrom('operations').select(['key', 'system', 'depends_on', 'state', 'started_at', 'finished_at']).where('run_id', '=', run.id).execute();
    expect(new Set(ops.map((o) => o.system))).toEqual(new Set(SYSTEMS));
    const hires = await db
      .selectFrom('operations')
      .innerJoin('runs', 'runs.id', 'operations.run_id')
      .select(['operations.system', 'operations.started_at'])
      .where('runs.reason', '=', 'joiner')
      .where('operations.person_id', '!=', leaver.id)
      .where('operations.started_at', 'is not', null)
      .execute();
    // Each of the leaver's operations could start from when its dependencies were done (or its run
    // was planned) until it did; on each system, overlapping windows make one stretch in which the
    // leaver had work waiting there. A hire operation that started on that system during a stretch
    // went first. One may have been taking its token as the stretch began (in flight: buckets hold
    // two tokens and hires leave one, so the next comes a whole refill later, 2 s or more here,
    // longer than any pick-up); a second is the backlog going ahead of the leaver.
    const windows = ops.map((o) => {
      const deps = ops.filter((d) => o.depends_on.includes(d.key));
      const readyAt = deps.length === 0 ? run.started_at : new Date(Math.max(...deps.map((d) => d.finished_at?.getTime() ?? now.getTime())));
      return { system: o.system, key: o.key, readyAt, startedAt: o.started_at ?? now };
    });
    const stretches = SYSTEMS.flatMap((system) => {
      const out: { system: string; from: Date; to: Date; leaver: string[]; hiresFirst: number }[] = [];
      for (const w of windows.filter((x) => x.system === system).sort((a, b) => a.readyAt.getTime() - b.readyAt.getTime())) {
        const last = out.at(-1);
        const waited = `${w.key} after ${w.startedAt.getTime() - w.readyAt.getTime()} ms`;
        if (last && w.readyAt <= last.to) {
          if (w.startedAt > last.to) last.to = w.startedAt;
          last.leaver.push(waited);
        } else out.push({ system, from: w.readyAt, to: w.startedAt, leaver: [waited], hiresFirst: 0 });
      }
      for (const stretch of out) stretch.hiresFirst = hires.filter((h) => h.system === system && h.started_at! > stretch.from && h.started_at! < stretch.to).length;
      return out;
    });
    expect(stretches.filter((s) => s.hiresFirst > 1)).toEqual([]);
    expect(ops.filter((o) => o.state !== 'verified')).toEqual([]);
    // And the backlog was still there when the leaver was done: the hires had been waiting all along.
    expect(SYSTEMS.filter((s) => (backlogAfter[s] ?? 0) < (BACKLOG[s] ?? 10) / 2)).toEqual([]);
  });
});
