import { describe, expect, it } from 'vitest';
import { attackSurface, postSlack, SECRETS } from './harness.js';

/** Threat: someone who is not Slack posts to /slack/events, or replays a request Slack signed. */
describe('security: forged, replayed and future-dated Slack requests', () => {
  const app = attackSurface();
  const slash = (userId: string, text: string) =>
    new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0GENERAL', channel_name: 'general', user_id: userId, user_name: 'x', command: '/access', text, api_app_id: 'A0GATEHOUSE', response_url: 'https://hooks.slack.com/actions/attack', trigger_id: '1.2.3' }).toString();
  const requests = async () => (await app.gatehouse.database.db.selectFrom('access_requests').select('id').execute()).length;

  it('refuses a request signed with the wrong secret, and does nothing', async () => {
    const res = await postSlack(app.base, slash('U0PRIYA', 'request aws:account-assignment:222222222222#AdministratorAccess for 1h because x'), 'application/x-www-form-urlencoded', { secret: 'guessed-secret' });
    expect(res.status).toBe(401);
    expect(await requests()).toBe(0);
    expect(app.slack.calls).toEqual([]);
  });

  it('refuses a request without a signature', async () => {
    const res = await fetch(`${app.base}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: slash('U0PRIYA', 'mine') });
    expect(res.status).toBe(401);
  });

  it('refuses a correctly signed request replayed 6 minutes later, and one dated 6 minutes ahead', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const at of [now - 360, now + 360]) {
      const res = await postSlack(app.base, slash('U0PRIYA', 'help'), 'application/x-www-form-urlencoded', { at });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('/access request');
    }
  });

  it('a signature over one body does not cover another (tampered payload)', async () => {
    const signed = slash('U0PRIYA', 'help');
    const at = Math.floor(Date.now() / 1000);
    const { slackSignature } = await import('../helpers/slack-signing.js');
    const res = await fetch(`${app.base}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(at), 'x-slack-signature': slackSignature(SECRETS.SLACK_SIGNING_SECRET, at, signed) }, body: slash('U0EVE', 'help') });
    expect(res.status).toBe(401);
  });

  it('a genuine request still works (the checks are not refusing everything)', async () => {
    const res = await postSlack(app.base, slash('U0PRIYA', 'help'), 'application/x-www-form-urlencoded');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/access request');
  });
});
