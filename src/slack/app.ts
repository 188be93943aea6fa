import type { RequestListener } from 'node:http';
import { App, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { boltLogger } from './bolt-logger.js';

export interface SlackEdge {
  /** The Bolt app, to register listeners on; undefined when Slack is not configured. */
  app: App | undefined;
  /** Web API client for our own calls (notifications); undefined when neither a token nor SLACK_API_URL is set. */
  client: WebClient | undefined;
  /** HTTP mode: the handler for POST /slack/events (Bolt's own receiver, signature checks included). */
  requestListener: RequestListener | undefined;
  mode: 'http' | 'socket' | 'off';
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Bolt's WebClient wants the base URL with its trailing slash. */
function apiUrl(config: Config): string | undefined {
  const url = config.slack.apiUrl;
  if (!url) return undefined;
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * Builds the Slack edge. HTTP mode hands Bolt's HTTPReceiver request listener to our own server
 * (so Slack, HRIS and SCIM share one port and one shutdown); Socket Mode runs Bolt's
 * SocketModeReceiver; with neither a signing secret nor an app token Slack is off and messages go
 * to the log.
 */
export function createSlackEdge(config: Config, log: Logger): SlackEdge {
  const slackApiUrl = apiUrl(config);
  // A couple of quick retries at most: a Slack outage must not hold a worker for the client's
  // default half hour. Durable retries belong to the queue, which redelivers the message later.
  const clientOptions = { ...(slackApiUrl ? { slackApiUrl } : {}), retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 2_000 } };
  const client =
    config.slack.botToken || slackApiUrl
      ? new WebClient(config.slack.botToken, { ...clientOptions, logger: boltLogger(log) })
      : undefined;
  const logger = boltLogger(log);
  // With a bot token we skip auth.test at start (tokenVerificationEnabled: false) so a Slack
  // outage or a laptop without network never blocks start-up; a bad token shows on first use.
  const auth = config.slack.botToken
    ? { token: config.slack.botToken, tokenVerificationEnabled: false }
    : { authorize: async () => ({}) };

  if (config.slack.appToken) {
    const receiver = new SocketModeReceiver({ appToken: config.slack.appToken, logger });
    const app = new App({ receiver, logger, clientOptions, ...auth });
    return {
      app,
      client,
      requestListener: undefined,
      mode: 'socket',
      start: async () => {
        await app.start();
      },
      stop: async () => {
        await app.stop();
      },
    };
  }
  if (config.slack.signingSecret) {
    const receiver = new HTTPReceiver({
      signingSecret: config.slack.signingSecret,
      endpoints: '/slack/events',
      logger,
      // Bolt answers Slack with an error if no listener acks within this window; Slack itself
      // gives up at 3 s.
      unhandledRequestTimeoutMillis: 2_900,
    });
    const app = new App({ receiver, logger, clientOptions, ...auth });
    return {
      app,
      client,
      requestListener: receiver.requestListener,
      mode: 'http',
      start: async () => {},
      stop: async () => {},
    };
  }
  return {
    app: undefined,
    client,
    requestListener: undefined,
    mode: 'off',
    start: async () => {},
    stop: async () => {},
  };
}
