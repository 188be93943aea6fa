import { describe, expect, it } from 'vitest';
import { attackSurface, hireEvent, postHris, postSlack, SECRETS, until } from './harness.js';

/**
 * Threat: credentials leaking through logs (shipped to a log service, read by many). A whole flow
 * runs at debug level with known secret values (a webhook, a SCIM push, Slack commands and Web API
 * calls, a refused signature), and no log line contains any of them.
 */
describe('security: secrets never in logs', () => {
  const app = attackSurface({ LOG_LEVEL: 'debug' });

  it('no log line holds a secret, in any form', async () => {
    expect((await postHris(app.base, hireEvent('emp_logs', { email: 'priya@company.com', department: 'Engineering', team: 'Platform', job_title: 'Platform Engineer' }))).status).toBe(202);
    expect((await postHris(app.base, hireEvent('emp_bad'), { secret: 'wrong' })).status).toBe(401);
    const scim = await fetch(`${app.base}/scim/v2/Users?filter=${encodeURIComponent('userName eq "priya@company.com"')}`, { headers: { authorization: `Bearer ${SECRETS.SCIM_TOKEN}` } });
    expect(scim.status).toBe(200);
    expect((await fetch(`${app.base}/scim/v2/Users`, { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);
    const body = new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0', channel_name: 'general', user_id: 'U0PRIYA', user_name: 'priya', command: '/access', text: 'mine', api_app_id: 'A0GATEHOUSE', response_url: 'https://hooks.slack.com/actions/logs', trigger_id: '1.2.3' }).toString();
    expect((await postSlack(app.base, body, 'application/x-www-form-urlencoded')).status).toBe(200);
    await until('the answer', () => app.slack.responses.find((r) => r.id === 'logs'));
    await until('Slack Web API calls were made', () => app.slack.calls.length > 0);
    await until('the onboarding summary', () => app.slack.messagesIn('it-onboarding').length > 0);

    expect(app.logs.length).toBeGreaterThan(20);
    const leaks: string[] = [];
    for (const [name, value] of Object.entries(SECRETS)) {
      for (const form of [value, Buffer.from(value).toString('base64'), encodeURIComponent(value)]) {
        for (const line of app.logs) if (line.includes(form)) leaks.push(`${name} in: ${line.slice(0, 200)}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
