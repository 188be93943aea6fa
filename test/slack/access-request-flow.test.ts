import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { sweepRequests } from '../../src/requests/lifecycle.js';
import { createTestDatabase } from '../helpers/database.js';
import { SlackApiFake } from '../helpers/slack-api-fake.js';
import { slackHeaders } from '../helpers/slack-signing.js';
import { until } from '../helpers/until.js';

const HRIS = 'whsec_requests';
const SLACK = 'slack-signing-secret-requests';
const ADMIN = 'aws:account-assignment:222222222222#AdministratorAccess';
const REPO_ADMIN = 'github:repo:acme/platform-api#admin';

const POLICY = `name: platform
description: Platform engineers.
owner: "@platform-leads"
when: { department: Engineering }
grants:
  - github:team:acme/platform#member
requestable:
  - entitlement: ${ADMIN}
    description: Production admin
    max_duration: 8h
    justification: required
    approvers:
      - manager
      - any: ["@security-oncall"]
  - entitlement: github:repo:acme/billing#read
    max_duration: 1d
    approvers:
      - any: [manager, "@security-oncall"]
  - entitlement: ${REPO_ADMIN}
    max_duration: 1d
    approvers: [manager]
    auto_approve:
      when: { team: Platform }
      max_duration: 2h
`;


/**
 * The whole request flow over real HTTP: Slack-signed slash commands, block_actions,
 * view_submission and block_suggestion payloads (shapes from api.slack.com/interactivity and
 * api.slack.com/reference/interaction-payloads) into Bolt's receiver, the Web API calls answered by
 * a stateful fake of Slack, either under nock or as a local server at SLACK_API_URL.
 */
describe.each([['nock on slack.com'], ['a local fake Slack at SLACK_API_URL']])('access requests in Slack (%s)', (backend) => {
  let gatehouse: Gatehouse;
  let slack: SlackApiFake;
  let seq = 0;
  let databaseUrl = '';
  beforeAll(async () => {
    slack = new SlackApiFake()
      .addUser({ id: 'U0PRIYA', email: 'priya@company.com', name: 'priya' })
      .addUser({ id: 'U0LEE', email: 'lee@company.com', name: 'lee' })
      .addUser({ id: 'U0SEC', email: 'sec@company.com', name: 'sec' })
      .addUser({ id: 'U0EVE', email: 'eve@company.com', name: 'eve' })
      .addUser({ id: 'U0CARL', email: 'carl@contractor.example', name: 'carl' })
      .addUsergroup('security-oncall', ['U0SEC']);
    if (backend.startsWith('nock')) slack.intercept();
    else await slack.listen();
    const policies = mkdtempSync(join(tmpdir(), 'gatehouse-requests-'));
    writeFileSync(join(policies, 'platform.yaml'), POLICY);
    const database = await createTestDatabase();
    databaseUrl = database.url;
    gatehouse = await startGatehouse(
      loadConfig({
        DATABASE_URL: database.url,
        PORT: '0',
        HOST: '127.0.0.1',
        HRIS_WEBHOOK_SECRET: HRIS,
        SLACK_SIGNING_SECRET: SLACK,
        SLACK_BOT_TOKEN: 'xoxb-gatehouse',
        ...(backend.startsWith('nock') ? {} : { SLACK_API_URL: slack.url }),
        POLICIES_DIR: policies,
        SYSTEMS: 'aws,github',
        IT_ADMINS: 'U0SEC',
        AWS_PROVISION_USERS: undefined,
      }),
      createLogger('silent'),
      { workers: { execute: { verifySchedule: [100, 200] } } },
    );
    for (const [id, email, manager] of [
      ['emp_lee', 'lee@company.com', null],
      ['emp_priya', 'priya@company.com', 'lee@company.com'],
    ] as const) {
      const body = JSON.stringify({ event_type: 'employee.hired', event_id: `evt_${id}`, timestamp: '2026-11-20T09:00:00Z', data: { employee_id: id, email, first_name: id.slice(4), last_name: 'X', department: 'Engineering', team: 'Platform', manager_email: manager } });
      const res = await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(HRIS, body) }, body });
      expect(res.status).toBe(202);
    }
    await until('Priya provisioned', () => gatehouse.database.db.selectFrom('grants').innerJoin('people', 'people.id', 'grants.person_id').select('grants.status').where('people.email', '=', 'priya@company.com').where('entitlement', '=', 'github:team:acme/platform#member').where('grants.status', '=', 'verified').executeTakeFirst());
  });
  afterAll(async () => {
    await gatehouse?.stop();
    await slack?.stop();
  });

  const db = () => gatehouse.database.db;
  const post = async (body: string, contentType: string) => {
    const res = await fetch(`http://127.0.0.1:${gatehouse.port}/slack/events`, { method: 'POST', headers: { 'content-type': contentType, ...slackHeaders(SLACK, body) }, body });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : (JSON.parse(text) as Record<string, unknown>) };
  };
  const user = (id: string) => ({ id, username: id.toLowerCase(), name: id.toLowerCase(), team_id: 'T0ACME' });
  /** A slash command as Slack posts it (api.slack.com/interactivity/slash-commands#app_command_handling). */
  const command = async (userId: string, text: string) => {
    const responseId = `cmd-${++seq}`;
    const body = new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0GENERAL', channel_name: 'general', user_id: userId, user_name: userId.toLowerCase(), command: '/access', text, api_app_id: 'A0GATEHOUSE', is_enterprise_install: 'false', response_url: slack.responseUrl(responseId), trigger_id: `${seq}.1.abc` }).toString();
    const res = await post(body, 'application/x-www-form-urlencoded');
    return { ...res, responseId };
  };
  const responseTo = (responseId: string) => until(`the answer to ${responseId}`, () => slack.responses.find((r) => r.id === responseId)?.body);
  const interaction = (payload: Record<string, unknown>) => post(new URLSearchParams({ payload: JSON.stringify({ api_app_id: 'A0GATEHOUSE', token: 'legacy', team: { id: 'T0ACME', domain: 'acme' }, is_enterprise_install: false, ...payload }) }).toString(), 'application/x-www-form-urlencoded');
  /** A button click in a DM (block_actions). */
  const click = async (userId: string, actionId: string, value: string, message?: { channel: string; ts: string }) => {
    const responseId = `act-${++seq}`;
    const res = await interaction({
      type: 'block_actions',
      user: user(userId),
      container: message ? { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false } : { type: 'view', view_id: 'V0HOME' },
      trigger_id: `${seq}.2.def`,
      channel: message ? { id: message.channel, name: 'directmessage' } : undefined,
      response_url: slack.responseUrl(responseId),
      actions: [{ action_id: actionId, block_id: `b-${value}`, value, type: 'button', action_ts: `${Date.now() / 1000}` }],
    });
    return { ...res, responseId };
  };
  const submit = (userId: string, callbackId: string, values: Record<string, Record<string, unknown>>, privateMetadata = '') =>
    interaction({ type: 'view_submission', user: user(userId), trigger_id: `${++seq}.3.ghi`, view: { id: 'V0MODAL', team_id: 'T0ACME', type: 'modal', callback_id: callbackId, private_metadata: privateMetadata, state: { values }, hash: '1.abc' }, response_urls: [] });
  const request = (entitlement: string, state?: string) => {
    let q = db().selectFrom('access_requests').selectAll().where('entitlement', '=', entitlement);
    if (state) q = q.where('state', '=', state as 'pending');
    return q.orderBy('id', 'desc').executeTakeFirst();
  };
  const dmButton = (userId: string, requestId: number) => {
    const message = slack.messagesIn(userId).find((m) => JSON.stringify(m.blocks ?? []).includes(`"value":"${requestId}"`));
    return message ? { channel: message.channel, ts: message.ts, message } : undefined;
  };

  it('onboarding: a summary in #it-onboarding with the operation log in its thread; the manager and the new hire are told', async () => {
    const summary = await until('the summary', () => slack.messagesIn('it-onboarding').find((m) => m.text.startsWith('Onboarding of priya X complete')));
    const thread = await until('the thread', () => slack.messagesIn('it-onboarding').find((m) => m.thread_ts === summary.ts));
    expect(thread.text).toMatch(/^Operation log \(\d+ operations\)$/);
    expect(JSON.stringify(thread.blocks)).toContain('`grant github:team:acme/platform#member` verified, 1 attempt');
    const manager = await until('the manager DM', () => slack.messagesIn('U0LEE').find((m) => m.text.startsWith("priya X's access is ready")));
    expect(manager.text).toMatch(/^priya X's access is ready: \d+ grants in place\.$/);
    await until('the welcome DM', () => slack.messagesIn('U0PRIYA').find((m) => m.text.startsWith('Welcome, priya!')));
    // Once each, however often the queue delivered them.
    expect(slack.messagesIn('it-onboarding').filter((m) => m.text.startsWith('Onboarding of priya X'))).toHaveLength(1);
  });

  it('request → manager DM → approve → security approves (once) → verified → requester told → expiry → revoked → holder told', async () => {
    const asked = await command('U0PRIYA', `request ${ADMIN} for 1h because INC-4711 database failover`);
    expect(asked).toMatchObject({ status: 200, body: null });
    expect(String((await responseTo(asked.responseId)).text)).toMatch(/^Request #\d+ for `aws:account-assignment:222222222222#AdministratorAccess` \(1 hour\) is waiting for manager/);
    const filed = (await request(ADMIN, 'pending'))!;
    expect(filed).toMatchObject({ duration_ms: 3_600_000, justification: 'INC-4711 database failover', requester_slack_id: 'U0PRIYA' });

    // The manager's DM: who, what, how long, why, the policy, the risk, and the buttons.
    const dm = await until("the manager's DM", () => dmButton('U0LEE', filed.id));
    expect(dm.message.text).toBe(`<@U0PRIYA> asks for ${ADMIN} for 1 hour (request #${filed.id})`);
    expect(JSON.stringify(dm.message.blocks)).toContain('INC-4711 database failover');
    expect(JSON.stringify(dm.message.blocks)).toContain('production, administrator level');

    // Someone else, and the requester, are refused politely; nothing changes.
    const eve = await click('U0EVE', 'request_approve', String(filed.id), dm);
    expect(String((await responseTo(eve.responseId)).text)).toMatch(/You are not an approver of step 1 of request #\d+ \(manager\); nothing changed\./);
    const self = await click('U0PRIYA', 'request_approve', String(filed.id), dm);
    expect(String((await responseTo(self.responseId)).text)).toBe(`You cannot approve your own request (#${filed.id}).`);
    expect(await db().selectFrom('request_decisions').select('id').where('request_id', '=', filed.id).execute()).toEqual([]);

    // The manager approves: their DM is updated in place, and step 2 goes to security.
    await click('U0LEE', 'request_approve', String(filed.id), dm);
    await until('the DM updated', () => dm.message.edits.length === 1);
    expect(dm.message.text).toBe(`Approved by <@U0LEE>: ${ADMIN} for <@U0PRIYA> (request #${filed.id})`);
    expect(JSON.stringify(dm.message.blocks)).not.toContain('request_approve');
    const secDm = await until("security's DM", () => dmButton('U0SEC', filed.id));

    // A double click approves once.
    await Promise.all([click('U0SEC', 'request_approve', String(filed.id), secDm), click('U0SEC', 'request_approve', String(filed.id), secDm)]);
    await until('approved', () => request(ADMIN, 'provisioning').then((r) => r ?? request(ADMIN, 'active')));
    expect(await db().selectFrom('request_decisions').select(['approver_slack_id', 'decision']).where('request_id', '=', filed.id).orderBy('id').execute()).toEqual([
      { approver_slack_id: 'U0LEE', decision: 'approved' },
      { approver_slack_id: 'U0SEC', decision: 'approved' },
    ]);
    expect(await db().selectFrom('audit_log').select('actor').where('action', '=', 'request.approved').where('entitlement', '=', ADMIN).execute()).toEqual([{ actor: 'slack:U0SEC' }]);

    // Verified in AWS, then the requester is told; the hour starts at verification.
    const active = await until('active', () => request(ADMIN, 'active'));
    const grant = await db().selectFrom('grants').selectAll().where('entitlement', '=', ADMIN).executeTakeFirstOrThrow();
    expect(grant).toMatchObject({ status: 'verified', source: `request:${filed.id}` });
    expect(active.expires_at!.getTime() - active.activated_at!.getTime()).toBe(3_600_000);
    expect(grant.expires_at!.getTime()).toBe(active.expires_at!.getTime());
    expect(active.activated_at!.getTime()).toBeGreaterThanOrEqual(grant.verified_at!.getTime() - 1_000);
    const told = await until('the requester told', () => slack.messagesIn('U0PRIYA').find((m) => m.text.startsWith(`Your access to ${ADMIN} works now`)));
    expect(told.text).toContain(`until ${active.expires_at!.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
    // The expiry timer is queued for expires_at.
    const timer = await gatehouse.database.pool.query("select start_after from pgboss.job where name = 'request-expiry' and data->>'requestId' = $1", [String(filed.id)]);
    expect(new Date(timer.rows[0].start_after).getTime()).toBe(active.expires_at!.getTime());

    // Expiry survives a restart: with the timer lost, the per-minute sweep revokes it.
    const schedule = await gatehouse.database.pool.query("select cron from pgboss.schedule where name = 'request-sweep'");
    expect(schedule.rows).toEqual([{ cron: '* * * * *' }]);
    await gatehouse.database.pool.query("delete from pgboss.job where name = 'request-expiry'");
    const swept = await sweepRequests({ db: db(), boss: gatehouse.boss, now: () => new Date(active.expires_at!.getTime() + 1_000) }, { approvalReminderMs: 3_600_000, approvalTimeoutMs: 86_400_000 });
    expect(swept.expired).toBe(1);
    await until('revoked', () => db().selectFrom('grants').select('status').where('entitlement', '=', ADMIN).where('status', '=', 'revoked').executeTakeFirst());
    const { rows } = await gatehouse.database.pool.query("select count(*)::int as n from sandbox_grants where entitlement = $1", [ADMIN]);
    expect(rows[0].n).toBe(0);
    await until('the holder told', () => slack.messagesIn('U0PRIYA').find((m) => m.text === `Your access to ${ADMIN} has ended and is removed (request #${filed.id}, its time ran out).`));
  });

  it('the modal: searchable list, validation errors in place, auto-approval within the policy', async () => {
    const opened = await command('U0PRIYA', '');
    expect(opened.status).toBe(200);
    const view = await until('the modal', () => slack.views.find((v) => v.method === 'views.open' && v.trigger_id === `${seq}.1.abc`));
    expect(view.view).toMatchObject({ callback_id: 'access_request_modal' });

    // Typing "platform" in the external select (block_suggestion).
    const suggested = await interaction({ type: 'block_suggestion', user: user('U0PRIYA'), container: { type: 'view', view_id: 'V0MODAL' }, action_id: 'entitlement', block_id: 'entitlement', value: 'platform', view: { id: 'V0MODAL', type: 'modal', callback_id: 'access_request_modal' } });
    expect(suggested.status).toBe(200);
    expect((suggested.body!.options as { value: string }[]).map((o) => o.value)).toEqual([REPO_ADMIN]);

    const selected = { entitlement: { entitlement: { type: 'external_select', selected_option: { text: { type: 'plain_text', text: REPO_ADMIN }, value: REPO_ADMIN } } } };
    const tooLong = await submit('U0PRIYA', 'access_request_modal', { ...selected, duration: { duration: { type: 'plain_text_input', value: '3d' } }, justification: { justification: { type: 'plain_text_input', value: null } } });
    expect(tooLong.body).toEqual({ response_action: 'errors', errors: { duration: `\`${REPO_ADMIN}\` can be granted for at most 1d; ask for 1d or less.` } });
    const gibberish = await submit('U0PRIYA', 'access_request_modal', { ...selected, duration: { duration: { type: 'plain_text_input', value: 'a while' } }, justification: { justification: { type: 'plain_text_input', value: null } } });
    expect(gibberish.body).toMatchObject({ response_action: 'errors', errors: { duration: expect.stringContaining('is not a duration') } });
    expect(await request(REPO_ADMIN)).toBeUndefined();

    const ok = await submit('U0PRIYA', 'access_request_modal', { ...selected, duration: { duration: { type: 'plain_text_input', value: '2h' } }, justification: { justification: { type: 'plain_text_input', value: 'release' } } });
    expect(ok).toEqual({ status: 200, body: null });
    const auto = await until('auto-approved', () => request(REPO_ADMIN));
    expect(auto.auto_approved).toBe(true);
    await until('the confirmation', () => slack.messagesIn('U0PRIYA').find((m) => m.text.includes(`#${auto.id}`) && m.text.includes('approved automatically by policy')));
    await until('active', () => request(REPO_ADMIN, 'active'));
    await until('told', () => slack.messagesIn('U0PRIYA').find((m) => m.text.startsWith(`Your access to ${REPO_ADMIN} works now`)));
    const audit = await db().selectFrom('audit_log').select(['actor', 'reason']).where('action', '=', 'request.approved').where('entitlement', '=', REPO_ADMIN).execute();
    expect(audit).toEqual([{ actor: 'policy:platform', reason: 'auto_approve (up to 2h)' }]);

    // Given up early: revoked at once.
    const released = await command('U0PRIYA', `release ${REPO_ADMIN}`);
    expect(String((await responseTo(released.responseId)).text)).toContain('Releasing');
    await until('revoked', () => db().selectFrom('grants').select('status').where('entitlement', '=', REPO_ADMIN).where('status', '=', 'revoked').executeTakeFirst());
  });

  it('deny with a reason; mine, pending, help and bad input answer only the person who asked', async () => {
    const asked = await command('U0PRIYA', `request ${ADMIN} for 2h because testing deny`);
    await responseTo(asked.responseId);
    const filed = (await request(ADMIN, 'pending'))!;
    const dm = await until("the manager's DM", () => dmButton('U0LEE', filed.id));

    const pending = await command('U0LEE', 'pending');
    expect(String((await responseTo(pending.responseId)).text)).toContain(`#${filed.id} <@U0PRIYA> asks for \`${ADMIN}\` for 2 hours`);

    await click('U0LEE', 'request_deny', String(filed.id), dm);
    const modal = await until('the deny modal', () => slack.views.find((v) => v.method === 'views.open' && JSON.stringify(v.view).includes('request_deny_reason') && JSON.stringify(v.view).includes(`\\"requestId\\":${filed.id}`)));
    const meta = (modal.view as { private_metadata: string }).private_metadata;
    const empty = await submit('U0LEE', 'request_deny_reason', { reason: { reason: { type: 'plain_text_input', value: '  ' } } }, meta);
    expect(empty.body).toMatchObject({ response_action: 'errors', errors: { reason: expect.stringContaining('Say why') } });
    const denied = await submit('U0LEE', 'request_deny_reason', { reason: { reason: { type: 'plain_text_input', value: 'use the break-glass runbook' } } }, meta);
    expect(denied).toEqual({ status: 200, body: null });
    expect(await request(ADMIN, 'denied')).toMatchObject({ id: filed.id, end_reason: 'use the break-glass runbook' });
    await until('the DM updated', () => dm.message.text.startsWith('Denied by <@U0LEE>'));
    await until('the requester told', () => slack.messagesIn('U0PRIYA').find((m) => m.text === `Request #${filed.id} for ${ADMIN} was denied by <@U0LEE>: use the break-glass runbook.`));
    // A click on the old DM after the decision.
    const late = await click('U0LEE', 'request_approve', String(filed.id), dm);
    expect(String((await responseTo(late.responseId)).text)).toMatch(new RegExp(`^Request #${filed.id} is already denied \\(denied by <@U0LEE> at .* UTC\\); nothing changed\\.$`));

    const mine = await command('U0PRIYA', 'mine');
    const mineText = String((await responseTo(mine.responseId)).text);
    expect(mineText).toContain('`github:team:acme/platform#member` — policy platform, verified');
    expect((await responseTo(mine.responseId)).response_type).toBe('ephemeral');

    const unknown = await command('U0PRIYA', 'request aws:account-assignment:222222222222#AdministratorAcess');
    expect(String((await responseTo(unknown.responseId)).text)).toContain('(did you mean "aws:account-assignment:222222222222#AdministratorAccess"?)');
    const help = await command('U0PRIYA', 'help');
    expect(help.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('/access request <entitlement>') });
    const bad = await command('U0PRIYA', 'gimme');
    expect(bad.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('"gimme" is not an /access command') });
  });

  it('reminds and escalates a waiting approval, then times it out; warns before expiry with Extend', async () => {
    const settings = { approvalReminderMs: 4 * 3_600_000, approvalTimeoutMs: 3 * 86_400_000 };
    const sweep = (at: Date) => sweepRequests({ db: db(), boss: gatehouse.boss, now: () => at }, settings);
    const asked = await command('U0PRIYA', 'request github:repo:acme/billing#read for 1d because month end');
    await responseTo(asked.responseId);
    const filed = (await request('github:repo:acme/billing#read', 'pending'))!;
    // An `any` step asks its first approver first.
    const lee = await until("the manager's DM", () => dmButton('U0LEE', filed.id));
    expect(dmButton('U0SEC', filed.id)).toBeUndefined();
    expect(await sweep(new Date(filed.created_at.getTime() + 3 * 3_600_000))).toMatchObject({ reminded: 0 });
    expect(await sweep(new Date(filed.created_at.getTime() + 5 * 3_600_000))).toMatchObject({ reminded: 1 });
    await until('escalated to security', () => dmButton('U0SEC', filed.id));
    await until('the manager reminded in the thread', () => slack.messagesIn('U0LEE').find((m) => m.thread_ts === lee.ts && m.text.startsWith(`Reminder: request #${filed.id}`)));
    expect(await sweep(new Date(filed.created_at.getTime() + 6 * 3_600_000))).toMatchObject({ reminded: 0 });
    expect(await sweep(new Date(filed.created_at.getTime() + 4 * 86_400_000))).toMatchObject({ timedOut: 1 });
    expect(await request('github:repo:acme/billing#read')).toMatchObject({ id: filed.id, state: 'timed_out' });
    await until('the DMs updated', () => lee.message.text.startsWith('Timed out'));
    await until('the requester told', () => slack.messagesIn('U0PRIYA').find((m) => m.text.startsWith(`Request #${filed.id} for github:repo:acme/billing#read timed out`)));

    // A 2-hour grant: its holder is warned an hour before, with Extend.
    const again = await command('U0PRIYA', `request ${REPO_ADMIN} for 2h`);
    await responseTo(again.responseId);
    const active = await until('active', () => request(REPO_ADMIN, 'active'));
    expect(await sweep(new Date(active.expires_at!.getTime() - 90 * 60_000))).toMatchObject({ expiryReminders: 0 });
    expect(await sweep(new Date(active.expires_at!.getTime() - 50 * 60_000))).toMatchObject({ expiryReminders: 1 });
    const warning = await until('the warning', () => slack.messagesIn('U0PRIYA').find((m) => m.text.startsWith(`Your access to ${REPO_ADMIN} ends at ${active.expires_at!.toISOString().slice(0, 16).replace('T', ' ')} UTC`)));
    expect(JSON.stringify(warning.blocks)).toContain('"action_id":"request_extend"');
    const extended = await click('U0PRIYA', 'request_extend', String(active.id), { channel: warning.channel, ts: warning.ts });
    expect(String((await responseTo(extended.responseId)).text)).toMatch(/approved automatically by policy/);
    const next = await until('the extension active', () => db().selectFrom('access_requests').selectAll().where('entitlement', '=', REPO_ADMIN).where('state', '=', 'active').where('id', '!=', active.id).executeTakeFirst());
    expect(next.justification).toBe(`extension of #${active.id}`);
    expect(next.expires_at!.getTime()).toBeGreaterThan(active.expires_at!.getTime());
  });

  it("tells a contractor, their manager and IT before the contract ends; the manager's button asks IT to extend", async () => {
    const endDate = new Date(Date.now() + 6 * 86_400_000).toISOString().slice(0, 10);
    const body = JSON.stringify({ event_type: 'employee.hired', event_id: `evt_carl_${backend.length}`, timestamp: '2026-11-20T09:00:00Z', data: { employee_id: 'emp_carl', email: 'carl@contractor.example', first_name: 'Carl', last_name: 'C', department: 'Engineering', team: 'Platform', employment_type: 'Contractor', end_date: endDate, manager_email: 'lee@company.com' } });
    expect((await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(HRIS, body) }, body })).status).toBe(202);
    await until('carl stored', () => db().selectFrom('people').select('id').where('email', '=', 'carl@contractor.example').executeTakeFirst());
    const settings = { approvalReminderMs: 4 * 3_600_000, approvalTimeoutMs: 3 * 86_400_000 };
    expect(await sweepRequests({ db: db(), boss: gatehouse.boss }, settings)).toMatchObject({ contractorNotices: 1 });
    expect(await sweepRequests({ db: db(), boss: gatehouse.boss }, settings)).toMatchObject({ contractorNotices: 0 });
    const it = await until('IT told', () => slack.messagesIn('it-onboarding').find((m) => m.text.startsWith('Contractor Carl C')));
    // Six calendar days are left (issue 17: the 7-day notice used to say "in 7 days"); no zone is configured, so UTC.
    expect(it.text).toBe(`Contractor Carl C (carl@contractor.example) ends on ${endDate} (in 6 days); sponsor lee@company.com. Their access is revoked at the end of that day (UTC time).`);
    await until('carl told', () => slack.messagesIn('U0CARL').find((m) => m.text.startsWith(`Your contract ends on ${endDate}`)));
    const manager = await until('the manager told', () => slack.messagesIn('U0LEE').find((m) => m.text.startsWith("Carl C's contract ends")));
    const personId = (await db().selectFrom('people').select('id').where('email', '=', 'carl@contractor.example').executeTakeFirstOrThrow()).id;
    const eve = await click('U0EVE', 'contractor_extension', personId, { channel: manager.channel, ts: manager.ts });
    expect(String((await responseTo(eve.responseId)).text)).toBe("Only the contractor's manager can ask for their extension.");
    const asked = await click('U0LEE', 'contractor_extension', personId, { channel: manager.channel, ts: manager.ts });
    expect(String((await responseTo(asked.responseId)).text)).toContain('IT has been asked');
    await until('IT asked', () => slack.messagesIn('it-onboarding').find((m) => m.text === `<@U0LEE> asks to extend carl@contractor.example's contract beyond ${endDate}. Update end_date in the HRIS and Gatehouse keeps their access.`));
  });

  it('/access audit @person shows IT one person\'s history; `gatehouse audit export` is the evidence', async () => {
    const denied = await command('U0LEE', 'audit <@U0PRIYA|priya>');
    expect(String((await responseTo(denied.responseId)).text)).toMatch(/^Only IT \(IT_ADMINS\)/);
    const history = await command('U0SEC', 'audit <@U0PRIYA|priya>');
    const text = String((await responseTo(history.responseId)).text);
    expect(text).toContain('*Recent history of priya@company.com*');
    expect(text).toMatch(/request\.approved `aws:account-assignment:222222222222#AdministratorAccess`.*by <@U0SEC>/);
    expect(text).toContain('request.denied');

    const { run } = await import('../helpers/process.js');
    const exported = await run(process.execPath, ['bin/gatehouse.js', 'audit', 'export', '--format', 'json'], { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
    expect(exported.code).toBe(0);
    const evidence = JSON.parse(exported.output) as { audit_chain: { ok: boolean }; people: { email: string; access: { entitlement: string; justification: string | null; approved_by: string[]; verified_at: string | null; revoked_at: string | null; source: string }[] }[] };
    expect(evidence.audit_chain.ok).toBe(true);
    const priya = evidence.people.find((p) => p.email === 'priya@company.com')!;
    const admin = priya.access.find((a) => a.entitlement === ADMIN)!;
    expect(admin).toMatchObject({ justification: 'INC-4711 database failover', approved_by: ['slack:U0LEE', 'slack:U0SEC'] });
    expect(admin.verified_at).not.toBeNull();
    expect(admin.revoked_at).not.toBeNull();
    expect(priya.access.find((a) => a.entitlement === 'github:team:acme/platform#member')).toMatchObject({ justification: 'birthright: policy platform', approved_by: ['policy:platform'] });
    const csv = await run(process.execPath, ['bin/gatehouse.js', 'audit', 'export', '--since', '2000-01-01'], { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
    expect(csv.output.split('\r\n')[0]).toBe('email,employee_id,person_status,entitlement,system,status,source,justification,approved_by,approved_at,granted_at,verified_at,revoked_at,expires_at');
    expect(csv.output).toContain('priya@company.com,emp_priya,active,aws:account-assignment:222222222222#AdministratorAccess,aws,revoked,request:');
    const bad = await run(process.execPath, ['bin/gatehouse.js', 'audit', 'export', '--since', 'last week'], { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('--since must be a date');
  }, 90_000);

  it('App Home shows my access, my requests and what waits on me', async () => {
    const res = await post(JSON.stringify({ token: 'legacy', team_id: 'T0ACME', api_app_id: 'A0GATEHOUSE', type: 'event_callback', event_id: `Ev${++seq}`, event_time: Math.floor(Date.now() / 1000), event: { type: 'app_home_opened', user: 'U0PRIYA', channel: 'D0PRIYA', tab: 'home', event_ts: `${Date.now() / 1000}` } }), 'application/json');
    expect(res.status).toBe(200);
    const home = await until('views.publish', () => slack.views.find((v) => v.method === 'views.publish' && v.user_id === 'U0PRIYA'));
    expect(JSON.stringify(home.view)).toContain('github:team:acme/platform#member');
    expect(JSON.stringify(home.view)).toContain('Request more');
  });

  it('two identical /access requests at once file one request; the other is told about it', async () => {
    const answers = await Promise.all([command('U0PRIYA', 'request github:repo:acme/billing#read for 1d because twins'), command('U0PRIYA', 'request github:repo:acme/billing#read for 1d because twins')]);
    const texts = await Promise.all(answers.map((a) => responseTo(a.responseId).then((r) => String(r.text))));
    expect(texts.filter((t) => t.startsWith('Request #'))).toHaveLength(1);
    expect(texts.filter((t) => /^You already have request #\d+ for `github:repo:acme\/billing#read` \(pending\)\.$/.test(t))).toHaveLength(1);
    const filed = await db().selectFrom('access_requests').select('id').where('entitlement', '=', 'github:repo:acme/billing#read').where('requester_slack_id', '=', 'U0PRIYA').where('state', '=', 'pending').execute();
    expect(filed).toHaveLength(1);
    await command('U0PRIYA', `cancel ${filed[0]!.id}`);
  });

  it("a leaver's requests end with them: the waiting one is withdrawn, the granted one revoked, and a rehire does not get it back", async () => {
    const dana = `U0DANA${backend.length}`;
    const email = `dana${backend.length}@company.com`;
    slack.addUser({ id: dana, email, name: 'dana' });
    const hris = async (event_type: string, id: string, timestamp: string, status = 'active') => {
      const body = JSON.stringify({ event_type, event_id: `evt_dana_${id}_${backend.length}`, timestamp, data: { employee_id: `emp_dana${backend.length}`, email, first_name: 'Dana', last_name: 'D', department: 'Engineering', team: 'Platform', manager_email: 'lee@company.com', status } });
      expect((await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(HRIS, body) }, body })).status).toBe(202);
    };
    await hris('employee.hired', 'hire', '2026-11-21T09:00:00Z');
    const personId = (await until('Dana stored', () => db().selectFrom('people').select('id').where('email', '=', email).executeTakeFirst())).id;
    const ofDana = (entitlement: string) => db().selectFrom('access_requests').select(['id', 'state', 'end_reason']).where('person_id', '=', personId).where('entitlement', '=', entitlement).executeTakeFirst();
    const grantOf = (entitlement: string) => db().selectFrom('grants').select('status').where('person_id', '=', personId).where('entitlement', '=', entitlement).executeTakeFirst();
    await responseTo((await command(dana, `request ${REPO_ADMIN} for 1h because release`)).responseId);
    await until('auto-approved and active', () => ofDana(REPO_ADMIN).then((r) => r?.state === 'active'));
    expect(await grantOf(REPO_ADMIN)).toEqual({ status: 'verified' });
    await responseTo((await command(dana, 'request github:repo:acme/billing#read for 1d')).responseId);
    expect(await until('waiting', () => ofDana('github:repo:acme/billing#read'))).toMatchObject({ state: 'pending' });

    await hris('employee.terminated', 'leave', '2026-11-22T09:00:00Z', 'terminated');
    await until('both ended', async () => (await ofDana(REPO_ADMIN))?.state === 'revoked' && (await ofDana('github:repo:acme/billing#read'))?.state === 'cancelled');
    expect(await ofDana(REPO_ADMIN)).toMatchObject({ end_reason: 'the person left' });
    await until('access revoked', () => grantOf(REPO_ADMIN).then((g) => g?.status === 'revoked'));
    const audit = await db().selectFrom('audit_log').select(['action', 'reason']).where('subject', '=', email).where('action', 'in', ['request.revoked', 'request.cancelled']).orderBy('seq').execute();
    expect(audit).toEqual([
      { action: 'request.cancelled', reason: 'the person left' },
      { action: 'request.revoked', reason: 'the person left' },
    ]);

    // Rehired: their policies again, not last month's approval.
    await hris('employee.hired', 'rehire', '2026-11-23T09:00:00Z');
    await until('policy access back', () => grantOf('github:team:acme/platform#member').then((g) => g?.status === 'verified'));
    expect(await grantOf(REPO_ADMIN)).toEqual({ status: 'revoked' });
    const { rows } = await gatehouse.database.pool.query('select count(*)::int as n from sandbox_grants g join sandbox_accounts a on a.system = g.system and a.id = g.account_id where a.email = $1 and g.entitlement = $2', [email, REPO_ADMIN]);
    expect(rows[0].n).toBe(0);
  });
});
