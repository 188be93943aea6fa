import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attackSurface, hireEvent, postHris, postSlack, until } from './harness.js';

/**
 * Issue 17: separation of duties held only against birthright and live requests at filing, and
 * decide() never checked again. So two requests for the two sides of a rule were both pending,
 * both approved, and both held. Now filing counts pending requests, the final approval checks
 * again against what the person holds or will hold, and reconcile never applies a grant that would
 * complete a rule (it alerts IT instead). Over real signed HTTP, with every system sandboxed.
 */
const QUOTES = 'salesforce:permission-set:Create_Quotes';
const DISCOUNTS = 'salesforce:permission-set:Approve_Discounts';
const OVERRIDE = 'salesforce:permission-set:Discount_Override';

function policiesFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-sod-policies-'));
  writeFileSync(
    join(dir, 'deal-desk.yaml'),
    `name: deal-desk
description: Sales and Finance may ask for the deal desk's permission sets.
owner: "@deal-desk"
when:
  department: { in: [Sales, Finance] }
grants:
  - okta:group:deal-desk
requestable:
  - entitlement: ${QUOTES}
    approvers: [manager]
  - entitlement: ${DISCOUNTS}
    approvers: [manager]
  - entitlement: ${OVERRIDE}
    max_duration: 8h
    approvers: [manager]
    auto_approve:
      when: { department: Sales }
      max_duration: 8h
`,
  );
  writeFileSync(
    join(dir, 'finance.yaml'),
    `name: finance-approvers
description: Finance approves discounts.
owner: "@finance-leads"
when:
  department: Finance
grants:
  - ${DISCOUNTS}
`,
  );
  writeFileSync(
    join(dir, 'sod.yaml'),
    `conflicts:
  - name: quote-to-discount
    entitlements: [${QUOTES}, ${DISCOUNTS}]
    reason: Whoever writes a quote must not approve its discount.
  - name: quote-to-override
    entitlements: [${QUOTES}, ${OVERRIDE}]
    reason: Whoever writes a quote must not override its discount.
`,
  );
  return dir;
}

describe('security: separation of duties across pending requests and at every decision', () => {
  const app = attackSurface({ POLICIES_DIR: policiesFolder() });
  const db = () => app.gatehouse.database.db;
  let seq = 0;
  const slash = async (userId: string, text: string) => {
    const responseId = `${userId}-slash-${++seq}`;
    const body = new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0', channel_name: 'general', user_id: userId, user_name: 'u', command: '/access', text, api_app_id: 'A0GATEHOUSE', response_url: `https://hooks.slack.com/actions/${responseId}`, trigger_id: '1.2.3' }).toString();
    expect((await postSlack(app.base, body, 'application/x-www-form-urlencoded')).status).toBe(200);
    return String((await until(`the answer to /access ${text}`, () => app.slack.responses.find((r) => r.id === responseId)?.body)).text);
  };
  const click = async (userId: string, actionId: string, value: string) => {
    const responseId = `${userId}-click-${++seq}`;
    const payload = { type: 'block_actions', api_app_id: 'A0GATEHOUSE', token: 'legacy', team: { id: 'T0ACME', domain: 'acme' }, user: { id: userId, username: 'u', name: 'u', team_id: 'T0ACME' }, container: { type: 'message', message_ts: '1.1', channel_id: `D${userId}`, is_ephemeral: false }, trigger_id: '1.2.3', response_url: `https://hooks.slack.com/actions/${responseId}`, actions: [{ action_id: actionId, block_id: 'b', value, type: 'button', action_ts: '1' }] };
    expect((await postSlack(app.base, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded')).status).toBe(200);
    return responseId;
  };
  const answer = async (responseId: string) => String((await until('the answer', () => app.slack.responses.find((r) => r.id === responseId)?.body)).text);
  const request = (id: number) => db().selectFrom('access_requests').select(['id', 'state', 'end_reason', 'entitlement']).where('id', '=', id).executeTakeFirstOrThrow();
  const grant = async (email: string, entitlement: string) =>
    (await db().selectFrom('grants').innerJoin('people', 'people.id', 'grants.person_id').select('grants.status').where('people.email', '=', email).where('grants.entitlement', '=', entitlement).executeTakeFirst())?.status ?? null;
  const transfer = async (id: string, email: string, manager: string, department: string, at: string) =>
    expect((await postHris(app.base, { ...hireEvent(id, { email, department, manager_email: manager }, `evt_${id}_${department}`), event_type: 'employee.updated', timestamp: at })).status).toBe(202);

  it('files one side while the other is pending only as a refusal that names the pending request, auto-approval included', async () => {
    for (const [id, email, manager] of [['emp_lee', 'lee@company.com', null], ['emp_priya', 'priya@company.com', 'lee@company.com']] as const) {
      expect((await postHris(app.base, hireEvent(id, { email, department: 'Sales', manager_email: manager }))).status).toBe(202);
    }
    await until('people', async () => (await db().selectFrom('people').select('id').execute()).length === 2);

    expect(await slash('U0PRIYA', `request ${QUOTES}`)).toMatch(/waiting for manager/);
    const [quotes] = await db().selectFrom('access_requests').select('id').execute();
    const refused = await slash('U0PRIYA', `request ${DISCOUNTS}`);
    expect(refused).toContain('separation of duties');
    expect(refused).toContain(`request #${quotes!.id} (pending)`);
    expect(refused).toContain('quote-to-discount');
    // Auto-approval follows the same rule: it would have been granted at once.
    expect(await slash('U0PRIYA', `request ${OVERRIDE} for 1h`)).toMatch(new RegExp(`separation of duties.*request #${quotes!.id} \\(pending\\)`));
    const filed = await db().selectFrom('access_requests').select('entitlement').execute();
    expect(filed.map((r) => r.entitlement)).toEqual([QUOTES]);
  });

  it('refuses the final approval when the person came to hold the other side since filing; approver and requester are told, nothing is granted', async () => {
    const [quotes] = await db().selectFrom('access_requests').select('id').where('entitlement', '=', QUOTES).execute();
    // Priya moves to Finance: Approve_Discounts is now her birthright, and it is granted.
    await transfer('emp_priya', 'priya@company.com', 'lee@company.com', 'Finance', '2026-11-21T09:00:00Z');
    await until('her birthright discounts', async () => (await grant('priya@company.com', DISCOUNTS)) === 'verified');

    const text = await answer(await click('U0LEE', 'request_approve', String(quotes!.id)));
    expect(text).toContain(`Request #${quotes!.id} cannot be approved`);
    expect(text).toContain(`${DISCOUNTS}\` (policy finance-approvers)`);
    expect(await request(quotes!.id)).toMatchObject({ state: 'denied', end_reason: expect.stringContaining('quote-to-discount') });
    const told = await until('the requester told', () => app.slack.messagesIn('U0PRIYA').find((m) => m.text.includes('did not grant')));
    expect(told.text).toContain('separation of duties');
    expect(await db().selectFrom('audit_log').select(['actor', 'result']).where('action', '=', 'request.refused').execute()).toEqual([{ actor: 'slack:U0LEE', result: 'refused: separation of duties' }]);
    // Nothing was planned for it.
    await new Promise((r) => setTimeout(r, 500));
    expect(await grant('priya@company.com', QUOTES)).toBeNull();
  });

  it('as the last line, reconcile withholds a birthright that would complete a rule with a granted request, and alerts IT once', async () => {
    expect((await postHris(app.base, hireEvent('emp_eve', { email: 'eve@company.com', department: 'Sales', manager_email: 'sec@company.com' }))).status).toBe(202);
    await until('eve', async () => (await db().selectFrom('people').select('id').where('email', '=', 'eve@company.com').execute()).length === 1);
    expect(await slash('U0EVE', `request ${QUOTES}`)).toMatch(/waiting for manager/);
    const [eves] = await db().selectFrom('access_requests').select('id').where('requester_slack_id', '=', 'U0EVE').execute();
    await click('U0SEC', 'request_approve', String(eves!.id));
    await until('her quotes granted', async () => (await grant('eve@company.com', QUOTES)) === 'verified');

    await transfer('emp_eve', 'eve@company.com', 'sec@company.com', 'Finance', '2026-11-22T09:00:00Z');
    const alert = await until('the IT alert', () => app.slack.messagesIn('it-onboarding').find((m) => m.text.includes('separation of duties') && m.text.includes('eve@company.com')));
    expect(alert.text).toContain(DISCOUNTS);
    expect(await grant('eve@company.com', DISCOUNTS)).toBeNull();
    expect(await grant('eve@company.com', QUOTES)).toBe('verified');
    const open = await db().selectFrom('alerts').select(['kind', 'resolved_at']).where('kind', '=', 'sod').execute();
    expect(open).toEqual([{ kind: 'sod', resolved_at: null }]);
    // The extension of the request that holds one side meets the same rule.
    const extension = await answer(await click('U0EVE', 'request_extend', String(eves!.id)));
    expect(extension).toMatch(/separation of duties/);
    expect(extension).toContain('policy finance-approvers');

    // Released, the request no longer stands in the way: the birthright goes through and the alert resolves.
    expect(await slash('U0EVE', `release ${QUOTES}`)).toBeTruthy();
    await until('her discounts granted', async () => (await grant('eve@company.com', DISCOUNTS)) === 'verified');
    await until('the alert resolved', async () => (await db().selectFrom('alerts').select('resolved_at').where('kind', '=', 'sod').executeTakeFirstOrThrow()).resolved_at !== null);
    expect((await db().selectFrom('alerts').select('id').where('kind', '=', 'sod').execute()).length).toBe(1);
  });
});
