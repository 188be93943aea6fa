import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attackSurface, hireEvent, postHris, postSlack, until } from './harness.js';

/**
 * Issue 27 (Medium): approvers and requests were fixed at filing. Someone removed from the
 * approver group, a former manager and a terminated one could still approve for days (until the
 * request timed out), and requested access survived a transfer to a department no policy offers it
 * to. Now a decision re-resolves the step (its labels → the Slack group's members now, the
 * person's manager in their HR record now; a terminated approver never approves), the final
 * approval checks that a policy still offers the access, and reconcile ends a live request that is
 * no longer offered after a change of role. Over real signed HTTP, every system sandboxed.
 */
const BY_MANAGER = 'github:repo:acme/infra#admin';
const BY_SECURITY = 'github:repo:acme/api#admin';
const AUTO = 'github:repo:acme/docs#write';
const ALSO_BY_SECURITY = 'github:repo:acme/web#admin';

function policiesFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-stale-approvers-'));
  writeFileSync(
    join(dir, 'engineering.yaml'),
    `name: engineering
description: Engineers may ask for admin on engineering repositories.
owner: "@platform-leads"
when:
  department: Engineering
grants:
  - okta:group:engineering
requestable:
  - entitlement: ${BY_MANAGER}
    approvers: [manager]
  - entitlement: ${BY_SECURITY}
    approvers:
      - any: ["@security-oncall"]
  - entitlement: ${ALSO_BY_SECURITY}
    approvers:
      - any: ["@security-oncall"]
  - entitlement: ${AUTO}
    max_duration: 8h
    approvers: [manager]
    auto_approve:
      when: { department: Engineering }
      max_duration: 8h
`,
  );
  writeFileSync(
    join(dir, 'sales.yaml'),
    `name: sales
description: Sales.
owner: "@sales-leads"
when:
  department: Sales
grants:
  - okta:group:sales
`,
  );
  return dir;
}

describe('security: stale approvers and transferred requests', () => {
  const app = attackSurface({ POLICIES_DIR: policiesFolder() });
  const db = () => app.gatehouse.database.db;
  let seq = 0;
  let clock = Date.parse('2026-11-21T09:00:00Z');
  const slash = async (userId: string, text: string) => {
    const responseId = `${userId}-stale-${++seq}`;
    const body = new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0', channel_name: 'general', user_id: userId, user_name: 'u', command: '/access', text, api_app_id: 'A0GATEHOUSE', response_url: `https://hooks.slack.com/actions/${responseId}`, trigger_id: '1.2.3' }).toString();
    expect((await postSlack(app.base, body, 'application/x-www-form-urlencoded')).status).toBe(200);
    return String((await until(`the answer to /access ${text}`, () => app.slack.responses.find((r) => r.id === responseId)?.body)).text);
  };
  const approve = async (userId: string, requestId: number) => {
    const responseId = `${userId}-approve-${++seq}`;
    const payload = { type: 'block_actions', api_app_id: 'A0GATEHOUSE', token: 'legacy', team: { id: 'T0ACME', domain: 'acme' }, user: { id: userId, username: 'u', name: 'u', team_id: 'T0ACME' }, container: { type: 'message', message_ts: '1.1', channel_id: `D${userId}`, is_ephemeral: false }, trigger_id: '1.2.3', response_url: `https://hooks.slack.com/actions/${responseId}`, actions: [{ action_id: 'request_approve', block_id: 'b', value: String(requestId), type: 'button', action_ts: '1' }] };
    expect((await postSlack(app.base, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded')).status).toBe(200);
    return responseId;
  };
  const answer = async (responseId: string) => String((await until('the answer', () => app.slack.responses.find((r) => r.id === responseId)?.body)).text);
  const request = (id: number) => db().selectFrom('access_requests').select(['state', 'end_reason']).where('id', '=', id).executeTakeFirstOrThrow();
  const lastRequest = async (slackId: string) => (await db().selectFrom('access_requests').select('id').where('requester_slack_id', '=', slackId).orderBy('id', 'desc').executeTakeFirstOrThrow()).id;
  const grant = async (email: string, entitlement: string) =>
    (await db().selectFrom('grants').innerJoin('people', 'people.id', 'grants.person_id').select('grants.status').where('people.email', '=', email).where('grants.entitlement', '=', entitlement).executeTakeFirst())?.status ?? null;
  /** An HR change, each one later than the last (older events are filed as stale). */
  const hr = async (eventType: string, id: string, data: Record<string, unknown>) => {
    clock += 3_600_000;
    const event = { ...hireEvent(id, data, `evt_${id}_${clock}`), event_type: eventType, timestamp: new Date(clock).toISOString() };
    expect((await postHris(app.base, event)).status).toBe(202);
  };
  const person = (email: string) => db().selectFrom('people').select(['status', 'data']).where('email', '=', email).executeTakeFirst();

  it('refuses an approver removed from the group since filing, and takes the one added since', async () => {
    for (const [id, email, manager] of [['emp_lee', 'lee@company.com', null], ['emp_sec', 'sec@company.com', null], ['emp_priya', 'priya@company.com', 'lee@company.com'], ['emp_eve', 'eve@company.com', 'lee@company.com']] as const) {
      expect((await postHris(app.base, hireEvent(id, { email, department: 'Engineering', manager_email: manager }))).status).toBe(202);
    }
    await until('people', async () => (await db().selectFrom('people').select('id').execute()).length === 4);
    expect(await slash('U0PRIYA', `request ${BY_SECURITY}`)).toMatch(/waiting for @security-oncall/);
    const id = await lastRequest('U0PRIYA');

    // Sec leaves the on-call group; Eve joins it.
    app.slack.addUsergroup('security-oncall', ['U0EVE']);
    expect(await answer(await approve('U0SEC', id))).toBe(`You are not an approver of step 1 of request #${id} (@security-oncall); nothing changed.`);
    expect(await request(id)).toMatchObject({ state: 'pending' });
    await approve('U0EVE', id);
    await until('approved by Eve', async () => (await request(id)).state !== 'pending');
    expect(await db().selectFrom('request_decisions').select('approver_slack_id').where('request_id', '=', id).execute()).toEqual([{ approver_slack_id: 'U0EVE' }]);
  });

  it('refuses a former manager and takes the manager the HR record names now', async () => {
    expect(await slash('U0PRIYA', `request ${BY_MANAGER}`)).toMatch(/waiting for manager/);
    const id = await lastRequest('U0PRIYA');
    await hr('employee.updated', 'emp_priya', { email: 'priya@company.com', department: 'Engineering', manager_email: 'sec@company.com' });
    await until('her new manager', async () => ((await person('priya@company.com'))?.data as { manager_email?: string }).manager_email === 'sec@company.com');

    expect(await answer(await approve('U0LEE', id))).toBe(`You are not an approver of step 1 of request #${id} (manager); nothing changed.`);
    expect(await request(id)).toMatchObject({ state: 'pending' });
    await approve('U0SEC', id);
    await until('approved by Sec', async () => (await request(id)).state !== 'pending');
  });

  it('refuses a terminated manager whom the HR record still names', async () => {
    expect(await slash('U0EVE', `request ${BY_MANAGER}`)).toMatch(/waiting for manager/);
    const id = await lastRequest('U0EVE');
    await hr('employee.terminated', 'emp_lee', { email: 'lee@company.com', department: 'Engineering', status: 'terminated' });
    await until('Lee terminated', async () => (await person('lee@company.com'))?.status === 'terminated');

    expect(await answer(await approve('U0LEE', id))).toBe(`Your HR record (lee@company.com) is not active, so you cannot approve request #${id}; nothing changed.`);
    expect(await request(id)).toMatchObject({ state: 'pending' });
    expect(await db().selectFrom('request_decisions').select('id').where('request_id', '=', id).execute()).toEqual([]);
  });

  it('refuses the final approval of a request no policy offers the person since their transfer', async () => {
    expect(await slash('U0PRIYA', `request ${ALSO_BY_SECURITY}`)).toMatch(/waiting for @security-oncall/);
    const id = await lastRequest('U0PRIYA');
    await hr('employee.updated', 'emp_priya', { email: 'priya@company.com', department: 'Sales', manager_email: 'sec@company.com' });
    await until('her transfer', async () => ((await person('priya@company.com'))?.data as { department?: string }).department === 'Sales');

    const text = await answer(await approve('U0EVE', id));
    expect(text).toBe(`Request #${id} cannot be approved: no policy offers \`${ALSO_BY_SECURITY}\` to priya@company.com any more (their role or the policies changed since they asked). Nothing was granted; the requester has been told why.`);
    expect(await request(id)).toEqual({ state: 'denied', end_reason: `no policy offers \`${ALSO_BY_SECURITY}\` to priya@company.com any more (their role or the policies changed since they asked)` });
    const told = await until('the requester told', () => app.slack.messagesIn('U0PRIYA').find((m) => m.text.includes(`Request #${id}`) && m.text.includes('did not grant')));
    expect(told.text).toContain('no policy offers');
    await new Promise((r) => setTimeout(r, 300));
    expect(await grant('priya@company.com', ALSO_BY_SECURITY)).toBeNull();
  });

  it('ends a granted request the new role is not offered, revokes it and tells the holder', async () => {
    expect(await slash('U0SEC', `request ${AUTO} for 4h`)).toMatch(/approved automatically/);
    const id = await lastRequest('U0SEC');
    await until('granted', async () => (await grant('sec@company.com', AUTO)) === 'verified');

    await hr('employee.updated', 'emp_sec', { email: 'sec@company.com', department: 'Sales' });
    await until('the request ended', async () => (await request(id)).state === 'revoked');
    expect(await request(id)).toEqual({ state: 'revoked', end_reason: 'no longer offered to them after a change of role' });
    await until('revoked', async () => (await grant('sec@company.com', AUTO)) === 'revoked');
    const told = await until('the holder told', () => app.slack.messagesIn('U0SEC').find((m) => m.text.includes(`request #${id}`) && m.text.includes('has ended')));
    expect(told.text).toContain('no longer offered to them after a change of role');
    expect(await db().selectFrom('audit_log').select(['action', 'reason']).where('action', '=', 'request.revoked').where('subject', '=', 'sec@company.com').execute()).toEqual([{ action: 'request.revoked', reason: 'no longer offered to them after a change of role' }]);
  });
});
