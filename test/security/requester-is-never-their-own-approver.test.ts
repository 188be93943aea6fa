import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attackSurface, hireEvent, postHris, postSlack, until } from './harness.js';

/**
 * Issue 17 (a mutation survived): filing removes the requester from every approval step they
 * belong to, so they are never asked to approve their own request, and a step only they could
 * approve is refused when filed rather than left waiting forever. Removing that filter left every
 * test green, because decide() refuses self-approval anyway.
 */
const GROUP_STEP = 'github:repo:acme/infra#admin';
const SOLO_STEP = 'github:repo:acme/billing#admin';

function policiesFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-own-approver-'));
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
  - entitlement: ${GROUP_STEP}
    approvers:
      - manager
      - all: ["@platform-oncall"]
  - entitlement: ${SOLO_STEP}
    approvers:
      - any: ["@billing-owners"]
`,
  );
  return dir;
}

describe('security: a requester is never one of their own approvers', () => {
  const app = attackSurface({ POLICIES_DIR: policiesFolder() });
  let seq = 0;
  const slash = async (userId: string, text: string) => {
    const responseId = `${userId}-own-${++seq}`;
    const body = new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0', channel_name: 'general', user_id: userId, user_name: 'u', command: '/access', text, api_app_id: 'A0GATEHOUSE', response_url: `https://hooks.slack.com/actions/${responseId}`, trigger_id: '1.2.3' }).toString();
    expect((await postSlack(app.base, body, 'application/x-www-form-urlencoded')).status).toBe(200);
    return String((await until(`the answer to /access ${text}`, () => app.slack.responses.find((r) => r.id === responseId)?.body)).text);
  };

  it('files the request without the requester in any step, and refuses a step only they could approve', async () => {
    // Priya is on call herself, with Sec; she alone owns billing.
    app.slack.addUsergroup('platform-oncall', ['U0PRIYA', 'U0SEC']).addUsergroup('billing-owners', ['U0PRIYA']);
    for (const [id, email, manager] of [['emp_lee', 'lee@company.com', null], ['emp_priya', 'priya@company.com', 'lee@company.com']] as const) {
      expect((await postHris(app.base, hireEvent(id, { email, department: 'Engineering', manager_email: manager }))).status).toBe(202);
    }
    await until('people', async () => (await app.gatehouse.database.db.selectFrom('people').select('id').execute()).length === 2);

    expect(await slash('U0PRIYA', `request ${GROUP_STEP}`)).toMatch(/waiting for manager/);
    const filed = await app.gatehouse.database.db.selectFrom('access_requests').select(['id', 'steps']).executeTakeFirstOrThrow();
    expect(filed.steps).toEqual([
      { mode: 'any', approvers: [{ label: 'manager', users: ['U0LEE'] }] },
      { mode: 'all', approvers: [{ label: '@platform-oncall', users: ['U0SEC'] }] },
    ]);

    expect(await slash('U0PRIYA', `request ${SOLO_STEP}`)).toBe('Only you could approve step 1 of infra; ask IT to name another approver.');
    expect(await app.gatehouse.database.db.selectFrom('access_requests').select('id').execute()).toHaveLength(1);
  });
});
