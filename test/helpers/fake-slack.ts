/**
 * A local fake of the Slack Web API over real HTTP, so the whole bot can run end to end with
 * SLACK_API_URL=<fake.url>. It keeps a small workspace (users, user groups, channels, messages,
 * views), records every call, and can be told to fail the next call to a method.
 *
 * Shapes follow Slack's method reference (docs.slack.dev/reference/methods/<method>) and the
 * response types @slack/web-api generates from real responses
 * (node_modules/@slack/web-api/dist/types/response/*.d.ts). As Slack does, method errors are
 * HTTP 200 with `{ ok: false, error }`; only rate limits are HTTP 429 with a Retry-After header
 * (docs.slack.dev/apis/web-api/rate-limits).
 *
 * Requests may be application/x-www-form-urlencoded (what @slack/web-api sends, nested values
 * JSON-encoded) or application/json; the token may come as `Authorization: Bearer …` or a `token`
 * field (docs.slack.dev/apis/web-api "POST bodies").
 *
 * A `channel` argument is a known channel's id or name (`#` optional; register it with addChannel),
 * a user id (the bot's DM with them, `D<userId>`, as Slack opens one for a bot), or that DM's id;
 * anything else is channel_not_found.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface FakeSlackOptions {
  /** The one valid token; by default any `xoxb-` token is accepted. */
  token?: string;
  teamId?: string;
  /** The bot's own user id (auth.test user_id); it is a member of channels unless told otherwise. */
  botUserId?: string;
}

export interface FakeUserInput {
  id: string;
  email: string;
  name: string;
  realName?: string;
  isBot?: boolean;
  deleted?: boolean;
}

export interface FakeUsergroupInput {
  id: string;
  handle: string;
  users: string[];
  name?: string;
}

export interface FakeChannelInput {
  id: string;
  name: string;
  isPrivate?: boolean;
  members?: string[];
  /** Whether the bot is in the channel (needed for conversations.invite). Default true. */
  botIsMember?: boolean;
}

export interface RecordedCall {
  method: string;
  /** The request arguments, parsed (JSON-encoded blocks/view/attachments decoded), without the token. */
  body: Record<string, unknown>;
  at: Date;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  /** For ephemeral messages: who sees it. */
  user?: string;
  /** Earlier versions, oldest first (chat.update keeps them here). */
  edits: { text: string; blocks?: unknown[] }[];
}

export interface StoredView {
  id: string;
  method: 'views.open' | 'views.push' | 'views.publish';
  /** The view as Slack returns it (payload plus id, hash, state, …), updated by views.update. */
  view: Record<string, unknown>;
  user_id?: string;
  trigger_id?: string;
}

export interface Fault {
  /** Slack error code for `{ ok: false, error }`; 'ratelimited' for a 429. */
  error?: string;
  /** HTTP status; 429 (or retryAfterSeconds, or error 'ratelimited') gives Slack's rate-limit answer, Retry-After 1 s by default. */
  status?: number;
  retryAfterSeconds?: number;
}

export interface FakeSlack {
  /** Web API base, ending in `/api/` (for WebClient's slackApiUrl or SLACK_API_URL). */
  readonly url: string;
  readonly teamId: string;
  readonly botUserId: string;
  stop(): Promise<void>;
  addUser(user: FakeUserInput): FakeSlack;
  addUsergroup(group: FakeUsergroupInput): FakeSlack;
  addChannel(channel: FakeChannelInput): FakeSlack;
  /** Current members of a user group, or undefined if unknown. */
  usergroupMembers(id: string): string[] | undefined;
  /** Current members of a channel, or undefined if unknown. */
  channelMembers(id: string): string[] | undefined;
  readonly calls: RecordedCall[];
  callsTo(method: string): RecordedCall[];
  /** Messages in a channel id or name; a user id means the bot's DM with them (D<userId>). */
  messagesIn(channel: string): StoredMessage[];
  ephemeralIn(channel: string, user?: string): StoredMessage[];
  readonly views: StoredView[];
  /** The App Home last published to a user. */
  homeView(userId: string): Record<string, unknown> | undefined;
  /** Fails the next call to `method` (queued: call twice to fail two calls). */
  failNext(method: string, fault?: Fault): void;
}

type Params = Record<string, unknown>;
type Reply = { status: number; body: Record<string, unknown>; headers?: Record<string, string> };

interface User extends FakeUserInput {
  updated: number;
}
interface Channel {
  id: string;
  name: string;
  isPrivate: boolean;
  members: Set<string>;
  created: number;
}
interface Usergroup {
  id: string;
  handle: string;
  name: string;
  users: string[];
  created: number;
  updated: number;
}

/** Fields that @slack/web-api JSON-encodes into form bodies. */
const JSON_FIELDS = ['blocks', 'attachments', 'view', 'metadata'];

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const teamId = options.teamId ?? 'T0FAKE';
  const botUserId = options.botUserId ?? 'U0FAKEBOT';
  const now = () => Math.floor(Date.now() / 1000);
  const users = new Map<string, User>();
  const usergroups = new Map<string, Usergroup>();
  const channels = new Map<string, Channel>();
  const messages: StoredMessage[] = [];
  const ephemeral: StoredMessage[] = [];
  const views: StoredView[] = [];
  const home = new Map<string, Record<string, unknown>>();
  const openedDms = new Set<string>();
  const calls: RecordedCall[] = [];
  const faults = new Map<string, Fault[]>();
  let seq = 0;
  let lastSecond = 0;

  /** Message timestamps are unique and increasing, shaped like Slack's "1503435956.000247". */
  const nextTs = () => {
    const second = Math.max(now(), lastSecond);
    seq = second === lastSecond ? seq + 1 : 1;
    lastSecond = second;
    return `${second}.${String(seq).padStart(6, '0')}`;
  };
  let viewSeq = 0;
  const nextViewId = () => `V0FAKE${String(++viewSeq).padStart(4, '0')}`;
  const viewHash = () => `${now()}.${Math.random().toString(16).slice(2, 10)}`;

  const ok = (body: Params = {}): Reply => ({ status: 200, body: { ok: true, ...body } });
  const fail = (error: string): Reply => ({ status: 200, body: { ok: false, error } });

  /** A DM channel id for a user id; otherwise a known channel's id by id or name. */
  const resolveChannel = (value: unknown): string | undefined => {
    const key = String(value ?? '').replace(/^#/, '');
    if (users.has(key)) return `D${key}`;
    if (key.startsWith('D') && users.has(key.slice(1))) return key;
    if (channels.has(key)) return key;
    return [...channels.values()].find((c) => c.name === key)?.id;
  };

  // users.info / users.lookupByEmail / users.list: the `user` object (docs.slack.dev/reference/objects/user-object).
  const userJson = (u: User) => {
    const realName = u.realName ?? u.name;
    return {
      id: u.id, team_id: teamId, name: u.name, deleted: Boolean(u.deleted), real_name: realName, tz: 'Europe/London', tz_label: 'Greenwich Mean Time', tz_offset: 0,
      profile: { real_name: realName, real_name_normalized: realName, display_name: u.name, display_name_normalized: u.name, email: u.email, team: teamId },
      is_admin: false, is_owner: false, is_primary_owner: false, is_restricted: false, is_ultra_restricted: false, is_bot: Boolean(u.isBot), is_app_user: false, updated: u.updated,
    };
  };

  // conversations.info / list / invite: the conversation object (docs.slack.dev/reference/objects/conversation-object).
  const channelJson = (c: Channel) => ({
    id: c.id, name: c.name, name_normalized: c.name, is_channel: !c.isPrivate, is_group: c.isPrivate, is_im: false, is_mpim: false, is_private: c.isPrivate,
    created: c.created, creator: botUserId, is_archived: false, is_general: false, unlinked: 0, is_shared: false, is_ext_shared: false, is_org_shared: false,
    is_member: c.members.has(botUserId), num_members: c.members.size, topic: { value: '', creator: '', last_set: 0 }, purpose: { value: '', creator: '', last_set: 0 }, previous_names: [],
  });
  const imJson = (id: string) => ({ id, created: now(), is_im: true, is_org_shared: false, user: id.slice(1), is_user_deleted: Boolean(users.get(id.slice(1))?.deleted), priority: 0 });

  // usergroups.list / usergroups.users.update: the usergroup object (docs.slack.dev/reference/methods/usergroups.list).
  const usergroupJson = (g: Usergroup, withUsers: boolean) => ({
    id: g.id, team_id: teamId, is_usergroup: true, is_subteam: true, name: g.name, description: '', handle: g.handle, is_external: false,
    date_create: g.created, date_update: g.updated, date_delete: 0, auto_type: null, created_by: botUserId, updated_by: botUserId, deleted_by: null,
    prefs: { channels: [], groups: [] }, ...(withUsers ? { users: [...g.users] } : {}), user_count: g.users.length,
  });

  /** Cursor pagination (docs.slack.dev/apis/web-api/pagination): opaque next_cursor, '' on the last page. */
  const page = <T>(items: T[], params: Params, defaultLimit: number): { items: T[]; next_cursor: string } | undefined => {
    let offset = 0;
    if (params.cursor) {
      const decoded = /^offset:(\d+)$/.exec(Buffer.from(String(params.cursor), 'base64').toString('utf8'));
      if (!decoded) return undefined;
      offset = Number(decoded[1]);
    }
    const limit = Number(params.limit) > 0 ? Number(params.limit) : defaultLimit;
    const end = offset + limit;
    return { items: items.slice(offset, end), next_cursor: end < items.length ? Buffer.from(`offset:${end}`).toString('base64') : '' };
  };

  /** The view as views.open/update/publish/push return it (docs.slack.dev/reference/methods/views.open). */
  const viewJson = (payload: Params, id: string, extra: Params = {}) => ({
    id, team_id: teamId, type: payload.type ?? 'modal', title: payload.title, submit: payload.submit ?? null, close: payload.close ?? null, blocks: payload.blocks ?? [],
    private_metadata: payload.private_metadata ?? '', callback_id: payload.callback_id ?? '', external_id: payload.external_id ?? '', state: { values: {} }, hash: viewHash(),
    clear_on_close: Boolean(payload.clear_on_close), notify_on_close: Boolean(payload.notify_on_close), root_view_id: id, previous_view_id: null, app_id: 'A0FAKEAPP', bot_id: 'B0FAKEBOT',
    ...extra,
  });
  const findView = (params: Params) =>
    views.find((v) => (params.view_id ? v.id === params.view_id : Boolean(params.external_id) && v.view.external_id === params.external_id));

  const list = (value: unknown) => String(value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const bool = (value: unknown) => value === true || value === 'true' || value === '1' || value === 1;
  const blocksOf = (value: unknown) => (Array.isArray(value) ? value : undefined);

  // docs.slack.dev/reference/methods/views.open and views.push: { view }
  function viewsOpenOrPush(params: Params, method: string): Reply {
    if (!params.trigger_id && !params.interactivity_pointer) return fail('invalid_arguments');
    if (!params.view || typeof params.view !== 'object') return fail('invalid_arguments');
    const id = nextViewId();
    const stored: StoredView = { id, method: method as StoredView['method'], view: viewJson(params.view as Params, id), trigger_id: String(params.trigger_id ?? params.interactivity_pointer) };
    views.push(stored);
    return ok({ view: stored.view });
  }

  /** One handler per method; the views methods share the open/push one. */
  const methods: Record<string, (params: Params, method: string) => Reply> = {
    // docs.slack.dev/reference/methods/auth.test
    'auth.test': () => ok({ url: 'https://fake.slack.com/', team: 'Fake Workspace', user: 'gatehouse', team_id: teamId, user_id: botUserId, bot_id: 'B0FAKEBOT', is_enterprise_install: false }),

    // docs.slack.dev/reference/methods/chat.postMessage: { channel, ts, message }
    'chat.postMessage': (params) => {
      const channel = resolveChannel(params.channel);
      if (!channel) return fail('channel_not_found');
      if (!params.text && !params.blocks && !params.attachments) return fail('no_text');
      // A bot posts to public channels it is not in (chat:write.public), not to private ones.
      if (channels.get(channel)?.isPrivate && !channels.get(channel)!.members.has(botUserId)) return fail('not_in_channel');
      const message: StoredMessage = { channel, ts: nextTs(), text: String(params.text ?? ''), blocks: blocksOf(params.blocks), edits: [] };
      if (params.thread_ts) message.thread_ts = String(params.thread_ts);
      messages.push(message);
      return ok({ channel, ts: message.ts, message: { type: 'message', subtype: 'bot_message', text: message.text, blocks: message.blocks, ts: message.ts, thread_ts: message.thread_ts, bot_id: 'B0FAKEBOT', user: botUserId, team: teamId } });
    },

    // docs.slack.dev/reference/methods/chat.update: { channel, ts, text, message }
    'chat.update': (params) => {
      const channel = resolveChannel(params.channel);
      if (!channel) return fail('channel_not_found');
      const message = messages.find((m) => m.channel === channel && m.ts === String(params.ts));
      if (!message) return fail('message_not_found');
      message.edits.push({ text: message.text, blocks: message.blocks });
      if (params.text !== undefined) message.text = String(params.text);
      if (params.blocks !== undefined) message.blocks = blocksOf(params.blocks);
      return ok({ channel, ts: message.ts, text: message.text, message: { type: 'message', text: message.text, blocks: message.blocks, user: botUserId, bot_id: 'B0FAKEBOT', edited: { user: botUserId, ts: nextTs() } } });
    },

    // docs.slack.dev/reference/methods/chat.postEphemeral: { message_ts }
    'chat.postEphemeral': (params) => {
      const channel = resolveChannel(params.channel);
      if (!channel) return fail('channel_not_found');
      const user = String(params.user ?? '');
      if (!users.has(user)) return fail('user_not_found');
      const c = channels.get(channel);
      if (c && !c.members.has(user)) return fail('user_not_in_channel');
      const message: StoredMessage = { channel, ts: nextTs(), text: String(params.text ?? ''), blocks: blocksOf(params.blocks), user, edits: [] };
      ephemeral.push(message);
      return ok({ message_ts: message.ts });
    },

    // docs.slack.dev/reference/methods/chat.getPermalink: { channel, permalink }
    'chat.getPermalink': (params) => {
      const channel = resolveChannel(params.channel);
      if (!channel) return fail('channel_not_found');
      if (!messages.some((m) => m.channel === channel && m.ts === String(params.message_ts))) return fail('message_not_found');
      return ok({ channel, permalink: `https://fake.slack.com/archives/${channel}/p${String(params.message_ts).replace('.', '')}` });
    },

    // docs.slack.dev/reference/methods/conversations.open: { channel: { id } }, no_op/already_open when reopened
    'conversations.open': (params) => {
      const ids = params.channel ? [] : list(params.users);
      const id = params.channel ? resolveChannel(params.channel) : ids.length === 1 ? resolveChannel(ids[0]) : undefined;
      if (!params.channel && ids.length !== 1) return fail(ids.length === 0 ? 'users_list_not_supplied' : 'not_supported');
      if (!id || !id.startsWith('D')) return fail(params.channel ? 'channel_not_found' : 'user_not_found');
      const already = openedDms.has(id);
      openedDms.add(id);
      return ok({ ...(already ? { no_op: true, already_open: true } : {}), channel: bool(params.return_im) ? imJson(id) : { id } });
    },

    // docs.slack.dev/reference/methods/conversations.info: { channel }
    'conversations.info': (params) => {
      const id = resolveChannel(params.channel);
      if (!id) return fail('channel_not_found');
      return ok({ channel: id.startsWith('D') ? imJson(id) : channelJson(channels.get(id)!) });
    },

    // docs.slack.dev/reference/methods/conversations.list: { channels, response_metadata: { next_cursor } }
    'conversations.list': (params) => {
      const types = list(params.types ?? 'public_channel');
      const matching = [...channels.values()].filter((c) => types.includes(c.isPrivate ? 'private_channel' : 'public_channel'));
      const result = page(matching, params, 100);
      if (!result) return fail('invalid_cursor');
      return ok({ channels: result.items.map(channelJson), response_metadata: { next_cursor: result.next_cursor } });
    },

    // docs.slack.dev/reference/methods/conversations.members: { members, response_metadata: { next_cursor } }
    'conversations.members': (params) => {
      const channel = channels.get(String(params.channel));
      if (!channel) return fail('channel_not_found');
      const result = page([...channel.members], params, 100);
      if (!result) return fail('invalid_cursor');
      return ok({ members: result.items, response_metadata: { next_cursor: result.next_cursor } });
    },

    // docs.slack.dev/reference/methods/conversations.invite: { channel }; not_in_channel = the bot is not in it
    'conversations.invite': (params) => {
      const channel = channels.get(String(params.channel));
      if (!channel) return fail('channel_not_found');
      const invited = list(params.users);
      if (invited.length === 0) return fail('no_user');
      if (!channel.members.has(botUserId)) return fail('not_in_channel');
      for (const user of invited) {
        if (user === botUserId) return fail('cant_invite_self');
        if (!users.has(user)) return fail('user_not_found');
        if (channel.members.has(user)) return fail('already_in_channel');
      }
      for (const user of invited) channel.members.add(user);
      return ok({ channel: channelJson(channel) });
    },

    // docs.slack.dev/reference/methods/conversations.kick: {}; not_in_channel = the user is not in it
    'conversations.kick': (params) => {
      const channel = channels.get(String(params.channel));
      if (!channel) return fail('channel_not_found');
      const user = String(params.user ?? '');
      if (user === botUserId) return fail('cant_kick_self');
      if (!users.has(user)) return fail('user_not_found');
      if (!channel.members.delete(user)) return fail('not_in_channel');
      return ok();
    },

    // docs.slack.dev/reference/methods/users.lookupByEmail: { user }
    'users.lookupByEmail': (params) => {
      const email = String(params.email ?? '').toLowerCase();
      const user = [...users.values()].find((u) => u.email.toLowerCase() === email);
      return user ? ok({ user: userJson(user) }) : fail('users_not_found');
    },

    // docs.slack.dev/reference/methods/users.info: { user }
    'users.info': (params) => {
      const user = users.get(String(params.user));
      return user ? ok({ user: userJson(user) }) : fail('user_not_found');
    },

    // docs.slack.dev/reference/methods/users.list: { members, cache_ts, response_metadata: { next_cursor } }
    'users.list': (params) => {
      const result = page([...users.values()], params, Number.MAX_SAFE_INTEGER);
      if (!result) return fail('invalid_cursor');
      return ok({ members: result.items.map(userJson), cache_ts: now(), response_metadata: { next_cursor: result.next_cursor } });
    },

    // docs.slack.dev/reference/methods/usergroups.list: { usergroups }
    'usergroups.list': (params) => ok({ usergroups: [...usergroups.values()].map((g) => usergroupJson(g, bool(params.include_users))) }),

    // docs.slack.dev/reference/methods/usergroups.users.list: { users }
    'usergroups.users.list': (params) => {
      const group = usergroups.get(String(params.usergroup));
      return group ? ok({ users: [...group.users] }) : fail('no_such_subteam');
    },

    // docs.slack.dev/reference/methods/usergroups.users.update: { usergroup }; replaces the whole list
    'usergroups.users.update': (params) => {
      const group = usergroups.get(String(params.usergroup));
      if (!group) return fail('no_such_subteam');
      const members = list(params.users);
      if (members.length === 0) return fail('no_users_provided');
      if (members.some((id) => !users.has(id))) return fail('invalid_users');
      if (members.some((id) => users.get(id)!.isBot)) return fail('invalid_user');
      group.users = [...new Set(members)];
      group.updated = now();
      return ok({ usergroup: usergroupJson(group, true) });
    },

    'views.open': viewsOpenOrPush,
    'views.push': viewsOpenOrPush,

    // docs.slack.dev/reference/methods/views.update: { view }; not_found, hash_conflict
    'views.update': (params) => {
      if (!params.view || typeof params.view !== 'object' || (!params.view_id && !params.external_id)) return fail('invalid_arguments');
      const stored = findView(params);
      if (!stored) return fail('not_found');
      if (params.hash && params.hash !== stored.view.hash) return fail('hash_conflict');
      stored.view = viewJson(params.view as Params, stored.id, { root_view_id: stored.view.root_view_id });
      if (stored.method === 'views.publish' && stored.user_id) home.set(stored.user_id, stored.view);
      return ok({ view: stored.view });
    },

    // docs.slack.dev/reference/methods/views.publish: { view } (App Home, one per user)
    'views.publish': (params) => {
      const userId = String(params.user_id ?? '');
      if (!users.has(userId) || !params.view || typeof params.view !== 'object') return fail('invalid_arguments');
      const previous = home.get(userId);
      if (params.hash && previous && params.hash !== previous.hash) return fail('hash_conflict');
      const id = (previous?.id as string | undefined) ?? nextViewId();
      const view = viewJson(params.view as Params, id, { type: 'home' });
      home.set(userId, view);
      const stored = views.find((v) => v.id === id);
      if (stored) stored.view = view;
      else views.push({ id, method: 'views.publish', view, user_id: userId });
      return ok({ view });
    },
  };

  function answer(method: string, params: Params, authorization: string | undefined): Reply {
    const { token: bodyToken, ...body } = params;
    calls.push({ method, body, at: new Date() });
    const fault = faults.get(method)?.shift();
    if (fault) {
      // docs.slack.dev/apis/web-api/rate-limits: HTTP 429, Retry-After seconds, { ok: false, error: 'ratelimited' }
      if (fault.status === 429 || fault.retryAfterSeconds !== undefined || fault.error === 'ratelimited') {
        return { status: 429, body: { ok: false, error: fault.error ?? 'ratelimited' }, headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1) } };
      }
      return { status: fault.status ?? 200, body: { ok: false, error: fault.error ?? 'internal_error' } };
    }
    const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
    if (!handler) return fail('unknown_method');
    // docs.slack.dev/authentication/tokens: not_authed without a token, invalid_auth for a bad one
    const token = authorization?.replace(/^Bearer\s+/i, '') || (bodyToken ? String(bodyToken) : '');
    if (!token) return fail('not_authed');
    if (options.token !== undefined ? token !== options.token : !token.startsWith('xoxb-')) return fail('invalid_auth');
    return handler(body, method);
  }

  const server: Server = createServer((req, res) => {
    void readBody(req).then(
      (text) => {
        const path = new URL(req.url ?? '/', 'http://fake').pathname;
        let reply: Reply;
        if (req.method !== 'POST' && req.method !== 'GET') reply = { status: 405, body: { ok: false, error: 'method_not_allowed' } };
        else if (!path.startsWith('/api/')) reply = { status: 404, body: { ok: false, error: 'unknown_method' } };
        else {
          let params: Params;
          try {
            params = { ...Object.fromEntries(new URL(req.url ?? '/', 'http://fake').searchParams), ...parseBody(text, req.headers['content-type']) };
          } catch {
            params = {};
          }
          reply = answer(path.slice('/api/'.length), params, req.headers.authorization);
        }
        res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
        res.end(JSON.stringify(reply.body));
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };

  const fake: FakeSlack = {
    url: `http://127.0.0.1:${port}/api/`,
    teamId,
    botUserId,
    calls,
    views,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    addUser(user) {
      users.set(user.id, { ...user, updated: now() });
      return fake;
    },
    addUsergroup(group) {
      usergroups.set(group.id, { id: group.id, handle: group.handle, name: group.name ?? group.handle, users: [...group.users], created: now(), updated: now() });
      return fake;
    },
    addChannel(channel) {
      const members = new Set(channel.members ?? []);
      if (channel.botIsMember ?? true) members.add(botUserId);
      channels.set(channel.id, { id: channel.id, name: channel.name, isPrivate: Boolean(channel.isPrivate), members, created: now() });
      return fake;
    },
    usergroupMembers: (id) => (usergroups.has(id) ? [...usergroups.get(id)!.users] : undefined),
    channelMembers: (id) => (channels.has(id) ? [...channels.get(id)!.members] : undefined),
    callsTo: (method) => calls.filter((c) => c.method === method),
    messagesIn: (channel) => {
      const id = resolveChannel(channel) ?? channel;
      return messages.filter((m) => m.channel === id);
    },
    ephemeralIn: (channel, user) => {
      const id = resolveChannel(channel) ?? channel;
      return ephemeral.filter((m) => m.channel === id && (user === undefined || m.user === user));
    },
    homeView: (userId) => home.get(userId),
    failNext(method, fault = {}) {
      faults.set(method, [...(faults.get(method) ?? []), fault]);
    },
  };
  return fake;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Form bodies carry nested values JSON-encoded; JSON bodies carry them as they are. */
function parseBody(text: string, contentType: string | undefined): Params {
  if (text === '') return {};
  const params: Params = contentType?.includes('application/json') ? (JSON.parse(text) as Params) : Object.fromEntries(new URLSearchParams(text));
  for (const field of JSON_FIELDS) {
    const value = params[field];
    if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
      try {
        params[field] = JSON.parse(value);
      } catch {
        // left as the string Slack would reject; the handler answers invalid_arguments
      }
    }
  }
  return params;
}
