/**
 * A stateful fake of the Slack Web API methods Gatehouse calls, and of response_url. One
 * implementation, two ways in: `listen()` serves it over real HTTP (SLACK_API_URL pointing at it,
 * so the bot runs end to end outside the test runner), `intercept()` mounts it under nock on
 * https://slack.com and https://hooks.slack.com. Shapes follow Slack's method reference
 * (api.slack.com/methods/<method>: auth.test, users.info, users.lookupByEmail, usergroups.list,
 * chat.postMessage, chat.update, views.open, views.publish) and the response_url docs
 * (api.slack.com/interactivity/handling#message_responses). Errors are HTTP 200 with
 * `{ ok: false, error }`, as Slack answers.
 */
import { createServer, type Server } from 'node:http';
import nock from 'nock';

export interface FakeUser {
  id: string;
  email: string;
  name: string;
  deleted?: boolean;
}

export interface Posted {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  /** Earlier versions, oldest first (chat.update keeps history here). */
  edits: { text: string; blocks?: unknown[] }[];
}

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

export class SlackApiFake {
  readonly users = new Map<string, FakeUser>();
  readonly usergroups = new Map<string, { id: string; handle: string; users: string[] }>();
  readonly messages: Posted[] = [];
  readonly views: { method: string; view: unknown; user_id?: string; trigger_id?: string }[] = [];
  /** What was sent to response_url, by the id in its path. */
  readonly responses: { id: string; body: Record<string, unknown> }[] = [];
  readonly calls: { method: string; params: Record<string, unknown> }[] = [];
  #seq = 1_700_000_000;
  #server: Server | undefined;
  url = 'https://slack.com/api/';
  responseBase = 'https://hooks.slack.com/actions';

  addUser(user: FakeUser): this {
    this.users.set(user.id, user);
    return this;
  }

  addUsergroup(handle: string, users: string[]): this {
    this.usergroups.set(handle, { id: `S0${handle.toUpperCase().replace(/[^A-Z0-9]/g, '')}`, handle, users });
    return this;
  }

  /** Messages in a channel, or DMs to a user (Slack opens D<user> for a bot posting to a user id). */
  messagesIn(channel: string): Posted[] {
    const dm = channel.startsWith('U') || channel.startsWith('W') ? `D${channel}` : channel;
    return this.messages.filter((m) => m.channel === dm);
  }

  callsTo(method: string): Record<string, unknown>[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params);
  }

  /** A response_url for a payload, served by this fake. */
  responseUrl(id: string): string {
    return `${this.responseBase}/${id}`;
  }

  handle(method: string, params: Record<string, unknown>, authorization: string | undefined): Reply {
    this.calls.push({ method, params });
    const ok = (body: Record<string, unknown>) => ({ status: 200, body: { ok: true, ...body } });
    const error = (code: string) => ({ status: 200, body: { ok: false, error: code } });
    if (!authorization?.startsWith('Bearer xoxb-')) return error('not_authed');
    const userJson = (u: FakeUser) => ({ id: u.id, team_id: 'T0ACME', name: u.name, deleted: Boolean(u.deleted), real_name: u.name, is_bot: false, profile: { email: u.email, real_name: u.name, display_name: u.name } });
    const channelOf = (c: unknown) => {
      const channel = String(c ?? '');
      return channel.startsWith('U') || channel.startsWith('W') ? `D${channel}` : channel;
    };
    switch (method) {
      case 'auth.test':
        return ok({ url: 'https://acme.slack.com/', team: 'Acme', user: 'gatehouse', team_id: 'T0ACME', user_id: 'U0GATEHOUSE', bot_id: 'B0GATEHOUSE', is_enterprise_install: false });
      case 'users.info': {
        const user = this.users.get(String(params.user));
        return user ? ok({ user: userJson(user) }) : error('user_not_found');
      }
      case 'users.lookupByEmail': {
        const user = [...this.users.values()].find((u) => u.email.toLowerCase() === String(params.email).toLowerCase());
        return user ? ok({ user: userJson(user) }) : error('users_not_found');
      }
      case 'usergroups.list':
        return ok({ usergroups: [...this.usergroups.values()].map((g) => ({ id: g.id, team_id: 'T0ACME', handle: g.handle, name: g.handle, is_usergroup: true, ...(params.include_users ? { users: g.users, user_count: g.users.length } : {}) })) });
      case 'conversations.open':
        return ok({ channel: { id: channelOf(params.users) } });
      case 'chat.postMessage': {
        if (!params.channel) return error('channel_not_found');
        const posted: Posted = { channel: channelOf(params.channel), ts: `${++this.#seq}.000100`, text: String(params.text ?? ''), blocks: parseJson(params.blocks), thread_ts: params.thread_ts as string | undefined, edits: [] };
        this.messages.push(posted);
        return ok({ channel: posted.channel, ts: posted.ts, message: { type: 'message', text: posted.text, ts: posted.ts, bot_id: 'B0GATEHOUSE' } });
      }
      case 'chat.update': {
        const message = this.messages.find((m) => m.channel === params.channel && m.ts === params.ts);
        if (!message) return error('message_not_found');
        message.edits.push({ text: message.text, blocks: message.blocks });
        message.text = String(params.text ?? '');
        message.blocks = parseJson(params.blocks);
        return ok({ channel: message.channel, ts: message.ts, text: message.text });
      }
      case 'views.open':
      case 'views.publish':
      case 'views.update':
        if (method === 'views.open' && !params.trigger_id) return error('invalid_trigger_id');
        this.views.push({ method, view: parseJson(params.view), user_id: params.user_id as string | undefined, trigger_id: params.trigger_id as string | undefined });
        return ok({ view: { id: `V0${this.views.length}`, ...(parseJson(params.view) as object) } });
      default:
        return error('unknown_method');
    }
  }

  /** Serves the fake over HTTP on 127.0.0.1; `url` becomes its Web API base. */
  async listen(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'http://fake').pathname;
        const text = Buffer.concat(chunks).toString('utf8');
        const params = parseBody(text, req.headers['content-type']);
        const reply = path.startsWith('/response/') ? this.#respond(path.slice('/response/'.length), params) : this.handle(path.replace(/^\/api\//, ''), params, req.headers.authorization);
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as { port: number };
    this.url = `http://127.0.0.1:${port}/api/`;
    this.responseBase = `http://127.0.0.1:${port}/response`;
    return this;
  }

  /** Mounts the fake under nock for slack.com's Web API and hooks.slack.com's response_url. */
  intercept(): this {
    nock('https://slack.com')
      .persist()
      .post(/^\/api\/.+/)
      .reply(async (request: unknown) => {
        // nock 15 hands a reply function the intercepted fetch Request (one argument).
        const req = request as { url: string; headers: Headers; text(): Promise<string> };
        const reply = this.handle(new URL(req.url).pathname.replace(/^\/api\//, ''), parseBody(await req.text(), req.headers.get('content-type') ?? undefined), req.headers.get('authorization') ?? undefined);
        return [reply.status, reply.body, reply.headers ?? {}];
      });
    nock('https://hooks.slack.com')
      .persist()
      .post(/^\/actions\/.+/)
      .reply(async (request: unknown) => {
        const req = request as { url: string; headers: Headers; text(): Promise<string> };
        const reply = this.#respond(new URL(req.url).pathname.slice('/actions/'.length), parseBody(await req.text(), req.headers.get('content-type') ?? undefined));
        return [reply.status, reply.body];
      });
    return this;
  }

  #respond(id: string, body: Record<string, unknown>): Reply {
    this.responses.push({ id, body });
    return { status: 200, body: { ok: true } };
  }

  async stop(): Promise<void> {
    if (this.#server) await new Promise((resolve) => this.#server!.close(resolve));
    nock.cleanAll();
  }
}

function parseJson(value: unknown): unknown[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return (typeof value === 'string' ? JSON.parse(value) : value) as unknown[];
}

/** @slack/web-api sends form bodies (JSON-encoding nested values); response_url gets JSON. */
function parseBody(text: string, contentType: string | undefined): Record<string, unknown> {
  if (text === '') return {};
  if (contentType?.includes('application/json')) return JSON.parse(text) as Record<string, unknown>;
  return Object.fromEntries(new URLSearchParams(text));
}
