import { ErrorCode, WebClient, type ConversationsListResponse, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from './fake-slack.js';

/** The real WebClient against the fake, as the bot uses it with SLACK_API_URL. */
let fake: FakeSlack;
let client: WebClient;

beforeEach(async () => {
  fake = await startFakeSlack();
  fake
    .addUser({ id: 'U0ALICE', email: 'alice@example.com', name: 'alice', realName: 'Alice Archer' })
    .addUser({ id: 'U0BOB', email: 'bob@example.com', name: 'bob' });
  client = new WebClient('xoxb-test', { slackApiUrl: fake.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
});

afterEach(async () => {
  await fake.stop();
});

async function platformError(call: Promise<unknown>): Promise<WebAPIPlatformError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the call should have failed').toBeDefined();
  expect((error as WebAPIPlatformError).code).toBe(ErrorCode.PlatformError);
  return error as WebAPIPlatformError;
}

describe('fake Slack Web API', () => {
  it('posts a DM to a user id into D<userId>, and chat.update edits it', async () => {
    const posted = await client.chat.postMessage({ channel: 'U0ALICE', text: 'Approve access?', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Approve?' } }] });
    expect(posted.ok).toBe(true);
    expect(posted.channel).toBe('DU0ALICE');
    expect(posted.ts).toMatch(/^\d+\.\d{6}$/);

    const opened = await client.conversations.open({ users: 'U0ALICE' });
    expect(opened.channel?.id).toBe('DU0ALICE');

    await client.chat.update({ channel: posted.channel!, ts: posted.ts!, text: 'Approved by Bob', blocks: [] });
    const [message, ...others] = fake.messagesIn('U0ALICE');
    expect(others).toEqual([]);
    expect(message).toMatchObject({ channel: 'DU0ALICE', ts: posted.ts, text: 'Approved by Bob', blocks: [] });
    expect(message!.edits).toEqual([{ text: 'Approve access?', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Approve?' } }] }]);
    expect(fake.callsTo('chat.update')[0]!.body).toMatchObject({ channel: 'DU0ALICE', ts: posted.ts, text: 'Approved by Bob' });

    const error = await platformError(client.chat.update({ channel: 'DU0ALICE', ts: '1.000001', text: 'x' }));
    expect(error.data.error).toBe('message_not_found');
  });

  it('accepts JSON bodies as Slack does', async () => {
    const response = await fetch(`${fake.url}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: 'Bearer xoxb-json', 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: 'U0BOB', text: 'hi', blocks: [{ type: 'divider' }] }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, channel: 'DU0BOB' });
    expect(fake.messagesIn('U0BOB')[0]).toMatchObject({ text: 'hi', blocks: [{ type: 'divider' }] });
  });

  it('finds a user by email, case-insensitively, and answers users_not_found otherwise', async () => {
    const found = await client.users.lookupByEmail({ email: 'Alice@Example.com' });
    expect(found.user).toMatchObject({ id: 'U0ALICE', name: 'alice', real_name: 'Alice Archer', deleted: false, profile: { email: 'alice@example.com' } });

    const error = await platformError(client.users.lookupByEmail({ email: 'nobody@example.com' }));
    expect(error.data.error).toBe('users_not_found');
    expect(error.data.ok).toBe(false);
  });

  it('pages conversations.list through WebClient.paginate', async () => {
    for (let i = 1; i <= 5; i++) fake.addChannel({ id: `C0${i}`, name: `team-${i}` });
    fake.addChannel({ id: 'G01', name: 'secret', isPrivate: true });

    const pages: string[][] = [];
    for await (const page of client.paginate('conversations.list', { limit: 2 })) {
      pages.push((page as ConversationsListResponse).channels!.map((c) => c.id!));
    }
    expect(pages).toEqual([['C01', 'C02'], ['C03', 'C04'], ['C05']]);
    expect(fake.callsTo('conversations.list').map((c) => c.body.cursor)).toEqual([undefined, expect.any(String), expect.any(String)]);

    const withPrivate = await client.conversations.list({ types: 'public_channel,private_channel', limit: 100 });
    expect(withPrivate.channels?.map((c) => c.id)).toContain('G01');
    expect(withPrivate.response_metadata?.next_cursor).toBe('');
  });

  it('surfaces an injected 429 as a rate-limited error with retryAfter, then answers normally', async () => {
    fake.failNext('users.info', { status: 429, retryAfterSeconds: 7 });
    const error = await client.users.info({ user: 'U0ALICE' }).then(
      () => undefined,
      (e: unknown) => e as WebAPIRateLimitedError,
    );
    expect(error?.code).toBe(ErrorCode.RateLimitedError);
    expect(error?.retryAfter).toBe(7);

    const after = await client.users.info({ user: 'U0ALICE' });
    expect(after.user?.id).toBe('U0ALICE');
    expect(fake.callsTo('users.info')).toHaveLength(2);
  });

  it('injects a method error as HTTP 200 { ok: false, error }', async () => {
    fake.failNext('chat.postMessage', { error: 'channel_not_found' });
    const error = await platformError(client.chat.postMessage({ channel: 'U0ALICE', text: 'hello' }));
    expect(error.data.error).toBe('channel_not_found');
    expect(fake.messagesIn('U0ALICE')).toEqual([]);
  });

  it('records views.open (needs trigger_id), views.update and views.publish', async () => {
    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Request access' }, blocks: [] };
    const opened = await client.views.open({ trigger_id: '123.456.abc', view });
    expect(opened.view?.id).toMatch(/^V/);
    expect(opened.view).toMatchObject({ type: 'modal', title: { text: 'Request access' } });

    const updated = await client.views.update({ view_id: opened.view!.id!, hash: opened.view!.hash!, view: { ...view, title: { type: 'plain_text', text: 'Sent' } } });
    expect(updated.view?.id).toBe(opened.view?.id);
    expect(fake.views[0]!.view).toMatchObject({ title: { text: 'Sent' } });

    const noTrigger = await platformError(client.apiCall('views.open', { view }));
    expect(noTrigger.data.error).toBe('invalid_arguments');

    await client.views.publish({ user_id: 'U0BOB', view: { type: 'home', blocks: [{ type: 'divider' }] } });
    expect(fake.homeView('U0BOB')).toMatchObject({ type: 'home', blocks: [{ type: 'divider' }] });
    expect(fake.callsTo('views.publish')[0]!.body).toMatchObject({ user_id: 'U0BOB', view: { type: 'home' } });
    expect(fake.views.map((v) => v.method)).toEqual(['views.open', 'views.publish']);
  });

  it('invites and kicks with Slack’s errors', async () => {
    fake.addChannel({ id: 'C0ENG', name: 'eng', members: ['U0ALICE'] }).addChannel({ id: 'C0OUT', name: 'out', botIsMember: false });
    await client.conversations.invite({ channel: 'C0ENG', users: 'U0BOB' });
    expect(fake.channelMembers('C0ENG')).toEqual(expect.arrayContaining(['U0ALICE', 'U0BOB']));
    expect((await platformError(client.conversations.invite({ channel: 'C0ENG', users: 'U0BOB' }))).data.error).toBe('already_in_channel');
    expect((await platformError(client.conversations.invite({ channel: 'C0OUT', users: 'U0BOB' }))).data.error).toBe('not_in_channel');

    await client.conversations.kick({ channel: 'C0ENG', user: 'U0BOB' });
    expect(fake.channelMembers('C0ENG')).not.toContain('U0BOB');
    expect((await platformError(client.conversations.kick({ channel: 'C0ENG', user: 'U0BOB' }))).data.error).toBe('not_in_channel');
  });

  it('replaces user group members with usergroups.users.update', async () => {
    fake.addUsergroup({ id: 'S0ONCALL', handle: 'oncall', users: ['U0ALICE'] });
    const updated = await client.usergroups.users.update({ usergroup: 'S0ONCALL', users: 'U0ALICE,U0BOB' });
    expect(updated.usergroup?.users).toEqual(['U0ALICE', 'U0BOB']);
    expect((await client.usergroups.users.list({ usergroup: 'S0ONCALL' })).users).toEqual(['U0ALICE', 'U0BOB']);
    expect((await platformError(client.usergroups.users.list({ usergroup: 'S0NONE' }))).data.error).toBe('no_such_subteam');
  });

  it('rejects a missing or bad token, and unknown methods', async () => {
    const badToken = new WebClient('xoxp-not-a-bot', { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
    expect((await platformError(badToken.auth.test())).data.error).toBe('invalid_auth');

    const noToken = new WebClient(undefined, { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
    expect((await platformError(noToken.auth.test())).data.error).toBe('not_authed');

    expect((await client.auth.test()).user_id).toBe(fake.botUserId);
    expect((await platformError(client.apiCall('nope.nothing'))).data.error).toBe('unknown_method');
  });

  it('accepts only the configured token when one is set', async () => {
    const strict = await startFakeSlack({ token: 'xoxb-right' });
    try {
      const wrong = new WebClient('xoxb-wrong', { slackApiUrl: strict.url, retryConfig: { retries: 0 } });
      expect((await platformError(wrong.auth.test())).data.error).toBe('invalid_auth');
      const right = new WebClient('xoxb-right', { slackApiUrl: strict.url, retryConfig: { retries: 0 } });
      expect((await right.auth.test()).ok).toBe(true);
    } finally {
      await strict.stop();
    }
  });
});
