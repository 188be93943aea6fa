import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attackSurface, hireEvent, postHris, postSlack, until } from './harness.js';

/**
 * Issue 27 (Medium): one person approved every step. Lee is Priya's manager and also on
 * security-oncall, so he approved step 1 (manager) and then step 2 (@security-oncall) alone: a
 * two-person rule kept by one person. Now each step needs someone who approved no earlier step of
 * the request (APPROVAL_DISTINCT_APPROVERS, on by default), and a step nobody else could approve
 * is refused when the request is filed. Over real signed HTTP.
 */
const TWO_STEPS = 'aws:account-assignment:222222222222#AdministratorAccess';
const NOBODY_ELSE = 'github:repo:acme/vault#admin';

function policiesFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-distinct-approvers-'));
  writeFileSync(
    join(dir, 'production.yaml'),
    `name: production
description: Engineers may ask for production admin.
owner: "@platform-leads"
when:
  department: Engineering
grants:
  - okta:group:engineering
requestable:
  - entitlement: ${TWO_STEPS}
    max_duration: 8h
    approvers:
      - manager
      - any: ["@security-oncall"]
  - entitlement: ${NOBODY_ELSE}
    approvers:
      - manager
      - any: ["@vault-owners"]
`,
  );
  return dir;
}

function slackActions(app: ReturnType<typeof attackSurface>) {
  let seq = 0;
  const slash = async (userId: string, text: string) => {
    const responseId = `${userId}-distinct-${++seq}`;
    const body = new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0', channel_name: 'general', user_id: userId, user_name: 'u', command: '/access', text, api_app_id: 'A0GATEHOUSE', response_url: `https://hooks.slack.com/actions/${responseId}`, trigger_id: '1.2.3' }).toString();
    expect((await postSlack(app.base, body, 'application/x-www-form-urlencoded')).status).toBe(200);
    return String((await until(`the answer to /access ${text}`, () => app.slack.responses.find((r) => r.id === responseId)?.body)).text);
  };
  /** An Approve click; resolves to its ephemeral answer, or '' when there is none (success updates the DM instead). */
  const approve = async (userId: string, requestId: number) => {
    const responseId = `${userId}-approve-${++seq}`;
    const payload = { type: 'block_actions', api_app_id: 'A0GATEHOUSE', token: 'legacy', team: { id: 'T0ACME', domain: 'acme' }, user: { id: userId, username: 'u', name: 'u', team_id: 'T0ACME' }, container: { type: 'message', message_ts: '1.1', channel_id: `D${userId}`, is_ephemeral: false }, trigger_id: '1.2.3', response_url: `https://hooks.slack.com/actions/${responseId}`, actions: [{ action_id: 'request_approve', block_id: 'b', value: String(requestId), type: 'button', action_ts: '1' }] };
    expect((await postSlack(app.base, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded')).status).toBe(200);
    return responseId;
  };
  const answer = async (responseId: string) => String((await until('the answer', () => app.slack.responses.find((r) => r.id === responseId)?.body)).text);
  const request = (id: number) => app.gatehouse.database.db.selectFrom('access_requests').select(['state', 'current_step']).where('id', '=', id).executeTakeFirstOrThrow();
  const decisions = (id: number) => app.gatehouse.database.db.selectFrom('request_decisions').select(['step', 'approver_slack_id']).where('request_id', '=', id).orderBy('id').execute();
  const hire = async () => {
    for (const [id, email, manager] of [['emp_lee', 'lee@company.com', null], ['emp_priya', 'priya@company.com', 'lee@company.com']] as const) {
      expect((await postHris(app.base, hireEvent(id, { email, department: 'Engineering', manager_email: manager }))).status).toBe(202);
    }
    await until('people', async () => (await app.gatehouse.database.db.selectFrom('people').select('id').execute()).length === 2);
  };
  return { slash, approve, answer, request, decisions, hire };
}

describe('security: one person approves every step', () => {
  const app = attackSurface({ POLICIES_DIR: policiesFolder() });
  const { slash, approve, answer, request, decisions, hire } = slackActions(app);

  it('refuses the manager who approved step 1 when he clicks again as security-oncall; someone else approves step 2', async () => {
    // Lee, Priya's manager, is on call for security too.
    app.slack.addUsergroup('security-oncall', ['U0LEE', 'U0SEC']).addUsergroup('vault-owners', ['U0LEE']);
    await hire();
    expect(await slash('U0PRIYA', `request ${TWO_STEPS} for 1h`)).toMatch(/waiting for manager/);
    const { id } = await app.gatehouse.database.db.selectFrom('access_requests').select('id').executeTakeFirstOrThrow();

    await approve('U0LEE', id);
    await until('step 1 approved', async () => (await request(id)).current_step === 1);
    const refused = await answer(await approve('U0LEE', id));
    expect(refused).toBe(`You approved step 1 of request #${id}; step 2 needs someone else (each step is approved by a different person). Nothing changed.`);
    expect(await request(id)).toEqual({ state: 'pending', current_step: 1 });
    expect(await decisions(id)).toEqual([{ step: 0, approver_slack_id: 'U0LEE' }]);
    // Step 2 asks only the others: Lee gets no second DM with buttons.
    const asks = (user: string) => app.slack.messagesIn(user).filter((m) => m.text.includes(`(request #${id})`));
    await until('Sec asked', () => asks('U0SEC').length === 1);
    expect(asks('U0LEE')).toHaveLength(1);

    await approve('U0SEC', id);
    await until('approved', async () => (await request(id)).state !== 'pending');
    expect(await decisions(id)).toEqual([{ step: 0, approver_slack_id: 'U0LEE' }, { step: 1, approver_slack_id: 'U0SEC' }]);
  });

  it('refuses at filing a step that only the approver of an earlier step could approve, saying which step and who', async () => {
    const before = (await app.gatehouse.database.db.selectFrom('access_requests').select('id').execute()).length;
    expect(await slash('U0PRIYA', `request ${NOBODY_ELSE}`)).toBe(
      'Step 2 (@vault-owners) of production could only be approved by <@U0LEE>, who approves step 1 (manager); each step needs a different person. Nothing was filed; ask IT to name another approver.',
    );
    expect(await app.gatehouse.database.db.selectFrom('access_requests').select('id').execute()).toHaveLength(before);
  });
});

describe('security: one person approves every step, with APPROVAL_DISTINCT_APPROVERS=false', () => {
  const app = attackSurface({ POLICIES_DIR: policiesFolder(), APPROVAL_DISTINCT_APPROVERS: 'false' });
  const { slash, approve, request, hire } = slackActions(app);

  it('lets one person approve both steps when the company turned the rule off', async () => {
    app.slack.addUsergroup('security-oncall', ['U0LEE']).addUsergroup('vault-owners', ['U0LEE']);
    await hire();
    expect(await slash('U0PRIYA', `request ${NOBODY_ELSE}`)).toMatch(/waiting for manager/);
    const { id } = await app.gatehouse.database.db.selectFrom('access_requests').select('id').executeTakeFirstOrThrow();
    await approve('U0LEE', id);
    await until('step 1 approved', async () => (await request(id)).current_step === 1);
    await approve('U0LEE', id);
    await until('approved', async () => (await request(id)).state !== 'pending');
    expect((await request(id)).state).not.toBe('denied');
  });
});
