import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError } from '../../adapters/types.js';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { checkLeaverSla } from '../../src/orchestrator/leaver-sla.js';
import { completeManualTask } from '../../src/orchestrator/manual-tasks.js';
import { reconcilePerson } from '../../src/orchestrator/reconcile-person.js';
import type { SlackMessage } from '../../src/slack/notifier.js';
import { slackHeaders } from '../helpers/slack-signing.js';
import { createTestDatabase } from '../helpers/database.js';
import { type Script, withScripted } from '../helpers/scripted-adapter.js';
import { until } from '../helpers/until.js';

const SECRET = 'whsec_orchestrator';
const SLACK_SECRET = 'slack-signing-secret';
const VERIFY = [200, 400, 800];


/**
 * The orchestrator's harder paths, driven through the real pipeline (signed HRIS webhook →
 * reconcile → pg-boss → adapter) with Jira's sandbox behind a scriptable faulty adapter, and the
 * IT channel's messages captured as they would be posted.
 */
describe('orchestrator: verification, asynchronous writes, credentials, manual tasks, SLA, movers', () => {
  let gatehouse: Gatehouse;
  const script: Script = { writes: [], reads: [] };
  const posted: SlackMessage[] = [];
  beforeAll(async () => {
    const policies = mkdtempSync(join(tmpdir(), 'gatehouse-policies-'));
    writeFileSync(
      join(policies, 'qa.yaml'),
      ['name: qa', 'description: QA engineers.', 'owner: "@qa-leads"', 'when: { department: QA }', 'grants:', '  - jira:group:qa-team', '  - manual:laptop:macbook-pro-14', 'mover_overlap: 1h', ''].join('\n'),
    );
    writeFileSync(join(policies, 'support.yaml'), ['name: support', 'description: Support.', 'owner: "@support-leads"', 'when: { department: Support }', 'grants:', '  - jira:group:support-team', ''].join('\n'));
    const database = await createTestDatabase();
    gatehouse = await startGatehouse(
      loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET, POLICIES_DIR: policies, SYSTEMS: 'jira,manual', SLACK_SIGNING_SECRET: SLACK_SECRET, SLACK_BOT_TOKEN: 'xoxb-test', IT_ADMINS: 'U0HELPDESK' }),
      createLogger((process.env.TEST_LOG as 'debug') ?? 'silent'),
      {
        adapters: (registry) => withScripted(registry, 'jira', script),
        workers: {
          notifier: {
            post: async (message) => {
              posted.push(message);
              return { channel: 'C0IT', ts: `${Date.now() / 1000}` };
            },
          },
          execute: { verifySchedule: VERIFY, backoff: { baseMs: 100, capMs: 400 }, authPauseMs: 1_500 },
        },
      },
    );
  });
  afterAll(async () => {
    nock.cleanAll();
    await gatehouse?.stop();
  });

  const db = () => gatehouse.database.db;
  let seq = 0;
  const send = async (type: 'employee.hired' | 'employee.updated' | 'employee.terminated', employeeId: string, data: Record<string, unknown> = {}) => {
    const body = JSON.stringify({
      event_type: type,
      event_id: `evt_${employeeId}_${++seq}`,
      timestamp: new Date(Date.UTC(2026, 10, 20, 9, 0, seq)).toISOString(),
      data: { employee_id: employeeId, email: `${employeeId}@company.com`, first_name: 'Test', last_name: employeeId, department: 'QA', employment_type: 'FTE', ...(type === 'employee.terminated' ? { status: 'terminated' } : {}), ...data },
    });
    const res = await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(SECRET, body) }, body });
    expect(res.status).toBe(202);
    return until('the person', () => db().selectFrom('people').select('id').where('employee_id', '=', employeeId).executeTakeFirst());
  };
  const op = (personId: string, entitlement: string, kind = 'grant') =>
    until(`${kind} ${entitlement} to finish`, () =>
      db().selectFrom('operations').selectAll().where('person_id', '=', personId).where('entitlement', '=', entitlement).where('kind', '=', kind as 'grant').where('state', 'in', ['verified', 'applied', 'failed']).orderBy('id', 'desc').executeTakeFirst(),
    );
  /** The script applies to this employee's calls only (others' work may still be finishing). */
  const reset = (employeeId: string | undefined, changes: Partial<Script> = {}) => {
    script.target = employeeId === undefined ? undefined : `${employeeId}@company.com`;
    script.failWrites = [];
    script.hiddenReads = 0;
    script.inProgressChecks = undefined;
    script.writes.length = 0;
    script.reads.length = 0;
    Object.assign(script, changes);
  };

  it('a write that shows only on the third read is verified, each read on the schedule', async () => {
    reset('emp_slow', { hiddenReads: 2 });
    const person = await send('employee.hired', 'emp_slow');
    const done = await op(person.id, 'jira:group:qa-team');
    expect(done.state).toBe('verified');
    const reads = script.reads.filter((r) => r.entitlement === 'jira:group:qa-team').map((r) => r.at);
    expect(reads).toHaveLength(3);
    // Read at once, then after 200 ms, then after 400 ms more.
    expect(reads[1]! - reads[0]!).toBeGreaterThanOrEqual(VERIFY[0]!);
    expect(reads[2]! - reads[1]!).toBeGreaterThanOrEqual(VERIFY[1]!);
    // Written once: the reads never repeat the write.
    expect(script.writes.filter((w) => w.entitlement === 'jira:group:qa-team')).toHaveLength(1);
  });

  it('a write that never shows fails with that reason after the last read, and the run goes on', async () => {
    reset('emp_ghost', { hiddenReads: 1_000 });
    const person = await send('employee.hired', 'emp_ghost');
    const failed = await op(person.id, 'jira:group:qa-team');
    expect(failed.state).toBe('failed');
    expect(failed.last_error).toMatch(/accepted the change \(applied\) but it never became visible \(read back at once and after 0.2 s, 0.4 s, 0.8 s\)/);
    expect(script.reads.filter((r) => r.entitlement === 'jira:group:qa-team')).toHaveLength(1 + VERIFY.length);
    const account = await op(person.id, 'jira:account');
    expect(account.state).toBe('verified');
    const dead = await until('the dead letter', async () => (await gatehouse.boss.fetch('dead-letter', { batchSize: 50 }))?.find((j) => (j.data as { operationId: number }).operationId === failed.id));
    expect(dead.data).toMatchObject({ entitlement: 'jira:group:qa-team', kind: 'permanent' });
  });

  it('retries a 503 with backoff, then succeeds; a permanent error is not retried', async () => {
    reset('emp_retry', { failWrites: [new AdapterError('jira add to group failed: 503', { kind: 'retryable', system: 'jira', status: 503 })] });
    const person = await send('employee.hired', 'emp_retry');
    const done = await op(person.id, 'jira:account');
    expect(done).toMatchObject({ state: 'verified', attempts: 2 });
    const writes = script.writes.filter((w) => w.entitlement === 'jira:account');
    expect(writes.map((w) => w.refused)).toEqual([true, false]);

    reset('emp_perm', { failWrites: [new AdapterError('jira: group qa-team does not exist (404)', { kind: 'permanent', system: 'jira', status: 404 })] });
    const other = await send('employee.hired', 'emp_perm', { department: 'Support' });
    const account = await op(other.id, 'jira:account');
    expect(account).toMatchObject({ state: 'failed', attempts: 1, error_kind: 'permanent' });
  });

  it('follows an asynchronous write with progress checks instead of writing again', async () => {
    reset('emp_async', { inProgressChecks: 2 });
    const person = await send('employee.hired', 'emp_async', { department: 'Support' });
    const done = await op(person.id, 'jira:group:support-team');
    expect(done).toMatchObject({ state: 'verified', phase: 'progress', checks: 3 });
    expect(script.writes.filter((w) => w.entitlement === 'jira:group:support-team')).toHaveLength(1);
  });

  it('refused credentials pause the system and alert IT once, not once per job; it resumes and says so', async () => {
    const refused = () => new AdapterError('jira refused the API token (401)', { kind: 'auth', system: 'jira', status: 401 });
    reset(undefined, { failWrites: Array.from({ length: 3 }, refused) });
    posted.length = 0;
    const people = await Promise.all(['emp_auth1', 'emp_auth2', 'emp_auth3'].map((id) => send('employee.hired', id, { department: 'Support' })));
    const alert = await until('the alert', () => db().selectFrom('alerts').selectAll().where('kind', '=', 'auth').where('subject', '=', 'jira').executeTakeFirst());
    const paused = await db().selectFrom('rate_limits').select(['paused_until', 'pause_reason']).where('system', '=', 'jira').executeTakeFirstOrThrow();
    expect(paused.pause_reason).toContain('401');
    for (const p of people) expect((await op(p.id, 'jira:group:support-team')).state).toBe('verified');
    await until('the alert to resolve', () => db().selectFrom('alerts').select('resolved_at').where('id', '=', alert.id).where('resolved_at', 'is not', null).executeTakeFirst());
    await until('the resolution message', async () => posted.some((m) => m.text.includes('accepts Gatehouse')));
    const alerts = posted.filter((m) => m.text.startsWith("jira refuses Gatehouse's credentials"));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.text).toContain('jira refused the API token (401)');
    // Calls already in flight when the first was refused may be refused too; nothing was tried
    // again before the pause ended.
    const refusedAt = script.writes.filter((w) => w.refused).map((w) => w.at);
    const resumedAt = script.writes.find((w) => !w.refused)!.at;
    expect(refusedAt.length).toBeGreaterThanOrEqual(1);
    expect(resumedAt - Math.min(...refusedAt)).toBeGreaterThanOrEqual(1_500 - 50);
  });

  it('posts a manual task with who, what, why and a Done button; Done in Slack verifies it', async () => {
    reset('emp_laptop');
    posted.length = 0;
    const person = await send('employee.hired', 'emp_laptop', { job_title: 'QA Engineer', manager_email: 'lead@company.com' });
    const manual = await until('the manual operation', () => db().selectFrom('operations').selectAll().where('person_id', '=', person.id).where('system', '=', 'manual').where('state', '=', 'manual').executeTakeFirst());
    const task = await db().selectFrom('manual_tasks').selectAll().where('operation_id', '=', manual.id).executeTakeFirstOrThrow();
    const message = await until('the task message', async () => posted.find((m) => m.text.startsWith(`Manual task #${task.id}`)));
    expect(message.text).toBe(`Manual task #${task.id}: Provide manual:laptop:macbook-pro-14 for Test emp_laptop (emp_laptop@company.com)`);
    const blocks = JSON.stringify(message.blocks);
    expect(blocks).toContain('*Why:* policy:qa');
    expect(blocks).toContain('QA Engineer');
    expect(message.blocks).toContainEqual(expect.objectContaining({ type: 'actions', elements: [expect.objectContaining({ action_id: 'manual_task_done', value: String(task.id) })] }));
    // The run settles with the task listed as waiting on people.
    const run = await until('the run to settle', () => db().selectFrom('runs').selectAll().where('id', '=', manual.run_id).where('status', '=', 'settled').executeTakeFirst());
    expect(run.summary).toMatchObject({ manualPending: [{ taskId: task.id, entitlement: 'manual:laptop:macbook-pro-14', kind: 'grant' }] });
    const summary = await until('the run summary', async () => posted.find((m) => m.text.startsWith('Onboarding of Test emp_laptop')));
    expect(summary.text).toMatch(/done except 1 manual task in \d+/);
    expect(JSON.stringify(summary.blocks)).toContain(`task #${task.id}`);

    // Someone clicks Done: Slack's block_actions payload (api.slack.com/reference/interaction-payloads/block-actions).
    // Bolt learns its bot's ids from auth.test on the first event (api.slack.com/methods/auth.test).
    const slack = nock('https://slack.com')
      .post('/api/auth.test')
      .reply(200, { ok: true, url: 'https://acme.slack.com/', team: 'Acme', user: 'gatehouse', team_id: 'T0ACME', user_id: 'U0GATEHOUSE', bot_id: 'B0GATEHOUSE', is_enterprise_install: false })
      // Issue 27: Done asks who the clicker is (users.info) before it lets IT_ADMINS through.
      .post('/api/users.info', (body) => body.user === 'U0HELPDESK')
      .reply(200, { ok: true, user: { id: 'U0HELPDESK', name: 'helpdesk', profile: { email: 'helpdesk@company.com' } } })
      .post('/api/chat.update', (body) => body.channel === 'C0IT' && body.ts === '1700000000.000100' && String(body.text).includes(`Manual task #${task.id} done by <@U0HELPDESK>`))
      .reply(200, { ok: true, channel: 'C0IT', ts: '1700000000.000100', text: 'updated' });
    nock.enableNetConnect('127.0.0.1');
    const payload = {
      type: 'block_actions',
      user: { id: 'U0HELPDESK', username: 'helpdesk', name: 'helpdesk', team_id: 'T0ACME' },
      api_app_id: 'A0GATEHOUSE',
      token: 'legacy-verification-token',
      container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0IT', is_ephemeral: false },
      trigger_id: '123.456.abc',
      team: { id: 'T0ACME', domain: 'acme' },
      channel: { id: 'C0IT', name: 'it-onboarding' },
      message: { type: 'message', ts: '1700000000.000100', text: message.text, blocks: message.blocks },
      response_url: 'https://hooks.slack.com/actions/T0ACME/1/xyz',
      actions: [{ action_id: 'manual_task_done', block_id: `manual_task_${task.id}`, text: { type: 'plain_text', text: 'Done' }, value: String(task.id), type: 'button', action_ts: '1700000001.000200' }],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const res = await fetch(`http://127.0.0.1:${gatehouse.port}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...slackHeaders(SLACK_SECRET, body) }, body });
    expect(`${res.status} ${await res.text()}`).toBe('200 ');
    await until('the task to be done', () => db().selectFrom('manual_tasks').selectAll().where('id', '=', task.id).where('status', '=', 'done').executeTakeFirst());
    await until('the message update', async () => slack.isDone());
    const done = await db().selectFrom('operations').select(['state']).where('id', '=', manual.id).executeTakeFirstOrThrow();
    expect(done.state).toBe('verified');
    const grant = await db().selectFrom('grants').select('status').where('person_id', '=', person.id).where('entitlement', '=', 'manual:laptop:macbook-pro-14').executeTakeFirstOrThrow();
    expect(grant.status).toBe('verified');
    const audit = await db().selectFrom('audit_log').selectAll().where('action', '=', 'manual_task.done').where('subject', '=', 'emp_laptop@company.com').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor).toBe('slack:U0HELPDESK');
    // A second click changes nothing.
    const again = await completeManualTask({ db: db(), boss: gatehouse.boss, adapters: gatehouse.adapters, authz: { rules: { itAdmins: [], systemOwners: {} }, directory: null } }, task.id, 'cli');
    expect(again).toMatchObject({ changed: false, status: 'done', doneBy: 'slack:U0HELPDESK' });
    expect(await db().selectFrom('runs').select('summary').where('id', '=', manual.run_id).executeTakeFirstOrThrow()).toMatchObject({ summary: expect.objectContaining({ manualPending: [] }) });
  });

  it('a mover keeps old access for the policy\'s overlap; a termination revokes it at once', async () => {
    reset('emp_move');
    const person = await send('employee.hired', 'emp_move');
    await op(person.id, 'jira:group:qa-team');
    await send('employee.updated', 'emp_move', { department: 'Support' });
    await op(person.id, 'jira:group:support-team');
    const deferred = await until('the deferred revoke', () => db().selectFrom('operations').selectAll().where('person_id', '=', person.id).where('entitlement', '=', 'jira:group:qa-team').where('kind', '=', 'revoke').executeTakeFirst());
    expect(deferred.state).toBe('pending');
    const overlap = deferred.not_before!.getTime() - Date.now();
    expect(overlap).toBeGreaterThan(59 * 60_000);
    expect(overlap).toBeLessThanOrEqual(60 * 60_000);

    await send('employee.terminated', 'emp_move', { department: 'Support' });
    const revoked = await op(person.id, 'jira:group:qa-team', 'revoke');
    expect(revoked.state).toBe('verified');
    expect(revoked.not_before).toBeNull();
    expect((await db().selectFrom('operations').select('state').where('id', '=', deferred.id).executeTakeFirstOrThrow()).state).toBe('cancelled');
  });

  it('two reconciles while a run is still queued plan nothing twice and cancel nothing', async () => {
    reset('emp_twice');
    await gatehouse.database.db.updateTable('rate_limits').set({ paused_until: new Date(Date.now() + 3_000), pause_reason: 'test: hold the queue' }).where('system', '=', 'jira').execute();
    const person = await send('employee.hired', 'emp_twice', { department: 'Support' });
    await until('the first run', () => db().selectFrom('runs').select('id').where('person_id', '=', person.id).executeTakeFirst());
    const deps = { db: db(), boss: gatehouse.boss, policies: gatehouse.policies, adapters: gatehouse.adapters };
    const results = await Promise.all([reconcilePerson(deps, person.id, 'drift'), reconcilePerson(deps, person.id, 'drift')]);
    expect(results.map((r) => r.operations)).toEqual([0, 0]);
    expect((await op(person.id, 'jira:group:support-team')).state).toBe('verified');
    const ops = await db().selectFrom('operations').select(['key', 'state']).where('person_id', '=', person.id).execute();
    expect(ops.map((o) => `${o.key} ${o.state}`).sort()).toEqual(['grant jira:account verified', 'grant jira:group:support-team verified']);
  });

  it('when end_date has passed, the deferred leaver reconcile marks the person terminated and revokes', async () => {
    reset('emp_contract');
    const person = await send('employee.hired', 'emp_contract', { department: 'Support', end_date: '2026-12-31' });
    await op(person.id, 'jira:group:support-team');
    const deps = { db: db(), boss: gatehouse.boss, policies: gatehouse.policies, adapters: gatehouse.adapters };
    // The end_date job runs the day after (apply-change schedules it); before then, nothing changes.
    expect((await reconcilePerson({ ...deps, now: () => new Date('2026-12-31T23:00:00Z') }, person.id, 'leaver')).operations).toBe(0);
    const { operations } = await reconcilePerson({ ...deps, now: () => new Date('2027-01-01T00:00:01Z') }, person.id, 'leaver');
    expect(operations).toBe(2);
    expect(await db().selectFrom('people').select('status').where('id', '=', person.id).executeTakeFirstOrThrow()).toEqual({ status: 'terminated' });
    expect((await op(person.id, 'jira:group:support-team', 'revoke')).state).toBe('verified');
    expect((await op(person.id, 'jira:account', 'revoke')).state).toBe('verified');
    const audit = await db().selectFrom('audit_log').select('reason').where('action', '=', 'person.ended').where('subject', '=', 'emp_contract@company.com').execute();
    expect(audit).toEqual([{ reason: 'end_date 2026-12-31 has passed' }]);
  });

  it('reports a termination not verified within LEAVER_SLA to the IT channel, once', async () => {
    reset('emp_sla');
    posted.length = 0;
    const person = await send('employee.hired', 'emp_sla', { department: 'Support' });
    // Hired before the credentials broke: provision without the script, then break them.
    script.failWrites = [];
    await op(person.id, 'jira:group:support-team');
    script.failWrites = Array.from({ length: 50 }, () => new AdapterError('jira refused the API token (401)', { kind: 'auth', system: 'jira', status: 401 }));
    await send('employee.terminated', 'emp_sla', { department: 'Support' });
    const run = await until('the leaver run', () => db().selectFrom('runs').selectAll().where('person_id', '=', person.id).where('reason', '=', 'leaver').executeTakeFirst());
    const later = new Date(run.started_at.getTime() + 16 * 60_000);
    expect(await checkLeaverSla({ db: db(), boss: gatehouse.boss, leaverSlaMs: 15 * 60_000 }, new Date(run.started_at.getTime() + 14 * 60_000))).toBe(0);
    // Late too: emp_move's termination, whose laptop (a manual task) nobody has taken back yet.
    expect(await checkLeaverSla({ db: db(), boss: gatehouse.boss, leaverSlaMs: 15 * 60_000 }, later)).toBe(2);
    expect(await db().selectFrom('alerts').select('message').where('kind', '=', 'leaver_sla').where('message', 'like', '%emp_move%manual:laptop:macbook-pro-14 (manual)%').execute()).toHaveLength(1);
    expect(await checkLeaverSla({ db: db(), boss: gatehouse.boss, leaverSlaMs: 15 * 60_000 }, later)).toBe(0);
    const message = await until('the SLA message', async () => posted.find((m) => m.text.startsWith('A termination is not fully done within the SLA') && m.text.includes('emp_sla')));
    expect(message.text).toContain('the termination of emp_sla@company.com started 16 min 0 s ago and is not fully verified (LEAVER_SLA 15 min 0 s)');
    expect(message.text).toMatch(/outstanding: .*jira:group:support-team \((pending|running)/);
    script.failWrites = [];
  });
});
