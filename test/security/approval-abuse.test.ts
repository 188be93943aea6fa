import { describe, expect, it } from 'vitest';
import { attackSurface, hireEvent, postHris, postSlack, until } from './harness.js';

const ADMIN = 'aws:account-assignment:222222222222#AdministratorAccess';

/**
 * Threat: approving what you should not. Self-approval, someone not on the step, a decided request,
 * and a crafted block_actions payload naming another request than the DM it came from.
 */
describe('security: approvals by the wrong person', () => {
  const app = attackSurface();
  const click = async (userId: string, value: string, answered = true) => {
    const payload = { type: 'block_actions', api_app_id: 'A0GATEHOUSE', token: 'legacy', team: { id: 'T0ACME', domain: 'acme' }, user: { id: userId, username: 'u', name: 'u', team_id: 'T0ACME' }, container: { type: 'message', message_ts: '1.1', channel_id: `D${userId}`, is_ephemeral: false }, trigger_id: '1.2.3', response_url: `https://hooks.slack.com/actions/${userId}-${value}-${Date.now()}`, actions: [{ action_id: 'request_approve', block_id: 'b', value, type: 'button', action_ts: '1' }] };
    expect((await postSlack(app.base, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded')).status).toBe(200);
    if (!answered) return '';
    const url = payload.response_url.replace('https://hooks.slack.com/actions/', '');
    return String((await until('the answer', () => app.slack.responses.find((r) => r.id === url)?.body)).text);
  };
  const slash = async (userId: string, text: string) => {
    const responseId = `${userId}-${Date.now()}`;
    const body = new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0', channel_name: 'general', user_id: userId, user_name: 'u', command: '/access', text, api_app_id: 'A0GATEHOUSE', response_url: `https://hooks.slack.com/actions/${responseId}`, trigger_id: '1.2.3' }).toString();
    expect((await postSlack(app.base, body, 'application/x-www-form-urlencoded')).status).toBe(200);
    return String((await until('the answer', () => app.slack.responses.find((r) => r.id === responseId)?.body)).text);
  };
  const decisions = async (id: number) => app.gatehouse.database.db.selectFrom('request_decisions').select(['approver_slack_id', 'decision']).where('request_id', '=', id).execute();

  it('refuses each abuse, and approves only what the right person clicked', async () => {
    // Eve's manager is Kim: were it Sec, the only member of @security-oncall, her request would be
    // refused at filing (one person cannot approve both steps, issue 27).
    app.slack.addUser({ id: 'U0KIM', email: 'kim@company.com', name: 'kim' });
    for (const [id, email, manager] of [['emp_lee', 'lee@company.com', null], ['emp_priya', 'priya@company.com', 'lee@company.com'], ['emp_eve', 'eve@company.com', 'kim@company.com']] as const) {
      expect((await postHris(app.base, hireEvent(id, { email, department: 'Engineering', team: 'Platform', job_title: 'Platform Engineer', manager_email: manager }))).status).toBe(202);
    }
    await until('people', async () => (await app.gatehouse.database.db.selectFrom('people').select('id').execute()).length === 3);
    expect(await slash('U0PRIYA', `request ${ADMIN} for 1h because INC-1`)).toMatch(/waiting for manager/);
    expect(await slash('U0EVE', `request ${ADMIN} for 1h because INC-2`)).toMatch(/waiting for manager/);
    const [priyas, eves] = await app.gatehouse.database.db.selectFrom('access_requests').select(['id', 'requester_slack_id']).orderBy('id').execute();

    expect(await click('U0PRIYA', String(priyas!.id))).toBe(`You cannot approve your own request (#${priyas!.id}).`);
    expect(await click('U0EVE', String(priyas!.id))).toMatch(/You are not an approver of step 1/);
    // Lee approves Priya's request from a DM, but the payload names Eve's request (whose manager is Kim).
    expect(await click('U0LEE', String(eves!.id))).toMatch(new RegExp(`You are not an approver of step 1 of request #${eves!.id}`));
    expect(await decisions(eves!.id)).toEqual([]);
    expect(await click('U0LEE', 'not-a-number')).toBe('There is no request #0.');

    // The right approver: the DM is updated in place (no ephemeral answer).
    await click('U0LEE', String(priyas!.id), false);
    await until('the decision', async () => (await decisions(priyas!.id)).length === 1);
    expect(await decisions(priyas!.id)).toEqual([{ approver_slack_id: 'U0LEE', decision: 'approved' }]);
    // Already decided at this step: a second click changes nothing.
    expect(await click('U0LEE', String(priyas!.id))).toMatch(/not an approver of step 2|already decided/);
    expect(await decisions(priyas!.id)).toHaveLength(1);
    const audit = await app.gatehouse.database.db.selectFrom('audit_log').select(['actor']).where('action', '=', 'request.step_approved').execute();
    expect(audit).toEqual([{ actor: 'slack:U0LEE' }]);
  });
});
