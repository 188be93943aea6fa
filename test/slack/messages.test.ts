import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/orchestrator/run-state.js';
import { alertMessage, manualTaskMessage, runSummaryMessage } from '../../src/slack/messages/orchestrator.js';
import { appHomeView, approvalDecidedMessage, approvalRequestMessage, denyReasonModal, durationText, mineText, pendingText, requesterFiledText, requesterNotice, requestModal, riskFlags } from '../../src/slack/messages/requests.js';

/** Block Kit is built by pure functions: these snapshots are what people see (review a change to one like a UI change). */
describe('Slack messages', () => {
  const request = { id: 42, requester: 'U0PRIYA', requesterEmail: 'priya@company.com', entitlement: 'aws:account-assignment:222222222222#AdministratorAccess', policy: 'platform-engineer', durationMs: 4 * 3_600_000, justification: 'INC-1234: <prod> is down & paging', description: 'Production admin', step: 0, steps: 2 };

  it('the approval DM says who, what, how long, why, which policy, and flags production admin', () => {
    const message = approvalRequestMessage(request);
    expect(message.text).toBe('<@U0PRIYA> asks for aws:account-assignment:222222222222#AdministratorAccess for 4 hours (request #42)');
    expect(JSON.stringify(message.blocks)).toContain('INC-1234: &lt;prod&gt; is down &amp; paging');
    expect(message).toMatchSnapshot();
  });

  it('once decided, the DM shows who and when, and has no buttons', () => {
    const message = approvalDecidedMessage(request, { state: 'approved', by: 'U0LEE', at: new Date('2026-11-23T10:15:00Z'), reason: null });
    expect(message.text).toBe('Approved by <@U0LEE>: aws:account-assignment:222222222222#AdministratorAccess for <@U0PRIYA> (request #42)');
    expect(JSON.stringify(message.blocks)).not.toContain('"actions"');
    expect(approvalDecidedMessage(request, { state: 'denied', by: 'U0LEE', at: new Date('2026-11-23T10:15:00Z'), reason: 'use the break-glass role' })).toMatchSnapshot();
  });

  it('risk flags', () => {
    expect(riskFlags('aws:account-assignment:222222222222#AdministratorAccess', 'Production admin')).toEqual(['production', 'administrator level']);
    expect(riskFlags('github:repo:acme/prod-deploy#write')).toEqual(['production']);
    expect(riskFlags('okta:group:finance')).toEqual([]);
    expect(durationText(null)).toBe('until revoked');
    expect(durationText(90 * 60_000)).toBe('90 minutes');
    expect(durationText(86_400_000)).toBe('1 day');
  });

  it("the requester's notices", () => {
    expect(requesterFiledText({ id: 42, entitlement: 'x', durationMs: 3_600_000, autoApproved: false, approvers: ['manager', 'U0SEC'] })).toBe('Request #42 for `x` (1 hour) is waiting for manager or <@U0SEC>. You will hear back here.');
    expect(requesterFiledText({ id: 43, entitlement: 'x', durationMs: 3_600_000, autoApproved: true, approvers: [] })).toMatch(/approved automatically by policy/);
    expect(requesterNotice('active', { id: 42, entitlement: 'x', expiresAt: new Date('2026-11-23T14:15:00Z') }).text).toBe('Your access to x works now until 2026-11-23 14:15 UTC (request #42).');
    expect(requesterNotice('denied', { id: 42, entitlement: 'x', by: 'U0LEE', reason: 'no' }).text).toBe('Request #42 for x was denied by <@U0LEE>: no.');
    expect(requesterNotice('expiring', { id: 42, entitlement: 'x', expiresAt: new Date('2026-11-23T14:15:00Z') })).toMatchSnapshot();
  });

  it('/access mine and /access pending', () => {
    expect(mineText([{ entitlement: 'okta:account', source: 'policy:base-employee', status: 'verified', expiresAt: null }, { entitlement: 'aws:x#Admin', source: 'request:42', status: 'verified', expiresAt: new Date('2026-11-23T14:15:00Z') }], [{ id: 43, entitlement: 'github:repo:acme/api#admin', state: 'pending' }])).toMatchSnapshot();
    expect(pendingText([])).toBe('Nothing is waiting for your approval.');
    expect(pendingText([{ id: 42, requester: 'U0PRIYA', entitlement: 'x', durationMs: null, createdAt: new Date('2026-11-23T10:00:00Z') }])).toMatchSnapshot();
  });

  it('modals and App Home', () => {
    expect(requestModal({ maxDuration: null })).toMatchSnapshot();
    expect(denyReasonModal(42, { channel: 'D0LEE', ts: '1.2' })).toMatchSnapshot();
    expect(appHomeView({ grants: [], requests: [], approvals: [] })).toMatchSnapshot();
  });

  it('run summary, alert and manual task', () => {
    const summary: RunSummary = { reason: 'joiner', bySystem: { okta: { verified: 3 }, github: { verified: 2, failed: 1 } }, totals: { verified: 5, failed: 1 }, failures: [{ entitlement: 'github:team:acme/platform#member', kind: 'permanent', error: 'GitHub add to team failed: 404 Not Found' }], manualPending: [{ taskId: 7, entitlement: 'manual:laptop:macbook-pro-14', kind: 'grant' }], durationMs: 83_000 };
    const run = runSummaryMessage({ runId: 'r1', email: 'priya@company.com', name: 'Priya Patel', summary });
    expect(run.text).toBe('Onboarding of Priya Patel finished with 1 failure in 1 min 23 s');
    expect(run).toMatchSnapshot();
    expect(alertMessage({ id: 3, kind: 'auth', subject: 'okta', message: 'Okta refused the token (401)', opened_at: new Date('2026-11-23T10:00:00Z') })).toMatchSnapshot();
    expect(manualTaskMessage({ taskId: 7, kind: 'grant', entitlement: 'manual:laptop:macbook-pro-14', reason: 'policy:base-employee', email: 'priya@company.com', name: 'Priya Patel', title: 'Platform Engineer', manager: 'lee@company.com' })).toMatchSnapshot();
  });
});
