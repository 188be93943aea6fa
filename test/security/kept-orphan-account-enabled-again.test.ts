import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scanSystem } from '../../src/drift/scan.js';
import { clickButton, submitKeep } from './clicks.js';
import { attackSurface, hireEvent, postHris, until } from './harness.js';

const policies = mkdtempSync(join(tmpdir(), 'gatehouse-orphan-keep-'));
writeFileSync(join(policies, 'eng.yaml'), ['name: eng', 'description: Engineers.', 'owner: "@eng"', 'when: { department: Engineering }', 'grants:', '  - github:repo:acme/api#write', ''].join('\n'));

/**
 * Threat (issue 27): "Keep" on an account nobody owns hid that account from every later scan,
 * whatever became of it. A leaver's account that someone enabled again, or an account suspended
 * and later re-enabled, went unseen for good. An orphan exception now ends (audited
 * `drift.exception_ended`) once the account is seen suspended or belongs to a person who has
 * left, and a leaver's account cannot be kept at all.
 */
describe('security: a kept orphan account enabled again', () => {
  const app = attackSurface({ POLICIES_DIR: policies, SYSTEMS: 'github', IT_ADMINS: 'U0IT', DRIFT_CHANNEL: 'it-drift', DRIFT_SCHEDULE: 'off' }, { workers: { execute: { verifySchedule: [100] } } });
  beforeAll(() => {
    app.slack.addUser({ id: 'U0IT', email: 'it@company.com', name: 'it' });
  });
  const db = () => app.gatehouse.database.db;
  const github = () => app.gatehouse.adapters.get('github');
  const scan = () => scanSystem({ db: db(), boss: app.gatehouse.boss, adapters: app.gatehouse.adapters, policies: app.gatehouse.policies }, 'github');
  const orphansIn = async (email: string) => (await scan()).items.filter((i) => i.class === 'orphan' && i.email === email);
  const statusOf = async (email: string) => (await app.gatehouse.database.pool.query("select status from sandbox_accounts where system = 'github' and email = $1", [email])).rows[0]?.status as string | undefined;
  /** IT clicks Keep on the alert and submits the modal; resolves to the modal's ack. */
  const keep = async (itemId: number, reason: string) => {
    const alert = await until('the alert', () => app.slack.messagesIn('it-drift').at(-1));
    await clickButton(app, { userId: 'U0IT', actionId: 'drift_keep', value: String(itemId), channel: alert.channel, ts: alert.ts, answered: false });
    const modal = await until('the Keep modal', () => app.slack.views.find((v) => v.method === 'views.open' && JSON.stringify(v.view).includes(`{\\"itemId\\":${itemId}}`)));
    return submitKeep(app, { userId: 'U0IT', privateMetadata: (modal.view as { private_metadata: string }).private_metadata, reason });
  };
  const ended = async () => (await db().selectFrom('audit_log').select(['subject', 'result']).where('action', '=', 'drift.exception_ended').orderBy('seq').execute()).map((r) => `${r.subject}: ${r.result}`);

  it('a kept account that is suspended and enabled again is an orphan again', async () => {
    await github().ensureAccount({ employeeId: 'vendor-y', email: 'vendor@company.com' });
    const [orphan] = await orphansIn('vendor@company.com');
    expect(orphan).toMatchObject({ action: 'alerted', entitlement: 'github:account' });
    expect(await keep(orphan!.id, 'vendor service account')).toBeNull();
    expect(await orphansIn('vendor@company.com')).toEqual([]);

    // The vendor's contract ends and the account is suspended; months later someone enables it.
    await github().suspendAccount((await github().findAccount({ employeeId: 'vendor-y', email: 'vendor@company.com' }))!);
    expect(await orphansIn('vendor@company.com')).toEqual([]);
    expect(await ended()).toEqual(['vendor@company.com: the account was suspended; the exception kept it while it was active']);
    await github().ensureAccount({ employeeId: 'vendor-y', email: 'vendor@company.com' });
    expect(await statusOf('vendor@company.com')).toBe('active');
    expect(await orphansIn('vendor@company.com')).toEqual([expect.objectContaining({ action: 'alerted', entitlement: 'github:account' })]);
  });

  it('a kept account that turns out to be a leaver\'s, enabled again, is an orphan again, and cannot be kept', async () => {
    // An account made before its owner's hire reached Gatehouse: nobody owns it yet, and IT keeps it.
    await github().ensureAccount({ employeeId: 'emp_nina', email: 'nina@company.com' });
    const [orphan] = await orphansIn('nina@company.com');
    expect(await keep(orphan!.id, 'new starter, HR is late')).toBeNull();
    expect(await orphansIn('nina@company.com')).toEqual([]);

    const hire = hireEvent('emp_nina', { email: 'nina@company.com', department: 'Engineering' });
    expect((await postHris(app.base, hire)).status).toBe(202);
    await until('Nina provisioned', async () => (await db().selectFrom('grants').select('status').where('entitlement', '=', 'github:repo:acme/api#write').where('status', '=', 'verified').executeTakeFirst()) !== undefined);
    expect((await postHris(app.base, { ...hire, event_type: 'employee.terminated', event_id: 'evt_emp_nina_left', timestamp: '2026-11-21T09:00:00Z', data: { ...hire.data, status: 'terminated' } })).status).toBe(202);
    await until('Nina\'s account suspended', async () => (await statusOf('nina@company.com')) === 'suspended');
    await until('her offboarding settled', async () => (await db().selectFrom('operations').select('id').where('state', 'in', ['pending', 'running']).execute()).length === 0);

    // Someone enables the leaver's account again, behind Gatehouse's back.
    await github().ensureAccount({ employeeId: 'emp_nina', email: 'nina@company.com' });
    expect(await statusOf('nina@company.com')).toBe('active');
    const again = await orphansIn('nina@company.com');
    expect(again).toEqual([expect.objectContaining({ action: 'alerted', entitlement: 'github:account' })]);
    expect((await ended()).at(-1)).toBe('nina@company.com: the account is nina@company.com\'s, who has left');

    // Keep on a leaver's account is refused; nothing is kept.
    expect(await keep(again[0]!.id, 'she may come back')).toMatchObject({ response_action: 'errors', errors: { reason: expect.stringContaining("nina@company.com's, who has left") } });
    expect(await db().selectFrom('drift_exceptions').select('id').where('item_id', '=', again[0]!.id).execute()).toEqual([]);
    expect(await orphansIn('nina@company.com')).toHaveLength(1);
  });
});
