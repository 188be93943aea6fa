import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';
import { slackHeaders, slackSignature } from '../helpers/slack-signing.js';

const SIGNING_SECRET = 'test-signing-secret-7f3a';

describe('gatehouse serve (in process)', () => {
  let gatehouse: Gatehouse;
  let base: string;

  beforeAll(async () => {
    const database = await createTestDatabase();
    const config = loadConfig({
      DATABASE_URL: database.url,
      PORT: '0',
      HOST: '127.0.0.1',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
    });
    gatehouse = await startGatehouse(config, createLogger('silent'));
    base = `http://127.0.0.1:${gatehouse.port}`;
  });
  afterAll(() => gatehouse?.stop());

  it('answers /healthz', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('answers /readyz when the database and the queue are reachable', async () => {
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, database: 'ok', queue: 'ok' });
  });

  it('applied the migrations at start and created the queues', async () => {
    const { rows } = await gatehouse.database.pool.query("select to_regclass('public.people') as t");
    expect(rows[0].t).toBe('people');
    const queue = await gatehouse.boss.getQueue('reconcile-person');
    expect(queue?.name).toBe('reconcile-person');
    // NOTIFY on insert, so workers start a job at once instead of at their next poll.
    expect(queue?.notify).toBe(true);
    expect(queue?.deadLetter).toBe('dead-letter');
  });

  it('reports every system without credentials as sandboxed', () => {
    expect(gatehouse.systems.sandboxed).toEqual(
      expect.arrayContaining([
        'okta',
        'google',
        'aws',
        'github',
        'gitlab',
        'slack',
        'salesforce',
        'jira',
        'scim',
      ]),
    );
    expect(gatehouse.systems.live).toEqual(['manual']);
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const res = await fetch(`${base}/healthz`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it("hands /slack/events to Bolt's receiver, which answers a signed url_verification", async () => {
    // Shape from Slack's Events API docs: https://api.slack.com/events/url_verification
    const body = JSON.stringify({
      token: 'legacy',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });
    const res = await fetch(`${base}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...slackHeaders(SIGNING_SECRET, body) },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P');
  });

  it("signs exactly as Slack's published example (api.slack.com/authentication/verifying-requests-from-slack)", () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(slackSignature('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, body)).toBe('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
  });

  it('rejects a correctly signed request whose timestamp is more than 5 minutes off, in either direction (replays)', async () => {
    const body = JSON.stringify({ token: 'legacy', challenge: 'replayed', type: 'url_verification' });
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now - 301, now + 301, now + 3600]) {
      const res = await fetch(`${base}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...slackHeaders(SIGNING_SECRET, body, timestamp) }, body });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('replayed');
    }
    const res = await fetch(`${base}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...slackHeaders(SIGNING_SECRET, body, now + 60) }, body });
    expect(res.status).toBe(200);
  });

  it('rejects a Slack request with a bad signature', async () => {
    const body = JSON.stringify({ type: 'url_verification', challenge: 'x' });
    const res = await fetch(`${base}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...slackHeaders('not-the-secret', body) },
      body,
    });
    expect(res.status).toBe(401);
  });
});

describe('gatehouse serve without Slack credentials', () => {
  it('still starts, and /slack/events explains what to configure', async () => {
    const database = await createTestDatabase();
    const gatehouse = await startGatehouse(
      loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1' }),
      createLogger('silent'),
    );
    try {
      expect(gatehouse.slack.mode).toBe('off');
      const res = await fetch(`http://127.0.0.1:${gatehouse.port}/slack/events`, {
        method: 'POST',
        body: '{}',
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toMatch(/SLACK_SIGNING_SECRET/);
      expect((await fetch(`http://127.0.0.1:${gatehouse.port}/readyz`)).status).toBe(200);
    } finally {
      await gatehouse.stop();
    }
  });

  it('reports not ready while the database is unreachable', async () => {
    const database = await createTestDatabase();
    const gatehouse = await startGatehouse(
      loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1' }),
      createLogger('silent'),
    );
    try {
      // Simulate the database going away: end the pool the readiness probe uses.
      await gatehouse.database.pool.end();
      const res = await fetch(`http://127.0.0.1:${gatehouse.port}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ ready: false, database: 'unreachable' });
      expect((await fetch(`http://127.0.0.1:${gatehouse.port}/healthz`)).status).toBe(200);
    } finally {
      await gatehouse.stop().catch(() => {});
    }
  });
});
