/**
 * A stateful fake of the GitLab REST API (v4) calls the adapter makes, served through nock.
 * Shapes follow GitLab's documentation:
 * - Members: https://docs.gitlab.com/ee/api/members.html — `GET /groups|projects/:id/members`
 *   (direct), `…/members/all` (with inherited: one entry per user, the highest access_level),
 *   `GET …/members[/all]/:user_id`, `POST …/members` (user_id, access_level, expires_at
 *   YYYY-MM-DD), `PUT …/members/:user_id`, `DELETE …/members/:user_id` (204); `:id` is the
 *   URL-encoded full path. A direct role below an inherited one is refused with 400, as
 *   GitLab's member validation does ("should be greater than or equal to … inherited membership").
 * - Users: https://docs.gitlab.com/ee/api/users.html — `GET /users?username=` and `?search=`
 *   (arrays; an admin sees `email`), `GET /users/:id`, `POST /users` (201; admin only, 403
 *   otherwise; 409 "Email has already been taken" / "Username has already been taken"), and
 *   https://docs.gitlab.com/ee/api/user_moderation.html — `POST /users/:id/block|unblock|activate|approve` (201).
 * - Pagination: https://docs.gitlab.com/ee/api/rest/index.html#pagination — `page`/`per_page`,
 *   `x-page`, `x-per-page`, `x-total`, `x-total-pages`, `x-next-page` (empty on the last page),
 *   `x-prev-page` and a `Link` header.
 * - Errors: `{"message": …}` bodies ("404 Not found", "401 Unauthorized", "403 Forbidden");
 *   a rate limit answers 429 with the plain-text body "Retry later" and `Retry-After`,
 *   `RateLimit-Limit|Observed|Remaining|Reset|ResetTime` headers
 *   (https://docs.gitlab.com/ee/administration/settings/user_and_ip_rate_limits.html#response-headers).
 *   Every response carries `X-Request-Id`.
 */
import nock from 'nock';

export type GitLabFault = '429' | '500' | 'timeout' | '401' | '403' | '404';
type Reply = [number, string, Record<string, string>];

export interface FakeUser {
  id: number;
  username: string;
  name: string;
  email: string;
  state: string;
}

interface Membership {
  access_level: number;
  expires_at: string | null;
}

const ROLE_NAMES: Record<number, string> = { 10: 'Guest', 20: 'Reporter', 30: 'Developer', 40: 'Maintainer', 50: 'Owner' };

export class FakeGitLab {
  readonly users = new Map<number, FakeUser>();
  readonly groups = new Set<string>();
  readonly projects = new Set<string>();
  /** `groups/<path>` or `projects/<path>` → user id → membership */
  readonly members = new Map<string, Map<number, Membership>>();
  readonly requests: string[] = [];
  /** False stands for GitLab.com, where no token may create users. */
  admin = true;
  pageSize: number;
  stallMs = 3_000;
  readonly origin: string;
  #faults: { fault: GitLabFault; retryAfterMs: number; onlyMethod?: string }[] = [];
  #seq = 100;
  #requestSeq = 0;

  constructor(origin = 'https://gitlab.example.com', pageSize = 2) {
    this.origin = origin;
    this.pageSize = pageSize;
  }

  /** When set, every list answers this `x-next-page`, whatever page was asked for (a broken or hostile endpoint). */
  stuckNextPage: string | undefined;

  addUser(username: string, email: string, state = 'active', name = username): FakeUser {
    const user = { id: ++this.#seq, username, name, email, state };
    this.users.set(user.id, user);
    return user;
  }
  addGroup(path: string): void {
    this.groups.add(path);
    this.members.set(`groups/${path}`, new Map());
  }
  addProject(path: string): void {
    this.projects.add(path);
    this.members.set(`projects/${path}`, new Map());
  }
  setMember(kind: 'groups' | 'projects', path: string, userId: number, accessLevel: number, expiresAt: string | null = null): void {
    this.members.get(`${kind}/${path}`)!.set(userId, { access_level: accessLevel, expires_at: expiresAt });
  }
  direct(kind: 'groups' | 'projects', path: string, userId: number): Membership | undefined {
    return this.members.get(`${kind}/${path}`)?.get(userId);
  }
  failNext(fault: GitLabFault, retryAfterMs = 1000, onlyMethod?: string): void {
    this.#faults.push({ fault, retryAfterMs, onlyMethod });
  }

  start(): this {
    const scope = nock(this.origin).persist();
    for (const method of ['GET', 'PUT', 'DELETE', 'POST']) {
      scope.intercept(/.*/, method).reply(async (request: unknown) => {
        // nock 15 passes the intercepted fetch Request as the only argument.
        const req = request as { url: string; text(): Promise<string> };
        const text = await req.text();
        return this.#handle(method, req.url, text ? (JSON.parse(text) as Record<string, unknown>) : {});
      });
    }
    return this;
  }

  stop(): void {
    nock.cleanAll();
  }

  #json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
    return [status, JSON.stringify(body), { 'content-type': 'application/json', 'x-request-id': `01FAKE${++this.#requestSeq}`, ...headers }];
  }

  #user(u: FakeUser) {
    // The admin view (docs.gitlab.com/ee/api/users.html#for-administrators): email is included.
    return { id: u.id, username: u.username, name: u.name, state: u.state, locked: false, avatar_url: null, web_url: `${this.origin}/${u.username}`, created_at: '2026-01-05T09:00:00.000Z', email: u.email, public_email: null, is_admin: false };
  }

  #member(userId: number, m: Membership) {
    const u = this.users.get(userId)!;
    return { id: u.id, username: u.username, name: u.name, state: u.state, avatar_url: null, web_url: `${this.origin}/${u.username}`, access_level: m.access_level, created_at: '2026-01-05T09:00:00.000Z', expires_at: m.expires_at, group_saml_identity: null, membership_state: 'active' };
  }

  #page(url: URL, items: unknown[]): Reply {
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
    const size = Math.min(Number(url.searchParams.get('per_page') ?? 20), this.pageSize);
    const pages = Math.max(1, Math.ceil(items.length / size));
    const link = (p: number, rel: string) => {
      const u = new URL(url);
      u.searchParams.set('page', String(p));
      return `<${u.toString()}>; rel="${rel}"`;
    };
    const links = [...(page < pages ? [link(page + 1, 'next')] : []), ...(page > 1 ? [link(page - 1, 'prev')] : []), link(1, 'first'), link(pages, 'last')];
    return this.#json(200, items.slice((page - 1) * size, page * size), {
      'x-page': String(page),
      'x-per-page': String(size),
      'x-total': String(items.length),
      'x-total-pages': String(pages),
      'x-next-page': this.stuckNextPage ?? (page < pages ? String(page + 1) : ''),
      'x-prev-page': page > 1 ? String(page - 1) : '',
      link: links.join(', '),
    });
  }

  /** The groups a group or project inherits from, nearest first. */
  #ancestors(path: string): string[] {
    const s = path.split('/');
    const out: string[] = [];
    for (let i = s.length - 1; i >= 1; i--) out.push(s.slice(0, i).join('/'));
    return out.filter((g) => this.groups.has(g));
  }

  /** The highest inherited membership (from ancestor groups), not counting the source's own. */
  #inherited(path: string, userId: number): { group: string; m: Membership } | null {
    let best: { group: string; m: Membership } | null = null;
    for (const group of this.#ancestors(path)) {
      const m = this.members.get(`groups/${group}`)!.get(userId);
      if (m && (!best || m.access_level > best.m.access_level)) best = { group, m };
    }
    return best;
  }

  #handle(method: string, href: string, body: Record<string, unknown>): Reply | Promise<Reply> {
    const url = new URL(href);
    this.requests.push(`${method} ${url.pathname}${url.search}`);
    const i = this.#faults.findIndex((f) => !f.onlyMethod || f.onlyMethod === method);
    if (i >= 0) {
      const [{ fault, retryAfterMs }] = this.#faults.splice(i, 1) as [{ fault: GitLabFault; retryAfterMs: number }];
      const resetAt = Date.now() + retryAfterMs;
      if (fault === '429') {
        return [429, 'Retry later\n', {
          'content-type': 'text/plain',
          'retry-after': String(Math.ceil(retryAfterMs / 1000)),
          'ratelimit-name': 'throttle_authenticated_api',
          'ratelimit-limit': '2000',
          'ratelimit-observed': '2001',
          'ratelimit-remaining': '0',
          'ratelimit-reset': String(Math.ceil(resetAt / 1000)),
          'ratelimit-resettime': new Date(resetAt).toUTCString(),
        }];
      }
      if (fault === '500') return this.#json(500, { message: '500 Internal Server Error' });
      if (fault === '401') return this.#json(401, { message: '401 Unauthorized' });
      if (fault === '403') return this.#json(403, { message: '403 Forbidden' });
      if (fault === '404') return this.#json(404, { message: '404 Not found' });
      return new Promise((resolve) => setTimeout(() => resolve(this.#json(502, { message: '502 Bad Gateway' })), this.stallMs));
    }
    if (!url.pathname.startsWith('/api/v4/')) return this.#json(404, { error: '404 Not Found' });
    const p = url.pathname.slice('/api/v4/'.length).split('/').map(decodeURIComponent);

    if (p[0] === 'users') return this.#users(method, url, p, body);
    if ((p[0] === 'groups' || p[0] === 'projects') && p[2] === 'members') return this.#members(method, url, p as [string, string, string, ...string[]], body);
    return this.#json(404, { error: '404 Not Found' });
  }

  #users(method: string, url: URL, p: string[], body: Record<string, unknown>): Reply {
    const userNotFound = this.#json(404, { message: '404 User Not Found' });
    if (p.length === 1 && method === 'GET') {
      let found = [...this.users.values()];
      const username = url.searchParams.get('username');
      const search = url.searchParams.get('search');
      if (username !== null) found = found.filter((u) => u.username.toLowerCase() === username.toLowerCase());
      if (search !== null) {
        const s = search.toLowerCase();
        // Search matches name and username in part, and email exactly (admins).
        found = found.filter((u) => u.name.toLowerCase().includes(s) || u.username.toLowerCase().includes(s) || u.email.toLowerCase() === s);
      }
      return this.#page(url, found.map((u) => this.#user(u)));
    }
    if (p.length === 1 && method === 'POST') {
      if (!this.admin) return this.#json(403, { message: '403 Forbidden' });
      const username = String(body.username ?? '');
      const email = String(body.email ?? '');
      if (!body.name || !username || !email) return this.#json(400, { error: 'name, username, email are missing' });
      if (!body.password && !body.reset_password && !body.force_random_password) return this.#json(400, { error: 'password, reset_password, force_random_password are missing, at least one parameter must be provided' });
      if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$/.test(username) || /\.(git|atom)$/.test(username)) {
        return this.#json(400, { message: { username: ["can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or end in '.', '.git' or '.atom'."] } });
      }
      const all = [...this.users.values()];
      if (all.some((u) => u.email.toLowerCase() === email.toLowerCase())) return this.#json(409, { message: 'Email has already been taken' });
      if (all.some((u) => u.username.toLowerCase() === username.toLowerCase())) return this.#json(409, { message: 'Username has already been taken' });
      const user = this.addUser(username, email, 'active', String(body.name));
      return this.#json(201, this.#user(user));
    }
    const user = this.users.get(Number(p[1]));
    if (!user) return userNotFound;
    if (p.length === 2 && method === 'GET') return this.#json(200, this.#user(user));
    if (p.length === 3 && method === 'POST') {
      if (!this.admin) return this.#json(403, { message: '403 Forbidden' });
      if (p[2] === 'block') {
        if (user.state === 'ldap_blocked') return this.#json(403, { message: '403 Forbidden - LDAP blocked users cannot be modified by the API' });
        user.state = 'blocked';
        return this.#json(201, true);
      }
      if (p[2] === 'unblock') {
        if (user.state === 'ldap_blocked') return this.#json(403, { message: '403 Forbidden - LDAP blocked users cannot be unblocked by the API' });
        user.state = 'active';
        return this.#json(201, true);
      }
      if (p[2] === 'activate') {
        if (user.state === 'blocked') return this.#json(403, { message: '403 Forbidden - A blocked user must be unblocked to be activated' });
        user.state = 'active';
        return this.#json(201, true);
      }
      if (p[2] === 'approve') {
        if (user.state !== 'blocked_pending_approval') return this.#json(409, { message: 'The user you are trying to approve is not pending approval' });
        user.state = 'active';
        return this.#json(201, { message: 'Success' });
      }
    }
    return this.#json(404, { error: '404 Not Found' });
  }

  #members(method: string, url: URL, p: [string, string, string, ...string[]], body: Record<string, unknown>): Reply {
    const kind = p[0] as 'groups' | 'projects';
    const path = p[1];
    const direct = this.members.get(`${kind}/${path}`);
    if (!direct) return this.#json(404, { message: kind === 'groups' ? '404 Group Not Found' : '404 Project Not Found' });
    const notFound = this.#json(404, { message: '404 Not found' });
    const inherited = p[3] === 'all';
    const rest = p.slice(inherited ? 4 : 3);
    /** Everyone with access, each at their highest level (direct or inherited). */
    const effective = () => {
      const out = new Map<number, Membership>();
      for (const group of [...this.#ancestors(path).reverse()]) {
        for (const [id, m] of this.members.get(`groups/${group}`)!) if (!out.has(id) || out.get(id)!.access_level < m.access_level) out.set(id, m);
      }
      for (const [id, m] of direct) if (!out.has(id) || out.get(id)!.access_level < m.access_level) out.set(id, m);
      return out;
    };
    if (rest.length === 0 && method === 'GET') {
      const source = inherited ? effective() : direct;
      return this.#page(url, [...source].sort(([a], [b]) => a - b).map(([id, m]) => this.#member(id, m)));
    }
    if (rest.length === 1 && method === 'GET') {
      const id = Number(rest[0]);
      const m = inherited ? effective().get(id) : direct.get(id);
      return m ? this.#json(200, this.#member(id, m)) : notFound;
    }
    if (inherited) return notFound;
    const write = (id: number, existing: Membership | undefined): Reply => {
      const level = Number(body.access_level);
      if (![10, 20, 30, 40, 50].includes(level)) return this.#json(400, { message: { access_level: ['is not included in the list'] } });
      const expires = body.expires_at === undefined ? (existing?.expires_at ?? null) : (body.expires_at as string | null);
      if (expires !== null && !/^\d{4}-\d{2}-\d{2}$/.test(expires)) return this.#json(400, { message: { expires_at: ['is invalid'] } });
      const from = this.#inherited(path, id);
      if (from && from.m.access_level > level) {
        return this.#json(400, { message: { access_level: [`should be greater than or equal to ${ROLE_NAMES[from.m.access_level]} inherited membership from group ${from.group}`] } });
      }
      const m = { access_level: level, expires_at: expires };
      direct.set(id, m);
      return this.#json(existing ? 200 : 201, this.#member(id, m));
    };
    if (rest.length === 0 && method === 'POST') {
      const id = Number(body.user_id);
      if (!this.users.has(id)) return this.#json(404, { message: '404 User Not Found' });
      if (direct.has(id)) return this.#json(409, { message: 'Member already exists' });
      return write(id, undefined);
    }
    if (rest.length === 1) {
      const id = Number(rest[0]);
      if (method === 'PUT') return direct.has(id) ? write(id, direct.get(id)) : notFound;
      if (method === 'DELETE') {
        if (!direct.delete(id)) return notFound;
        return [204, '', { 'x-request-id': `01FAKE${++this.#requestSeq}` }];
      }
    }
    return this.#json(404, { error: '404 Not Found' });
  }
}
