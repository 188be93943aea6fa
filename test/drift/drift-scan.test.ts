import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountRef } from '../../adapters/types.js';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { expireDriftExceptions } from '../../src/drift/decisions.js';
import { scanSystem } from '../../src/drift/scan.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';
import { run } from '../helpers/process.js';
import { SlackApiFake } from '../helpers/slack-api-fake.js';
import { slackHeaders } from '../helpers/slack-signing.js';
import { until } from '../helpers/until.js';

const HRIS = 'whsec_drift';
const SLACK = 'slack-signing-secret-drift';


/**
 * Drift on a sandboxed GitHub seeded by hand, as an admin clicking in GitHub would: one item of
 * each class, the alert in DRIFT_CHANNEL with its buttons (clicked over Slack-signed HTTP), an
 * exception that expires, and a second scan that does not alert again.
 */
describe('drift detection', () => {
  let gatehouse: Gatehouse;
  let slack: SlackApiFake;
  let policies: string;
  let url: string;
  beforeAll(async () => {
    slack = new SlackApiFake().addUser({ id: 'U0IT', email: 'it@company.com', name: 'it' }).intercept();
    policies = mkdtempSync(join(tmpdir(), 'gatehouse-drift-'));
    writeFileSync(join(policies, 'eng.yaml'), 'name: eng\ndescription: Engineers.\nowner: "@eng"\nwhen: { department: Engineering }\ngrants:\n  - github:team:acme/platform#member\n  - github:repo:acme/api#write\nrequestable:\n  - entitlement: github:team:acme/sre#member\n    approvers: [manager]\n');
    writeFileSync(join(policies, 'secrets.yaml'), 'name: secrets\ndescription: Security only.\nowner: "@sec"\nwhen: { department: Security }\ndrift: revoke\ngrants:\n  - github:repo:acme/secrets#read\n');
    url = (await createTestDatabase()).url;
    gatehouse = await startGatehouse(
      loadConfig({ DATABASE_URL: url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: HRIS, SLACK_SIGNING_SECRET: SLACK, SLACK_BOT_TOKEN: 'xoxb-gatehouse', POLICIES_DIR: policies, SYSTEMS: 'github', DRIFT_CHANNEL: 'it-drift', DRIFT_SCHEDULE: 'off', IT_ADMINS: 'U0IT' }),
      createLogger('silent'),
      { workers: { execute: { verifySchedule: [100] } } },
    );
    for (const id of ['ana', 'bob']) {
      const body = JSON.stringify({ event_type: 'employee.hired', event_id: `evt_${id}`, timestamp: '2026-11-20T09:00:00Z', data: { employee_id: `emp_${id}`, email: `${id}@company.com`, first_name: id, department: 'Engineering' } });
      expect((await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(HRIS, body) }, body })).status).toBe(202);
    }
    await until('both provisioned', async () => (await grantStatus('bob@company.com', 'github:repo:acme/api#write')) === 'verified' && (await grantStatus('ana@company.com', 'github:repo:acme/api#write')) === 'verified');
  });
  afterAll(async () => {
    await gatehouse?.stop();
    await slack?.stop();
  });

  const db = () => gatehouse.database.db;
  const github = () => gatehouse.adapters.get('github');
  async function grantStatus(email: string, entitlement: string) {
    return (await db().selectFrom('grants').innerJoin('people', 'people.id', 'grants.person_id').select('grants.status').where('people.email', '=', email).where('entitlement', '=', entitlement).executeTakeFirst())?.status;
  }
  const account = async (email: string): Promise<AccountRef> => (await github().findAccount({ employeeId: `emp_${email.split('@')[0]}`, email }))!;
  const holds = async (email: string, entitlement: string) => {
    const { rows } = await gatehouse.database.pool.query('select 1 from sandbox_grants g join sandbox_accounts a on a.system = g.system and a.id = g.account_id where g.system = $1 and a.email = $2 and g.entitlement = $3', ['github', email, entitlement]);
    return rows.length > 0;
  };
  const scan = () => scanSystem({ db: db(), boss: gatehouse.boss, adapters: gatehouse.adapters, policies: gatehouse.policies }, 'github');
  const click = async (actionId: string, value: string, message: { channel: string; ts: string }) => {
    const responseId = `drift-${Math.random().toString(36).slice(2)}`;
    const payload = { type: 'block_actions', api_app_id: 'A0GATEHOUSE', token: 'legacy', team: { id: 'T0ACME', domain: 'acme' }, user: { id: 'U0IT', username: 'it', name: 'it', team_id: 'T0ACME' }, container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false }, trigger_id: `t-${responseId}`, channel: { id: message.channel, name: 'it-drift' }, response_url: slack.responseUrl(responseId), actions: [{ action_id: actionId, block_id: `drift_${value}`, value, type: 'button', action_ts: `${Date.now() / 1000}` }] };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const res = await fetch(`http://127.0.0.1:${gatehouse.port}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...slackHeaders(SLACK, body) }, body });
    expect(res.status).toBe(200);
    return responseId;
  };

  it('classifies each kind of drift, re-grants what is missing, revokes by policy, and alerts the rest once', async () => {
    // An admin at work in GitHub, behind Gatehouse's back:
    await github().revoke(await account('ana@company.com'), 'github:team:acme/platform#member'); // missing
    await github().grant(await account('ana@company.com'), 'github:repo:acme/api#admin'); // level (replaces write)
    await github().grant(await account('bob@company.com'), 'github:team:acme/sre#member'); // extra
    await github().grant(await account('bob@company.com'), 'github:repo:acme/secrets#read'); // extra, policy says revoke
    await github().ensureAccount({ employeeId: 'contractor-x', email: 'ghost@company.com' }); // orphan
    await github().grant(await account('bob@company.com'), 'github:repo:acme/unmanaged#admin'); // not ours: left alone

    const result = await scan();
    const found = result.items.map((i) => `${i.class} ${i.action} ${i.entitlement} ${i.email}`).sort();
    expect(found).toEqual([
      'extra alerted github:team:acme/sre#member bob@company.com',
      'extra revoked github:repo:acme/secrets#read bob@company.com',
      'level alerted github:repo:acme/api#admin ana@company.com',
      'missing regranted github:team:acme/platform#member ana@company.com',
      'orphan alerted github:account ghost@company.com',
    ]);
    expect(result.items.find((i) => i.class === 'level')!.expected).toBe('github:repo:acme/api#write');

    // Missing: granted again. Extra under `drift: revoke`: revoked through the orchestrator.
    await until('re-granted', () => holds('ana@company.com', 'github:team:acme/platform#member'));
    await until('revoked', async () => !(await holds('bob@company.com', 'github:repo:acme/secrets#read')));
    expect(await holds('bob@company.com', 'github:repo:acme/unmanaged#admin')).toBe(true);

    // One message, the three items that need a person, with their buttons.
    const alert = await until('the alert', () => slack.messagesIn('it-drift')[0]);
    expect(alert.text).toBe('Drift: 3 items changed outside Gatehouse need a decision');
    const blocks = JSON.stringify(alert.blocks);
    expect(blocks).toContain('*github*: 1 extra, 1 level, 1 orphan');
    expect(blocks).toContain('ana@company.com holds `github:repo:acme/api#admin` where policy says `github:repo:acme/api#write`');
    expect((blocks.match(/"action_id":"drift_revoke"/g) ?? []).length).toBe(3);
    expect((blocks.match(/"action_id":"drift_keep"/g) ?? []).length).toBe(3);

    // The next scan finds the same items: the message is updated, not posted again.
    const again = await scan();
    expect(again.items.filter((i) => i.action === 'alerted').map((i) => i.id).sort()).toEqual(result.items.filter((i) => i.action === 'alerted').map((i) => i.id).sort());
    await until('updated in place', () => alert.edits.length >= 1);
    expect(slack.messagesIn('it-drift')).toHaveLength(1);
  });

  it('Revoke removes extra access through the orchestrator, and suspends an orphan account', async () => {
    const alert = slack.messagesIn('it-drift')[0]!;
    const items = await db().selectFrom('drift_items').selectAll().where('status', '=', 'open').where('action', '=', 'alerted').execute();
    const extra = items.find((i) => i.class === 'extra')!;
    const orphan = items.find((i) => i.class === 'orphan')!;
    const r1 = await click('drift_revoke', String(extra.id), alert);
    await until('answered', () => slack.responses.find((r) => r.id === r1));
    await until('sre revoked', async () => !(await holds('bob@company.com', 'github:team:acme/sre#member')));
    const r2 = await click('drift_revoke', String(orphan.id), alert);
    expect(String((await until('answered', () => slack.responses.find((r) => r.id === r2)))!.body.text)).toBe('Revoked `github:account` from ghost@company.com in github, and verified.');
    const { rows } = await gatehouse.database.pool.query("select status from sandbox_accounts where system = 'github' and email = 'ghost@company.com'");
    expect(rows).toEqual([{ status: 'suspended' }]);
    // A second click changes nothing.
    const r3 = await click('drift_revoke', String(orphan.id), alert);
    expect(String((await until('answered', () => slack.responses.find((r) => r.id === r3)))!.body.text)).toMatch(/is already resolved/);
    const audit = await db().selectFrom('audit_log').select(['actor', 'action']).where('action', '=', 'drift.revoke').execute();
    expect(audit).toEqual([{ actor: 'slack:U0IT', action: 'drift.revoke' }, { actor: 'slack:U0IT', action: 'drift.revoke' }]);
    // The next scan sees both fixed: no item left open for them.
    const after = await scan();
    expect(await db().selectFrom('drift_items').select('id').where('id', 'in', [extra.id, orphan.id]).where('status', '=', 'open').execute()).toEqual([]);
    // Issue 17 (a mutation survived): the suspended account is still listed by GitHub, and is no
    // orphan any more: no new item for it either.
    expect(after.items.filter((i) => i.email === 'ghost@company.com')).toEqual([]);
    expect(await db().selectFrom('drift_items').select('id').where('email', '=', 'ghost@company.com').where('status', '=', 'open').execute()).toEqual([]);
  });

  it('Keep on an account nobody owns is an exception: later scans leave that account alone (issue 17, a mutation survived)', async () => {
    await github().ensureAccount({ employeeId: 'vendor-y', email: 'vendor@company.com' });
    const first = await scan();
    const orphan = first.items.find((i) => i.class === 'orphan' && i.email === 'vendor@company.com')!;
    expect(orphan).toMatchObject({ action: 'alerted', entitlement: 'github:account' });
    const alert = slack.messagesIn('it-drift')[0]!;
    await click('drift_keep', String(orphan.id), alert);
    const modal = await until('the modal', () => slack.views.find((v) => v.method === 'views.open' && JSON.stringify(v.view).includes(`{\\"itemId\\":${orphan.id}}`)));
    const payload = { type: 'view_submission', api_app_id: 'A0GATEHOUSE', token: 'legacy', team: { id: 'T0ACME', domain: 'acme' }, user: { id: 'U0IT', username: 'it', name: 'it', team_id: 'T0ACME' }, trigger_id: 't-keep-orphan', view: { id: 'V0KEEP2', type: 'modal', callback_id: 'drift_keep_exception', private_metadata: (modal.view as { private_metadata: string }).private_metadata, state: { values: { reason: { reason: { type: 'plain_text_input', value: 'vendor service account' } }, expiry: { expiry: { type: 'plain_text_input', value: '' } } } } }, response_urls: [] };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const res = await fetch(`http://127.0.0.1:${gatehouse.port}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...slackHeaders(SLACK, body) }, body });
    expect(res.status).toBe(200);
    const exception = await until('the exception', () => db().selectFrom('drift_exceptions').selectAll().where('item_id', '=', orphan.id).executeTakeFirst());
    expect(exception).toMatchObject({ entitlement: 'github:account', person_id: null, reason: 'vendor service account' });
    const next = await scan();
    expect(next.items.filter((i) => i.email === 'vendor@company.com')).toEqual([]);
    // The account is still there: kept, not removed.
    const { rows } = await gatehouse.database.pool.query("select status from sandbox_accounts where system = 'github' and email = 'vendor@company.com'");
    expect(rows).toEqual([{ status: 'active' }]);
  });

  it('Keep as exception keeps access until the exception expires; then it is revoked', async () => {
    const alert = slack.messagesIn('it-drift')[0]!;
    const level = (await db().selectFrom('drift_items').selectAll().where('status', '=', 'open').where('class', '=', 'level').executeTakeFirst())!;
    await click('drift_keep', String(level.id), alert);
    const modal = await until('the modal', () => slack.views.find((v) => v.method === 'views.open' && JSON.stringify(v.view).includes(`{\\"itemId\\":${level.id}}`)));
    const submit = async (reason: string, expiry: string) => {
      const payload = { type: 'view_submission', api_app_id: 'A0GATEHOUSE', token: 'legacy', team: { id: 'T0ACME', domain: 'acme' }, user: { id: 'U0IT', username: 'it', name: 'it', team_id: 'T0ACME' }, trigger_id: 't-keep', view: { id: 'V0KEEP', type: 'modal', callback_id: 'drift_keep_exception', private_metadata: (modal.view as { private_metadata: string }).private_metadata, state: { values: { reason: { reason: { type: 'plain_text_input', value: reason } }, expiry: { expiry: { type: 'plain_text_input', value: expiry } } } } }, response_urls: [] };
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const res = await fetch(`http://127.0.0.1:${gatehouse.port}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...slackHeaders(SLACK, body) }, body });
      const text = await res.text();
      return text ? JSON.parse(text) : null;
    };
    expect(await submit('migration week', 'soon')).toMatchObject({ response_action: 'errors', errors: { expiry: expect.stringContaining('is not a duration') } });
    expect(await submit('migration week', '2d')).toBeNull();
    const exception = await db().selectFrom('drift_exceptions').selectAll().where('item_id', '=', level.id).executeTakeFirstOrThrow();
    expect(exception).toMatchObject({ reason: 'migration week', created_by: 'slack:U0IT' });
    expect(await grantStatus('ana@company.com', 'github:repo:acme/api#admin')).toBe('verified');

    // While it lasts, scans leave it alone.
    expect((await scan()).items.filter((i) => i.entitlement === 'github:repo:acme/api#admin')).toEqual([]);
    expect(await holds('ana@company.com', 'github:repo:acme/api#admin')).toBe(true);

    // It expires: Ana's reconcile revokes it.
    expect(await expireDriftExceptions({ db: db(), boss: gatehouse.boss, now: () => new Date(Date.now() + 3 * 86_400_000) })).toBe(1);
    // Gone from the system first; recorded revoked once the read-back confirms it.
    await until('admin revoked', async () => !(await holds('ana@company.com', 'github:repo:acme/api#admin')));
    await until('recorded revoked', async () => (await grantStatus('ana@company.com', 'github:repo:acme/api#admin')) === 'revoked');
  });

  it('`gatehouse drift --format json` prints the contract', async () => {
    await github().grant(await account('bob@company.com'), 'github:team:acme/sre#member');
    const out = await run(process.execPath, ['bin/gatehouse.js', 'drift', '--system', 'github', '--format', 'json'], { DATABASE_URL: url, POLICIES_DIR: policies, SYSTEMS: 'github', LOG_LEVEL: 'warn' });
    expect(out.code).toBe(0);
    const json = JSON.parse(out.output) as { items: { class: string; email: string; entitlement: string; action: string }[] };
    expect(json.items).toContainEqual(expect.objectContaining({ class: 'extra', email: 'bob@company.com', entitlement: 'github:team:acme/sre#member', action: 'alerted' }));
    for (const item of json.items) expect(['missing', 'extra', 'orphan', 'level']).toContain(item.class);
    const bad = await run(process.execPath, ['bin/gatehouse.js', 'drift', '--system', 'gitub'], { DATABASE_URL: url, POLICIES_DIR: policies, SYSTEMS: 'github', LOG_LEVEL: 'warn' });
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('"gitub" is not a managed system');
  });
});
