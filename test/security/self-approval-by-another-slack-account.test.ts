import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attackSurface, hireEvent, postHris, postSlack, until } from './harness.js';

/**
 * Issue 27 (Low): the self-approval check compared Slack ids rather than people. Priya has a
 * second Slack account (an admin account, same email in another case) that is in the on-call
 * group approving her request: from it she approved her own request. The same happens the other
 * way round, filing from the second account and approving from the first, which reaches her own
 * HR record through another Slack id. Now a decision compares the clicker's email with the
 * requester's and with the request's person. Over real signed HTTP.
 */
const REPO_ADMIN = 'github:repo:acme/infra#admin';
const OTHER_REPO = 'github:repo:acme/api#admin';

function policiesFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-self-approval-'));
  writeFileSync(
    join(dir, 'infra.yaml'),
    `name: infra
description: Engineers may ask for admin on infra repositories.
owner: "@platform-oncall"
when:
  department: Engineering
grants:
  - okta:group:engineering
requestable:
  - entitlement: ${REPO_ADMIN}
    approvers:
      - any: ["@platform-oncall"]
  - entitlement: ${OTHER_REPO}
    approvers:
      - any: ["@platform-oncall"]
`,
  );
  return dir;
}

describe('security: self-approval from another Slack account', () => {
  const app = attackSurface({ POLICIES_DIR: policiesFolder() });
  const db = () => app.gatehouse.database.db;
  let seq = 0;
  const slash = async (userId: string, text: string) => {
    const responseId = `${userId}-self-${++seq}`;
    const body = new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0', channel_name: 'general', user_id: userId, user_name: 'u', command: '/access', text, api_app_id: 'A0GATEHOUSE', response_url: `https://hooks.slack.com/actions/${responseId}`, trigger_id: '1.2.3' }).toString();
    expect((await postSlack(app.base, body, 'application/x-www-form-urlencoded')).status).toBe(200);
    return String((await until(`the answer to /access ${text}`, () => app.slack.responses.find((r) => r.id === responseId)?.body)).text);
  };
  const approve = async (userId: string, requestId: number) => {
    const responseId = `${userId}-approve-${++seq}`;
    const payload = { type: 'block_actions', api_app_id: 'A0GATEHOUSE', token: 'legacy', team: { id: 'T0ACME', domain: 'acme' }, user: { id: userId, username: 'u', name: 'u', team_id: 'T0ACME' }, container: { type: 'message', message_ts: '1.1', channel_id: `D${userId}`, is_ephemeral: false }, trigger_id: '1.2.3', response_url: `https://hooks.slack.com/actions/${responseId}`, actions: [{ action_id: 'request_approve', block_id: 'b', value: String(requestId), type: 'button', action_ts: '1' }] };
    expect((await postSlack(app.base, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded')).status).toBe(200);
    return String((await until('the answer', () => app.slack.responses.find((r) => r.id === responseId)?.body)).text);
  };
  const state = async (id: number) => (await db().selectFrom('access_requests').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state;
  const decisions = (id: number) => db().selectFrom('request_decisions').select('approver_slack_id').where('request_id', '=', id).execute();

  it('refuses Priya approving her own request from her second account, whichever account filed it', async () => {
    // Her admin account has the same address in another case; it is on call, with Sec.
    app.slack.addUser({ id: 'U0PRIYAADM', email: 'Priya@Company.com', name: 'priya-admin' }).addUsergroup('platform-oncall', ['U0PRIYAADM', 'U0SEC']);
    for (const [id, email] of [['emp_priya', 'priya@company.com'], ['emp_sec', 'sec@company.com']] as const) {
      expect((await postHris(app.base, hireEvent(id, { email, department: 'Engineering' }))).status).toBe(202);
    }
    await until('people', async () => (await db().selectFrom('people').select('id').execute()).length === 2);

    expect(await slash('U0PRIYA', `request ${REPO_ADMIN}`)).toMatch(/waiting for @platform-oncall/);
    const first = (await db().selectFrom('access_requests').select('id').where('entitlement', '=', REPO_ADMIN).executeTakeFirstOrThrow()).id;
    expect(await approve('U0PRIYAADM', first)).toBe(`You cannot approve your own request (#${first}).`);
    expect(await state(first)).toBe('pending');
    expect(await decisions(first)).toEqual([]);

    // Filed from the admin account (her HR record, through another Slack id), approved from her own.
    app.slack.addUsergroup('platform-oncall', ['U0PRIYA', 'U0SEC']);
    expect(await slash('U0PRIYAADM', `request ${OTHER_REPO}`)).toMatch(/waiting for @platform-oncall/);
    const second = (await db().selectFrom('access_requests').select('id').where('entitlement', '=', OTHER_REPO).executeTakeFirstOrThrow()).id;
    expect(await approve('U0PRIYA', second)).toBe(`You cannot approve your own request (#${second}).`);
    expect(await state(second)).toBe('pending');
    expect(await decisions(second)).toEqual([]);
  });
});
