/**
 * The only file that imports the Slack SDK (@slack/web-api). It turns off what would hide the
 * API from the orchestrator: the WebClient's retries (ten over about thirty minutes by default)
 * and its habit of waiting out a 429 (`rejectRateLimitedCalls`), and it gives every request a
 * timeout (the WebClient's default is none).
 *
 * Slack's SCIM API (user create, reactivate, deactivate) is a REST API the WebClient does not
 * cover (it POSTs form-encoded RPC calls only), so it is called here with fetch, once, with the
 * same timeout. https://api.slack.com/scim
 */
import { LogLevel, WebClient } from '@slack/web-api';
import { PageGuard } from '../types.js';
import type { ScimUserShape, SlackUserShape } from './mapping.js';

export interface SlackClientConfig {
  /** SLACK_BOT_TOKEN: the app's bot token (xoxb-…). */
  token: string;
  /** SLACK_API_URL: the Web API base, default https://slack.com/api/ (GovSlack, or a fake). */
  apiUrl?: string;
  /** SLACK_SCIM_TOKEN: an Owner's or Admin's user token (xoxp-…, `admin` scope), for SCIM. */
  scimToken?: string;
  /** SCIM base, default https://api.slack.com/scim/v1/. */
  scimUrl?: string;
  /** Longest one request may take before it fails as retryable. Default 10 s. */
  timeoutMs?: number;
}

export interface SlackChannelShape {
  id: string;
  name: string;
  is_private?: boolean;
  is_member?: boolean;
  is_archived?: boolean;
}

export interface SlackUsergroupShape {
  id: string;
  handle: string;
  name?: string;
  date_delete?: number;
}

/** A SCIM answer other than 2xx: status, headers and Slack's `{"Errors": {description, code}}` body. */
export class SlackScimError extends Error {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  constructor(status: number, headers: Headers, body: unknown, what: string) {
    const description = (body as { Errors?: { description?: string } } | null)?.Errors?.description;
    super(`SCIM ${what}: ${status}${description ? ` ${description}` : ''}`);
    this.name = 'SlackScimError';
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

/** What the adapter needs from Slack, in plain shapes. Errors are the SDK's own (errors.ts classifies them). */
export interface SlackApi {
  /** The bot's own user id (auth.test), to leave it out of member listings. */
  botUserId(): Promise<string>;
  lookupByEmail(email: string): Promise<SlackUserShape | null>;
  userInfo(id: string): Promise<SlackUserShape | null>;
  users(): AsyncIterable<SlackUserShape>;
  channels(): AsyncIterable<SlackChannelShape>;
  channelInfo(id: string): Promise<SlackChannelShape>;
  /** conversations.members, one page at a time, so a check can stop at the first match. */
  channelMembers(id: string): AsyncIterable<string[]>;
  invite(channel: string, user: string): Promise<void>;
  kick(channel: string, user: string): Promise<void>;
  usergroups(): Promise<SlackUsergroupShape[]>;
  usergroupUsers(id: string): Promise<string[]>;
  setUsergroupUsers(id: string, users: string[]): Promise<void>;
  /** Present only with a SCIM token. */
  scim?: {
    getUser(id: string): Promise<ScimUserShape | null>;
    findByEmail(email: string): Promise<ScimUserShape | null>;
    createUser(body: Record<string, unknown>): Promise<ScimUserShape>;
    setActive(id: string, active: boolean): Promise<ScimUserShape>;
  };
}

const PAGE = 200; // Slack recommends no more than 200 results a page (docs: pagination).

export function createSlackApi(config: SlackClientConfig): SlackApi {
  const timeoutMs = config.timeoutMs ?? 10_000;
  const client = new WebClient(config.token, {
    slackApiUrl: config.apiUrl ?? 'https://slack.com/api/',
    // One attempt per call: a 429 reaches the orchestrator (with Retry-After), which pauses Slack.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: timeoutMs,
    allowAbsoluteUrls: false,
    logLevel: LogLevel.ERROR,
  });
  let botUser: Promise<string> | undefined;

  // WebClient.paginate follows response_metadata.next_cursor while it is not empty, with no check
  // for a cursor it has followed before (paginationOptionsForNextPage in @slack/web-api
  // dist/WebClient.js), so each page's next cursor goes through a PageGuard: a repeat, or more
  // than 10,000 pages, is a permanent error (issue 27).
  async function* pages<T>(method: string, options: Record<string, unknown>, key: string): AsyncIterable<T[]> {
    const guard = new PageGuard('slack', method);
    for await (const page of client.paginate(method, { ...options, limit: PAGE })) {
      const next = (page as { response_metadata?: { next_cursor?: string } }).response_metadata?.next_cursor;
      if (next) guard.follow(next);
      yield ((page as unknown as Record<string, unknown>)[key] ?? []) as T[];
    }
  }
  const platformError = (error: unknown, code: string) => (error as { data?: { error?: string } })?.data?.error === code;

  const api: SlackApi = {
    botUserId() {
      botUser ??= client.auth.test().then((r) => r.user_id!, (error: unknown) => {
        botUser = undefined;
        throw error;
      });
      return botUser;
    },
    async lookupByEmail(email) {
      try {
        return (await client.users.lookupByEmail({ email })).user as SlackUserShape;
      } catch (error) {
        if (platformError(error, 'users_not_found')) return null;
        throw error;
      }
    },
    async userInfo(id) {
      try {
        return (await client.users.info({ user: id })).user as SlackUserShape;
      } catch (error) {
        if (platformError(error, 'user_not_found')) return null;
        throw error;
      }
    },
    async *users() {
      for await (const page of pages<SlackUserShape>('users.list', {}, 'members')) yield* page;
    },
    async *channels() {
      for await (const page of pages<SlackChannelShape>('conversations.list', { types: 'public_channel,private_channel', exclude_archived: true }, 'channels')) yield* page;
    },
    async channelInfo(id) {
      return (await client.conversations.info({ channel: id })).channel as SlackChannelShape;
    },
    channelMembers(id) {
      return pages<string>('conversations.members', { channel: id }, 'members');
    },
    async invite(channel, user) {
      await client.conversations.invite({ channel, users: user });
    },
    async kick(channel, user) {
      await client.conversations.kick({ channel, user });
    },
    async usergroups() {
      return (await client.usergroups.list({})).usergroups as SlackUsergroupShape[];
    },
    async usergroupUsers(id) {
      return (await client.usergroups.users.list({ usergroup: id })).users ?? [];
    },
    async setUsergroupUsers(id, users) {
      await client.usergroups.users.update({ usergroup: id, users: users.join(',') });
    },
  };

  if (config.scimToken) {
    const base = config.scimUrl ?? 'https://api.slack.com/scim/v1/';
    const scim = async (method: string, path: string, what: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${config.scimToken}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = text === '' ? null : JSON.parse(text);
      } catch {
        json = { Errors: { description: text.slice(0, 200), code: response.status } };
      }
      if (!response.ok) throw new SlackScimError(response.status, response.headers, json, what);
      return { status: response.status, json };
    };
    const notFound = (error: unknown) => error instanceof SlackScimError && error.status === 404;
    api.scim = {
      async getUser(id) {
        try {
          return (await scim('GET', `Users/${encodeURIComponent(id)}`, `read user ${id}`)).json as ScimUserShape;
        } catch (error) {
          if (notFound(error)) return null;
          throw error;
        }
      },
      async findByEmail(email) {
        const filter = `email eq "${email.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
        const { json } = await scim('GET', `Users?filter=${encodeURIComponent(filter)}&count=1&startIndex=1`, `find user ${email}`);
        return ((json as { Resources?: ScimUserShape[] }).Resources ?? [])[0] ?? null;
      },
      async createUser(body) {
        return (await scim('POST', 'Users', 'create user', body)).json as ScimUserShape;
      },
      async setActive(id, active) {
        return (await scim('PATCH', `Users/${encodeURIComponent(id)}`, `${active ? 'reactivate' : 'deactivate'} user ${id}`, { schemas: ['urn:scim:schemas:core:1.0'], active })).json as ScimUserShape;
      },
    };
  }
  return api;
}
