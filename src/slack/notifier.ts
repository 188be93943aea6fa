import type { WebClient } from '@slack/web-api';
import type { Logger } from '../log.js';

export interface SlackMessage {
  /** A channel name (`it-onboarding`), channel id, or user id (for a DM). */
  channel: string;
  /** Plain-text fallback; shown in notifications and used by screen readers. */
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
}

export interface PostedMessage {
  channel: string;
  ts: string | undefined;
}

/** Where Gatehouse's Slack messages go. Operations depend on this, never on the Web API directly. */
export interface Notifier {
  post(message: SlackMessage): Promise<PostedMessage>;
  /** Replaces a message posted earlier (an approval DM once decided). */
  update?(message: { channel: string; ts: string; text: string; blocks?: unknown[] }): Promise<void>;
}

/**
 * Without Slack credentials Gatehouse still runs (on a laptop, in a demo): every message is written
 * to the log, and also sent to the Web API when a client is configured (a token, or SLACK_API_URL
 * pointing at a local fake).
 */
export function createNotifier(log: Logger, client: WebClient | undefined): Notifier {
  const slackLog = log.child({ component: 'slack-message' });
  return {
    async post(message) {
      slackLog.info({ channel: message.channel, thread_ts: message.thread_ts }, message.text);
      if (!client) return { channel: message.channel, ts: undefined };
      const result = await client.chat.postMessage({
        channel: message.channel.replace(/^#/, ''),
        text: message.text,
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Block Kit is built by our pure builders and checked by snapshot tests
        blocks: message.blocks as any,
        thread_ts: message.thread_ts,
        unfurl_links: false,
      });
      return { channel: String(result.channel ?? message.channel), ts: result.ts };
    },
    async update(message) {
      slackLog.info({ channel: message.channel, ts: message.ts, update: true }, message.text);
      if (!client) return;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Block Kit is built by our pure builders
      await client.chat.update({ channel: message.channel, ts: message.ts, text: message.text, blocks: message.blocks as any });
    },
  };
}
