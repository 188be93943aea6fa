/**
 * A stateful fake of the parts of Slack the adapter uses, served through nock.
 *
 * Web API (https://slack.com/api/<method>, form-encoded POST, `Authorization: Bearer xoxb-…`);
 * every answer is HTTP 200 `{"ok": true, …}` or `{"ok": false, "error": "<code>"}`
 * (https://api.slack.com/web#evaluating_responses). Shapes and error codes from the method
 * reference (https://api.slack.com/methods/<method>, mirrored as JSON in
 * github.com/slack-ruby/slack-api-ref methods/*) and from the response types the Slack SDK
 * derives from real responses (node_modules/@slack/web-api/dist/types/response/
 * UsersLookupByEmailResponse, ConversationsListResponse, ConversationsMembersResponse,
 * ConversationsKickResponse, UsergroupsListResponse, UsergroupsUsersListResponse,
 * UsergroupsUsersUpdateResponse):
 * - users.lookupByEmail (users_not_found), users.info (user_not_found), users.list, auth.test
 * - conversations.list (types, exclude_archived; a private channel only when the bot is in it),
 *   conversations.info, conversations.members (cursor pagination via
 *   response_metadata.next_cursor, "" on the last page; fewer than `limit` may come back)
 * - conversations.invite (already_in_channel; not_in_channel = the caller is not in the channel;
 *   is_archived; user_not_found), conversations.kick (`{"ok": true, "errors": {}}`;
 *   not_in_channel = the user was not in it; cant_kick_from_general)
 * - usergroups.list, usergroups.users.list, usergroups.users.update (the full list replaces the
 *   old; invalid_users "Value passed for users was empty or invalid")
 * - missing_scope carries `needed` and `provided` (https://api.slack.com/scopes)
 * - Rate limits: HTTP 429 with `Retry-After` (seconds), body `{"ok": false, "error": "ratelimited"}`
 *   (https://api.slack.com/docs/rate-limits)
 *
 * SCIM 1.1 (https://api.slack.com/scim/v1/, `Authorization: Bearer xoxp-…`): POST /Users (201),
 * GET /Users/<id>, GET /Users?filter=email eq "…", PATCH /Users/<id> (`active`), with the user
 * shape of api.slack.com/scim and python-slack-sdk tests/slack_sdk/scim/test_response.py; errors
 * `{"Errors": {"description": …, "code": <status>}}`; 429 with Retry-After
 * (https://docs.slack.dev/reference/scim-api/rate-limits).
 */
import nock from 'nock';

/** '429', '5xx', 'timeout', or a Web API error code to answer with (`invalid_auth`, `not_in_channel`, …). */
export type SlackFault = '429' | '5xx' | 'timeout' | 'scim-401' | 'scim-409' | (string & {});
type Reply = [number, unknown, Record<string, string>?];

interface User {
  id: string;
  name: string;
  email: string;
  realName: string;
  deleted: boolean;
  isBot: boolean;
}
interface Channel {
  id: string;
  name: string;
  isPrivate: boolean;
  isArchived: boolean;
  isGeneral: boolean;
  members: Set<string>;
}
interface Usergroup {
  id: string;
  handle: string;
  name: string;
  users: string[];
  dateUpdate: number;
}

export const BOT_TOKEN = 'xoxb-test-bot-token';
export const SCIM_TOKEN = 'xoxp-test-admin-token';
const TEAM = 'T0GATEHSE';

export class FakeSlack {
  readonly users = new Map<string, User>();
  readonly channels = new Map<string, Channel>();
  readonly usergroups = new Map<string, Usergroup>();
  /** `method` for the Web API, `SCIM <VERB> <path>` for SCIM. */
  readonly requests: string[] = [];
  readonly botUserId: string;
  /** Scopes the bot token has (missing_scope names the one a method needs). */
  scopes = new Set(['channels:read', 'groups:read', 'channels:manage', 'groups:write', 'users:read', 'users:read.email', 'usergroups:read', 'usergroups:write']);
  pageSize: number;
  /** When set, every list answers this next_cursor, forever (a broken or hostile endpoint). */
  stuckNextCursor: string | undefined;
  stallMs = 3_000;
  /** Runs between a usergroups.users.update and the next request: a concurrent admin, in tests. */
  afterGroupWrite: ((group: Usergroup) => void) | undefined;
  #faults: { fault: SlackFault; retryAfterMs: number; only?: string }[] = [];
  #seq = 0;

  constructor(pageSize = 2) {
    this.pageSize = pageSize;
    this.botUserId = this.addUser('gatehouse@bots.slack.invalid', { name: 'gatehouse', bot: true });
  }

  #id(prefix: string): string {
    return `${prefix}0${(++this.#seq).toString(36).toUpperCase().padStart(8, '0')}`;
  }

  addUser(email: string, options: { name?: string; deleted?: boolean; bot?: boolean; realName?: string } = {}): string {
    const id = this.#id('U');
    this.users.set(id, { id, name: options.name ?? email.split('@')[0]!, email, realName: options.realName ?? '', deleted: options.deleted ?? false, isBot: options.bot ?? false });
    return id;
  }

  /** A channel; the bot is in it unless `botMember: false`. */
  addChannel(name: string, options: { private?: boolean; botMember?: boolean; archived?: boolean; general?: boolean } = {}): string {
    const id = options.private ? this.#id('G') : this.#id('C');
    const members = new Set<string>();
    if (options.botMember !== false) members.add(this.botUserId);
    this.channels.set(id, { id, name, isPrivate: options.private ?? false, isArchived: options.archived ?? false, isGeneral: options.general ?? false, members });
    return id;
  }

  addUsergroup(handle: string, users: string[] = []): string {
    const id = this.#id('S');
    this.usergroups.set(id, { id, handle, name: handle, users: [...users], dateUpdate: 1_700_000_000 });
    return id;
  }

  channelByName(name: string): Channel | undefined {
    return [...this.channels.values()].find((c) => c.name === name);
  }
  userByEmail(email: string): User | undefined {
    return [...this.users.values()].find((u) => u.email.toLowerCase() === email.toLowerCase());
  }

  /** The next matching request (a Web API method, or `SCIM`) fails like Slack would. */
  failNext(fault: SlackFault, retryAfterMs = 1000, only?: string): void {
    this.#faults.push({ fault, retryAfterMs, only });
  }

  start(): this {
    const web = nock('https://slack.com').persist();
    web.intercept(/^\/api\/.*/, 'POST').reply(async (request: unknown) => {
      // nock 15 passes the intercepted fetch Request as the only argument.
      const req = request as Request;
      const text = await req.text();
      const params = req.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, string>) : Object.fromEntries(new URLSearchParams(text));
      return this.#web(new URL(req.url).pathname.slice('/api/'.length), params, req.headers.get('authorization'));
    });
    const scim = nock('https://api.slack.com').persist();
    for (const method of ['GET', 'POST', 'PATCH', 'PUT', 'DELETE']) {
      scim.intercept(/^\/scim\/v1\/.*/, method).reply(async (request: unknown) => {
        const req = request as Request;
        const text = await req.text();
        return this.#scim(method, new URL(req.url), text ? (JSON.parse(text) as Record<string, unknown>) : {}, req.headers.get('authorization'));
      });
    }
    return this;
  }

  stop(): void {
    nock.cleanAll();
  }

  #fault(key: string): { fault: SlackFault; retryAfterMs: number } | undefined {
    const i = this.#faults.findIndex((f) => !f.only || f.only === key || (f.only === 'SCIM' && key.startsWith('SCIM')));
    return i >= 0 ? this.#faults.splice(i, 1)[0] : undefined;
  }

  #stall(reply: Reply): Promise<Reply> {
    return new Promise((resolve) => setTimeout(() => resolve(reply), this.stallMs));
  }

  #userJson(u: User) {
    const [first, ...rest] = u.realName.split(' ');
    return {
      id: u.id,
      team_id: TEAM,
      name: u.name,
      deleted: u.deleted,
      real_name: u.realName,
      tz: 'Europe/London',
      is_admin: false,
      is_owner: false,
      is_bot: u.isBot,
      is_app_user: false,
      updated: 1_700_000_000,
      profile: { real_name: u.realName, display_name: '', first_name: first ?? '', last_name: rest.join(' '), email: u.isBot ? undefined : u.email, team: TEAM },
    };
  }
  #channelJson(c: Channel) {
    return {
      id: c.id,
      name: c.name,
      name_normalized: c.name,
      is_channel: !c.isPrivate,
      is_group: c.isPrivate,
      is_im: false,
      is_mpim: false,
      is_private: c.isPrivate,
      is_archived: c.isArchived,
      is_general: c.isGeneral,
      is_shared: false,
      is_org_shared: false,
      is_member: c.members.has(this.botUserId),
      created: 1_449_252_889,
      creator: 'W012A3BCD',
      unlinked: 0,
      topic: { value: '', creator: '', last_set: 0 },
      purpose: { value: '', creator: '', last_set: 0 },
      previous_names: [],
      num_members: c.members.size,
    };
  }
  #groupJson(g: Usergroup, users: boolean) {
    return {
      id: g.id,
      team_id: TEAM,
      is_usergroup: true,
      is_subteam: true,
      name: g.name,
      description: '',
      handle: g.handle,
      is_external: false,
      date_create: 1_446_598_059,
      date_update: g.dateUpdate,
      date_delete: 0,
      auto_type: null,
      created_by: 'U060RNRCZ',
      updated_by: 'U060RNRCZ',
      deleted_by: null,
      prefs: { channels: [], groups: [] },
      ...(users ? { users: [...g.users] } : {}),
      user_count: g.users.length,
    };
  }

  /** One cursor page: the cursor is an opaque base64 offset, as Slack's are opaque strings. */
  #page<T>(params: Record<string, string>, items: T[]): { page: T[]; response_metadata: { next_cursor: string } } {
    const offset = params.cursor ? Number(Buffer.from(params.cursor, 'base64').toString().replace('offset:', '')) : 0;
    const limit = Math.min(Number(params.limit ?? 100) || 100, this.pageSize);
    const page = items.slice(offset, offset + limit);
    const next = offset + limit < items.length ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '';
    return { page, response_metadata: { next_cursor: this.stuckNextCursor ?? next } };
  }

  #web(method: string, p: Record<string, string>, authorization: string | null): Reply | Promise<Reply> {
    this.requests.push(method);
    const ok = (body: Record<string, unknown>): Reply => [200, { ok: true, ...body }, { 'content-type': 'application/json; charset=utf-8', 'x-slack-req-id': `req-${this.requests.length}` }];
    const error = (code: string, extra: Record<string, unknown> = {}): Reply => [200, { ok: false, error: code, ...extra }, { 'content-type': 'application/json; charset=utf-8' }];
    const f = this.#fault(method);
    if (f) {
      if (f.fault === '429') return [429, { ok: false, error: 'ratelimited' }, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(Math.round(f.retryAfterMs / 1000)) }];
      if (f.fault === '5xx') return [503, '<html><body>Service Unavailable</body></html>', { 'content-type': 'text/html', 'x-slack-req-id': 'req-503' }];
      if (f.fault === 'timeout') return this.#stall(ok({}));
      if (f.fault === 'missing_scope') return error('missing_scope', { needed: 'channels:manage', provided: [...this.scopes].filter((s) => s !== 'channels:manage').join(',') });
      return error(f.fault);
    }
    if (!authorization) return error('not_authed');
    if (authorization !== `Bearer ${BOT_TOKEN}`) return error('invalid_auth');
    const need = (scope: string) => (this.scopes.has(scope) ? null : error('missing_scope', { needed: scope, provided: [...this.scopes].join(',') }));
    const user = (id: string | undefined) => (id ? this.users.get(id) : undefined);
    // A private channel is invisible to a bot that is not in it (channel_not_found).
    const channel = (id: string | undefined) => {
      const c = id ? this.channels.get(id) : undefined;
      return c && (!c.isPrivate || c.members.has(this.botUserId)) ? c : undefined;
    };

    switch (method) {
      case 'auth.test':
        return ok({ url: 'https://acme.slack.com/', team: 'Acme', user: 'gatehouse', team_id: TEAM, user_id: this.botUserId, bot_id: 'B0GATEHSE', is_enterprise_install: false });
      case 'users.lookupByEmail': {
        const denied = need('users:read.email');
        if (denied) return denied;
        const u = p.email ? this.userByEmail(p.email) : undefined;
        return u && !u.isBot ? ok({ user: this.#userJson(u) }) : error('users_not_found');
      }
      case 'users.info': {
        const u = user(p.user);
        return u ? ok({ user: this.#userJson(u) }) : error('user_not_found');
      }
      case 'users.list': {
        const { page, response_metadata } = this.#page(p, [...this.users.values()]);
        return ok({ members: page.map((u) => this.#userJson(u)), cache_ts: 1_700_000_000, response_metadata });
      }
      case 'conversations.list': {
        const types = (p.types ?? 'public_channel').split(',');
        const visible = [...this.channels.values()].filter(
          (c) => (c.isPrivate ? types.includes('private_channel') && c.members.has(this.botUserId) : types.includes('public_channel')) && !(p.exclude_archived === 'true' && c.isArchived),
        );
        const { page, response_metadata } = this.#page(p, visible);
        return ok({ channels: page.map((c) => this.#channelJson(c)), response_metadata });
      }
      case 'conversations.info': {
        const c = channel(p.channel);
        return c ? ok({ channel: this.#channelJson(c) }) : error('channel_not_found');
      }
      case 'conversations.members': {
        const c = channel(p.channel);
        if (!c) return error('channel_not_found');
        const { page, response_metadata } = this.#page(p, [...c.members]);
        return ok({ members: page, response_metadata });
      }
      case 'conversations.invite': {
        const denied = need('channels:manage');
        if (denied) return denied;
        const c = channel(p.channel);
        if (!c) return error('channel_not_found');
        if (!p.users) return error('no_user');
        if (c.isArchived) return error('is_archived');
        if (!c.members.has(this.botUserId)) return error('not_in_channel');
        const ids = p.users.split(',');
        if (ids.some((id) => !this.users.has(id))) return error('user_not_found');
        if (ids.some((id) => this.users.get(id)!.deleted)) return error('cant_invite');
        if (ids.some((id) => c.members.has(id))) return error('already_in_channel', { errors: ids.filter((id) => c.members.has(id)).map((id) => ({ user: id, ok: false, error: 'already_in_channel' })) });
        for (const id of ids) c.members.add(id);
        return ok({ channel: this.#channelJson(c) });
      }
      case 'conversations.kick': {
        const denied = need('channels:manage');
        if (denied) return denied;
        const c = channel(p.channel);
        if (!c) return error('channel_not_found');
        if (!p.user) return error('no_user');
        if (!this.users.has(p.user)) return error('user_not_found');
        if (p.user === this.botUserId) return error('cant_kick_self');
        if (c.isGeneral) return error('cant_kick_from_general');
        if (!c.members.has(p.user)) return error('not_in_channel');
        c.members.delete(p.user);
        return ok({ errors: {} });
      }
      case 'usergroups.list': {
        const denied = need('usergroups:read');
        if (denied) return denied;
        return ok({ usergroups: [...this.usergroups.values()].map((g) => this.#groupJson(g, p.include_users === 'true')) });
      }
      case 'usergroups.users.list': {
        const denied = need('usergroups:read');
        if (denied) return denied;
        const g = p.usergroup ? this.usergroups.get(p.usergroup) : undefined;
        return g ? ok({ users: [...g.users] }) : error('no_such_subteam');
      }
      case 'usergroups.users.update': {
        const denied = need('usergroups:write');
        if (denied) return denied;
        const g = p.usergroup ? this.usergroups.get(p.usergroup) : undefined;
        if (!g) return error('no_such_subteam');
        if (p.users === undefined) return error('no_users_provided');
        const ids = p.users.split(',').filter(Boolean);
        if (ids.length === 0 || ids.some((id) => !this.users.has(id))) return error('invalid_users');
        g.users = [...new Set(ids)];
        g.dateUpdate += 1;
        this.afterGroupWrite?.(g);
        return ok({ usergroup: this.#groupJson(g, true) });
      }
      default:
        return error('unknown_method');
    }
  }

  #scimUser(u: User) {
    return {
      schemas: ['urn:scim:schemas:core:1.0'],
      id: u.id,
      externalId: '',
      meta: { created: '2026-01-01T00:00:00-08:00', location: `https://api.slack.com/scim/v1/Users/${u.id}` },
      userName: u.name,
      nickName: u.name,
      name: { givenName: u.realName.split(' ')[0] ?? '', familyName: u.realName.split(' ').slice(1).join(' ') },
      displayName: u.realName,
      profileUrl: `https://acme.slack.com/team/${u.name}`,
      title: '',
      timezone: 'Europe/London',
      active: !u.deleted,
      emails: [{ value: u.email, primary: true }],
      photos: [],
      groups: [],
    };
  }

  #scim(method: string, url: URL, body: Record<string, unknown>, authorization: string | null): Reply | Promise<Reply> {
    const path = url.pathname.slice('/scim/v1/'.length);
    const key = `SCIM ${method} ${path.split('/')[0]}`;
    this.requests.push(`SCIM ${method} ${path}${url.search}`);
    const json = { 'content-type': 'application/json' };
    const fail = (code: number, description: string, headers: Record<string, string> = {}): Reply => [code, { Errors: { description, code } }, { ...json, ...headers }];
    const f = this.#fault(key);
    if (f) {
      if (f.fault === '429') return fail(429, 'ratelimited', { 'retry-after': String(Math.round(f.retryAfterMs / 1000)) });
      if (f.fault === '5xx') return fail(503, 'service_unavailable');
      if (f.fault === 'timeout') return this.#stall(fail(504, 'timeout'));
      if (f.fault === 'scim-401') return fail(401, 'invalid_authentication');
      if (f.fault === 'scim-409') return fail(409, 'username_taken');
    }
    if (authorization !== `Bearer ${SCIM_TOKEN}`) return fail(401, 'invalid_authentication');
    const [resource, id] = path.split('/');
    if (resource !== 'Users') return fail(404, 'not_found');
    if (!id && method === 'GET') {
      const m = /^email eq "((?:[^"\\]|\\.)*)"$/i.exec(url.searchParams.get('filter') ?? '');
      const found = [...this.users.values()].filter((u) => !u.isBot && (!m || u.email.toLowerCase() === m[1]!.replace(/\\(.)/g, '$1').toLowerCase()));
      return [200, { totalResults: found.length, itemsPerPage: found.length, startIndex: 1, schemas: ['urn:scim:schemas:core:1.0'], Resources: found.map((u) => this.#scimUser(u)) }, json];
    }
    if (!id && method === 'POST') {
      const userName = String(body.userName ?? '');
      const email = (body.emails as { value: string }[] | undefined)?.[0]?.value;
      if (!userName || !email) return fail(400, 'missing_required_attributes');
      if (this.userByEmail(email)) return fail(409, 'email_taken');
      if ([...this.users.values()].some((u) => u.name === userName)) return fail(409, 'username_taken');
      const name = body.name as { givenName?: string; familyName?: string } | undefined;
      const realName = String(body.displayName ?? [name?.givenName, name?.familyName].filter(Boolean).join(' '));
      const newId = this.addUser(email, { name: userName, realName, deleted: body.active === false });
      return [201, this.#scimUser(this.users.get(newId)!), json];
    }
    const u = id ? this.users.get(id) : undefined;
    if (!u || u.isBot) return fail(404, 'no_such_user');
    if (method === 'GET') return [200, this.#scimUser(u), json];
    if (method === 'PATCH') {
      if (typeof body.active === 'boolean') u.deleted = !body.active;
      return [200, this.#scimUser(u), json];
    }
    if (method === 'DELETE') {
      u.deleted = true;
      return [200, this.#scimUser(u), json];
    }
    return fail(405, 'method_not_allowed');
  }
}
