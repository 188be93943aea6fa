import { expect } from 'vitest';
import type { SlackApiFake } from '../helpers/slack-api-fake.js';
import { postSlack, until } from './harness.js';

/**
 * A signed block_actions payload for a button in a channel message, as Slack sends it when
 * `userId` clicks (api.slack.com/reference/interaction-payloads/block-actions). Resolves to the
 * ephemeral answer sent to its response_url, or to '' when `answered` is false.
 */
export async function clickButton(app: { base: string; slack: SlackApiFake }, input: { userId: string; actionId: string; value: string; channel: string; ts: string; answered?: boolean }): Promise<string> {
  const responseId = `${input.actionId}-${input.userId}-${Math.random().toString(36).slice(2)}`;
  const payload = {
    type: 'block_actions',
    api_app_id: 'A0GATEHOUSE',
    token: 'legacy',
    team: { id: 'T0ACME', domain: 'acme' },
    user: { id: input.userId, username: 'u', name: 'u', team_id: 'T0ACME' },
    container: { type: 'message', message_ts: input.ts, channel_id: input.channel, is_ephemeral: false },
    channel: { id: input.channel, name: input.channel },
    trigger_id: `t-${responseId}`,
    response_url: app.slack.responseUrl(responseId),
    actions: [{ action_id: input.actionId, block_id: `b-${input.value}`, value: input.value, type: 'button', action_ts: `${Date.now() / 1000}` }],
  };
  const res = await postSlack(app.base, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded');
  expect(res.status).toBe(200);
  if (input.answered === false) return '';
  return String((await until(`the answer to ${input.userId}'s click`, () => app.slack.responses.find((r) => r.id === responseId)?.body)).text);
}

/** A signed view_submission of the drift Keep modal; resolves to Slack's ack body (null when empty). */
export async function submitKeep(app: { base: string }, input: { userId: string; privateMetadata: string; reason: string; expiry?: string }): Promise<unknown> {
  const payload = {
    type: 'view_submission',
    api_app_id: 'A0GATEHOUSE',
    token: 'legacy',
    team: { id: 'T0ACME', domain: 'acme' },
    user: { id: input.userId, username: 'u', name: 'u', team_id: 'T0ACME' },
    trigger_id: `t-submit-${Math.random().toString(36).slice(2)}`,
    view: { id: 'V0KEEP', type: 'modal', callback_id: 'drift_keep_exception', private_metadata: input.privateMetadata, state: { values: { reason: { reason: { type: 'plain_text_input', value: input.reason } }, expiry: { expiry: { type: 'plain_text_input', value: input.expiry ?? '' } } } } },
    response_urls: [],
  };
  const res = await postSlack(app.base, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded');
  expect(res.status).toBe(200);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}
