import { beforeAll, describe, expect, it } from 'vitest';
import type { AccountRef } from '../../adapters/types.js';
import { scanSystem } from '../../src/drift/scan.js';
import { clickButton, submitKeep } from './clicks.js';
import { attackSurface, hireEvent, postHris, until } from './harness.js';

const MAINTAIN = 'github:repo:acme/platform-api#maintain';
const ADMIN = 'github:repo:acme/platform-api#admin';

/**
 * Threat (issue 27): deciding a drift alert you are not entitled to. Before, anyone in the drift
 * channel could click Revoke or Keep, the person the alert was about included: Eve, given GitHub
 * admin behind Gatehouse's back, could keep it as a permanent exception. Only IT_ADMINS or the
 * system's owners (SYSTEM_OWNERS) decide, never the person concerned, compared as people (a second
 * Slack id with the same email is still Eve), and each refusal is told to the clicker alone and
 * audited.
 */
describe('security: drift decisions by the wrong person', () => {
  const app = attackSurface({ IT_ADMINS: 'U0IT,U0PRIYA', SYSTEM_OWNERS: 'github=@github-admins,okta=@okta-admins', DRIFT_CHANNEL: 'it-drift', DRIFT_SCHEDULE: 'off' });
  beforeAll(() => {
    app.slack
      .addUser({ id: 'U0IT', email: 'it@company.com', name: 'it' })
      .addUser({ id: 'U0GHOWNER', email: 'gh-owner@company.com', name: 'gh-owner' })
      .addUser({ id: 'U0OKTAOWNER', email: 'okta-owner@company.com', name: 'okta-owner' })
      // Eve's second Slack account (another workspace of the grid), in GitHub's owner group.
      .addUser({ id: 'U0EVE2', email: 'eve@company.com', name: 'eve2' })
      .addUsergroup('github-admins', ['U0GHOWNER', 'U0EVE2'])
      .addUsergroup('okta-admins', ['U0OKTAOWNER']);
  });
  const db = () => app.gatehouse.database.db;
  const github = () => app.gatehouse.adapters.get('github');
  const scan = () => scanSystem({ db: db(), boss: app.gatehouse.boss, adapters: app.gatehouse.adapters, policies: app.gatehouse.policies }, 'github');
  const grantStatus = async (email: string, entitlement: string) => (await db().selectFrom('grants').innerJoin('people', 'people.id', 'grants.person_id').select('grants.status').where('people.email', '=', email).where('entitlement', '=', entitlement).executeTakeFirst())?.status;
  const account = async (email: string): Promise<AccountRef> => (await github().findAccount({ employeeId: `emp_${email.split('@')[0]}`, email }))!;
  const holds = async (email: string, entitlement: string) => {
    const { rows } = await app.gatehouse.database.pool.query('select 1 from sandbox_grants g join sandbox_accounts a on a.system = g.system and a.id = g.account_id where g.system = $1 and a.email = $2 and g.entitlement = $3', ['github', email, entitlement]);
    return rows.length > 0;
  };
  const item = async (id: number) => db().selectFrom('drift_items').select(['status', 'decided_by']).where('id', '=', id).executeTakeFirstOrThrow();
  const refusals = async () => (await db().selectFrom('audit_log').select(['actor', 'detail']).where('action', '=', 'drift.decision_refused').orderBy('seq').execute()).map((r) => `${r.actor} ${(r.detail as { decision: string }).decision} #${(r.detail as { itemId: number }).itemId}`);

  it('refuses the person concerned, a channel member and another system\'s owner; lets IT and the system\'s owners decide', async () => {
    for (const who of ['eve', 'priya']) {
      expect((await postHris(app.base, hireEvent(`emp_${who}`, { email: `${who}@company.com`, department: 'Engineering', team: 'Platform', job_title: 'Platform Engineer' }))).status).toBe(202);
    }
    await until('both provisioned on GitHub', async () => (await grantStatus('eve@company.com', MAINTAIN)) === 'verified' && (await grantStatus('priya@company.com', MAINTAIN)) === 'verified');
    // An admin at work in GitHub, behind Gatehouse's back: admin instead of maintain for both.
    await github().grant(await account('eve@company.com'), ADMIN);
    await github().grant(await account('priya@company.com'), ADMIN);
    const found = await scan();
    const eves = found.items.find((i) => i.class === 'level' && i.email === 'eve@company.com')!;
    const priyas = found.items.find((i) => i.class === 'level' && i.email === 'priya@company.com')!;
    expect([eves?.action, priyas?.action]).toEqual(['alerted', 'alerted']);
    const alert = await until('the alert', () => app.slack.messagesIn('it-drift')[0]);
    const at = { channel: alert.channel, ts: alert.ts };
    const modalsFor = (id: number) => app.slack.views.filter((v) => v.method === 'views.open' && JSON.stringify(v.view).includes(`{\\"itemId\\":${id}}`));

    // Eve keeps her own admin: refused, and no modal opens.
    expect(await clickButton(app, { userId: 'U0EVE', actionId: 'drift_keep', value: String(eves.id), ...at })).toMatch(/^This is about you, so someone else decides it: IT \(IT_ADMINS\) and github's owners \(SYSTEM_OWNERS\)\.$/);
    // Her second Slack id is in github-admins, but it is still Eve.
    expect(await clickButton(app, { userId: 'U0EVE2', actionId: 'drift_keep', value: String(eves.id), ...at })).toMatch(/^This is about you/);
    expect(await clickButton(app, { userId: 'U0EVE', actionId: 'drift_revoke', value: String(eves.id), ...at })).toMatch(/^This is about you/);
    // A channel member, and the owner of another system.
    expect(await clickButton(app, { userId: 'U0LEE', actionId: 'drift_revoke', value: String(eves.id), ...at })).toBe("Only IT (IT_ADMINS) and github's owners (SYSTEM_OWNERS) may decide this; nothing changed.");
    expect(await clickButton(app, { userId: 'U0OKTAOWNER', actionId: 'drift_keep', value: String(eves.id), ...at })).toMatch(/^Only IT/);
    // An IT admin on an item about herself.
    expect(await clickButton(app, { userId: 'U0PRIYA', actionId: 'drift_keep', value: String(priyas.id), ...at })).toMatch(/^This is about you/);
    expect(modalsFor(eves.id)).toEqual([]);
    expect(modalsFor(priyas.id)).toEqual([]);
    // A forged submission of the Keep modal, without ever being shown it.
    expect(await submitKeep(app, { userId: 'U0EVE', privateMetadata: JSON.stringify({ itemId: eves.id }), reason: 'I need it' })).toMatchObject({ response_action: 'errors', errors: { reason: expect.stringMatching(/^This is about you/) } });
    expect(await submitKeep(app, { userId: 'U0LEE', privateMetadata: JSON.stringify({ itemId: eves.id }), reason: 'she needs it' })).toMatchObject({ response_action: 'errors', errors: { reason: expect.stringMatching(/^Only IT/) } });

    // Nothing changed: both items open, no exception, Eve still holds admin.
    expect(await item(eves.id)).toEqual({ status: 'open', decided_by: null });
    expect(await item(priyas.id)).toEqual({ status: 'open', decided_by: null });
    expect(await db().selectFrom('drift_exceptions').select('id').execute()).toEqual([]);
    expect(await holds('eve@company.com', ADMIN)).toBe(true);
    expect(await refusals()).toEqual([
      `slack:U0EVE keep #${eves.id}`,
      `slack:U0EVE2 keep #${eves.id}`,
      `slack:U0EVE revoke #${eves.id}`,
      `slack:U0LEE revoke #${eves.id}`,
      `slack:U0OKTAOWNER keep #${eves.id}`,
      `slack:U0PRIYA keep #${priyas.id}`,
      `slack:U0EVE keep #${eves.id}`,
      `slack:U0LEE keep #${eves.id}`,
    ]);

    // A member of GitHub's owner group keeps Eve's admin for a while.
    expect(await clickButton(app, { userId: 'U0GHOWNER', actionId: 'drift_keep', value: String(eves.id), ...at, answered: false })).toBe('');
    const modal = await until('the Keep modal', () => modalsFor(eves.id)[0]);
    expect(await submitKeep(app, { userId: 'U0GHOWNER', privateMetadata: (modal.view as { private_metadata: string }).private_metadata, reason: 'migration week', expiry: '2d' })).toBeNull();
    expect(await item(eves.id)).toEqual({ status: 'kept', decided_by: 'slack:U0GHOWNER' });
    expect(await db().selectFrom('drift_exceptions').select(['created_by', 'reason']).execute()).toEqual([{ created_by: 'slack:U0GHOWNER', reason: 'migration week' }]);

    // IT revokes Priya's.
    expect(await clickButton(app, { userId: 'U0IT', actionId: 'drift_revoke', value: String(priyas.id), ...at })).toBe(`Revoking \`${ADMIN}\` from priya@company.com; the run summary will confirm it.`);
    await until('Priya\'s admin revoked', async () => !(await holds('priya@company.com', ADMIN)));
    expect((await item(priyas.id)).decided_by).toBe('slack:U0IT');
    expect((await db().selectFrom('audit_log').select('actor').where('action', '=', 'drift.revoke').execute()).map((r) => r.actor)).toEqual(['slack:U0IT']);
  });
});
