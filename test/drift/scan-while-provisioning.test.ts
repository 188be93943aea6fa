import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Adapter } from '../../adapters/types.js';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { scanSystem } from '../../src/drift/scan.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import type { AdapterRegistry } from '../../src/orchestrator/adapter-registry.js';
import { createTestDatabase } from '../helpers/database.js';
import { until } from '../helpers/until.js';

const HRIS = 'whsec_drift_race';
const GRANTS = ['github:team:acme/platform#member', 'github:repo:acme/api#write'];

/**
 * A drift scan reads the system page by page while operations go on. What Gatehouse changes after
 * a page was read must not come out as drift: a hire's membership written after its page was read
 * looked missing (and was granted a second time: bench:queue once made 31 operations beyond the
 * plan when the hourly scan ran during it), and a leaver's revoked one looked extra. Real drift
 * made by hand before the scan is still found in the same scan.
 */
describe('a drift scan during provisioning', () => {
  let gatehouse: Gatehouse;
  beforeAll(async () => {
    const policies = mkdtempSync(join(tmpdir(), 'gatehouse-drift-race-'));
    writeFileSync(join(policies, 'eng.yaml'), `name: eng\ndescription: Engineers.\nowner: "@eng"\nwhen: { department: Engineering }\ngrants:\n${GRANTS.map((g) => `  - ${g}\n`).join('')}`);
    const url = (await createTestDatabase()).url;
    gatehouse = await startGatehouse(
      loadConfig({ DATABASE_URL: url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: HRIS, POLICIES_DIR: policies, SYSTEMS: 'github', DRIFT_SCHEDULE: 'off' }),
      createLogger('silent'),
      { workers: { execute: { verifySchedule: [100] } } },
    );
    for (const id of ['ana', 'dan']) await post('employee.hired', id, 1);
    await until('ana and dan provisioned', async () => (await statuses('ana')).every((s) => s === 'verified') && (await statuses('dan')).every((s) => s === 'verified'));
  });
  afterAll(async () => {
    await gatehouse?.stop();
  });

  async function post(type: string, id: string, n: number) {
    const body = JSON.stringify({ event_type: type, event_id: `evt_${id}_${n}`, timestamp: `2026-11-2${n}T09:00:00Z`, data: { employee_id: `emp_${id}`, email: `${id}@company.com`, first_name: id, department: 'Engineering', ...(type === 'employee.terminated' ? { status: 'terminated' } : {}) } });
    const res = await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(HRIS, body) }, body });
    expect(res.status).toBe(202);
  }
  async function statuses(id: string) {
    const rows = await gatehouse.database.db.selectFrom('grants').innerJoin('people', 'people.id', 'grants.person_id').select(['grants.entitlement', 'grants.status']).where('people.email', '=', `${id}@company.com`).where('grants.entitlement', 'in', GRANTS).execute();
    return GRANTS.map((g) => rows.find((r) => r.entitlement === g)?.status);
  }

  it('does not judge what Gatehouse changed while it read, and still finds what a person changed', async () => {
    const github = gatehouse.adapters.get('github');
    // Drift by hand, before the scan: ana left the team in GitHub's UI.
    const ana = (await github.findAccount({ employeeId: 'emp_ana', email: 'ana@company.com' }))!;
    await github.revoke(ana, 'github:team:acme/platform#member');

    // Every page is read; then, before the scan compares, cara is hired and dan leaves, and
    // Gatehouse provisions both to the end.
    let changedMeanwhile = false;
    const pages = new Map<string, unknown[]>();
    const slowGithub = new Proxy(github, {
      get(target, prop) {
        if (prop === 'listMembers') {
          return async function* (entitlement: string) {
            if (!changedMeanwhile) {
              for (const e of GRANTS) {
                const page = [];
                for await (const member of target.listMembers!(e)) page.push(member);
                pages.set(e, page);
              }
              changedMeanwhile = true;
              await post('employee.hired', 'cara', 2);
              await post('employee.terminated', 'dan', 3);
              await until('cara granted and dan revoked meanwhile', async () => (await statuses('cara')).every((s) => s === 'verified') && (await statuses('dan')).every((s) => s === 'revoked'));
            }
            if (pages.has(entitlement)) yield* pages.get(entitlement)!;
            else yield* target.listMembers!(entitlement);
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Adapter;
    const adapters = new Proxy(gatehouse.adapters, {
      get(target, prop) {
        if (prop === 'get') return (system: string) => (system === 'github' ? slowGithub : target.get(system));
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as AdapterRegistry;

    const result = await scanSystem({ db: gatehouse.database.db, boss: gatehouse.boss, adapters, policies: gatehouse.policies }, 'github');
    expect(changedMeanwhile).toBe(true);
    expect(result.items.map((i) => `${i.class} ${i.action} ${i.entitlement} ${i.email}`)).toEqual(['missing regranted github:team:acme/platform#member ana@company.com']);
    // Cara's grants stay verified (not marked failed and granted again): one operation each.
    expect(await statuses('cara')).toEqual(['verified', 'verified']);
    const cara = await gatehouse.database.db.selectFrom('operations').innerJoin('people', 'people.id', 'operations.person_id').select('operations.key').where('people.email', '=', 'cara@company.com').execute();
    expect(cara.map((o) => o.key).sort()).toEqual(['grant github:account', ...GRANTS.map((g) => `grant ${g}`)].sort());

    // Once everything settles, a scan finds nothing: the re-grant put ana back, and cara and dan
    // are as Gatehouse left them.
    await until('ana re-granted', async () => (await statuses('ana')).every((s) => s === 'verified'));
    await until('nothing in flight', async () => (await gatehouse.database.db.selectFrom('operations').select('id').where('state', 'in', ['pending', 'running']).execute()).length === 0);
    const settled = await scanSystem({ db: gatehouse.database.db, boss: gatehouse.boss, adapters: gatehouse.adapters, policies: gatehouse.policies }, 'github');
    expect(settled.items).toEqual([]);
  });
});
