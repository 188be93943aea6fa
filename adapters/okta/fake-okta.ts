/**
 * A stateful fake of the parts of Okta's Management API the adapter uses, served through nock.
 * Shapes follow Okta's API reference:
 * - Users: https://developer.okta.com/docs/reference/api/users/ (user object, search, lifecycle)
 * - Groups: https://developer.okta.com/docs/reference/api/groups/ (group object, membership)
 * - Errors: https://developer.okta.com/docs/reference/error-codes/ (E0000007, E0000011,
 *   E0000006, E0000047)
 * - Pagination: https://developer.okta.com/docs/reference/core-okta-api/#pagination (Link rel=next)
 * - Rate limits: https://developer.okta.com/docs/reference/rl-best-practices/ (X-Rate-Limit-*)
 */
import nock from 'nock';

export type OktaFault = '429' | '500' | 'timeout' | '401' | '403' | '404';

interface User {
  id: string;
  status: string;
  created: string;
  profile: Record<string, string>;
}
interface Group {
  id: string;
  type: 'OKTA_GROUP' | 'BUILT_IN';
  profile: { name: string; description: string | null };
  members: Set<string>;
}

const errorBody = (code: string, summary: string) => ({ errorCode: code, errorSummary: summary, errorLink: code, errorId: `oae${Math.random().toString(36).slice(2, 12)}`, errorCauses: [] });

export class FakeOkta {
  readonly origin: string;
  readonly users = new Map<string, User>();
  readonly groups = new Map<string, Group>();
  readonly requests: string[] = [];
  pageSize: number;
  /** How long a `timeout` fault stalls before answering: longer than any client should wait. */
  stallMs = 3_000;
  #faults: { fault: OktaFault; retryAfterMs: number; onlyMethod?: string }[] = [];
  #seq = 0;
  #scope: nock.Scope | undefined;

  constructor(origin = 'https://acme.okta.example', pageSize = 2) {
    this.origin = origin;
    this.pageSize = pageSize;
    this.addGroup('Everyone', 'BUILT_IN');
  }

  addGroup(name: string, type: Group['type'] = 'OKTA_GROUP'): string {
    const id = `00g${(++this.#seq).toString().padStart(17, '0')}`;
    this.groups.set(id, { id, type, profile: { name, description: null }, members: new Set() });
    return id;
  }

  /** The next matching request fails like Okta would. */
  failNext(fault: OktaFault, retryAfterMs = 1000, onlyMethod?: string): void {
    this.#faults.push({ fault, retryAfterMs, onlyMethod });
  }

  start(): this {
    const scope = nock(this.origin).persist();
    const route = (method: 'get' | 'post' | 'put' | 'delete', path: RegExp) =>
      scope.intercept(path, method.toUpperCase()).reply(async (request: unknown) => {
        // nock 15 hands the reply function the intercepted fetch Request (one argument: a
        // second one would make nock treat it as callback-style).
        const req = request as { url: string; text(): Promise<string> };
        const text = await req.text();
        return this.#handle(method.toUpperCase(), req.url, text === '' ? undefined : JSON.parse(text));
      });
    route('get', /^\/api\/v1\/.*/);
    route('post', /^\/api\/v1\/.*/);
    route('put', /^\/api\/v1\/.*/);
    route('delete', /^\/api\/v1\/.*/);
    this.#scope = scope;
    return this;
  }

  stop(): void {
    this.#scope?.persist(false);
    nock.cleanAll();
  }

  #userJson(u: User) {
    return { id: u.id, status: u.status, created: u.created, activated: u.created, statusChanged: u.created, lastLogin: null, lastUpdated: u.created, passwordChanged: null, type: { id: 'oty1' }, profile: u.profile, credentials: { provider: { type: 'OKTA', name: 'OKTA' } }, _links: { self: { href: `${this.origin}/api/v1/users/${u.id}` } } };
  }
  #groupJson(g: Group) {
    return { id: g.id, created: '2026-01-01T00:00:00.000Z', lastUpdated: '2026-01-01T00:00:00.000Z', lastMembershipUpdated: '2026-01-01T00:00:00.000Z', objectClass: ['okta:user_group'], type: g.type, profile: g.profile, _links: { self: { href: `${this.origin}/api/v1/groups/${g.id}` } } };
  }

  /** One page of `items`, with Okta's Link header to the next. */
  #page<T>(url: URL, items: T[], json: (t: T) => unknown): [number, unknown, Record<string, string>] {
    const after = Number(url.searchParams.get('after') ?? 0);
    const limit = Math.min(Number(url.searchParams.get('limit') ?? this.pageSize), this.pageSize);
    const slice = items.slice(after, after + limit);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (after + limit < items.length) {
      const next = new URL(url);
      next.searchParams.set('after', String(after + limit));
      next.searchParams.set('limit', String(limit));
      headers.link = `<${url.origin}${url.pathname}?${url.searchParams.toString()}>; rel="self", <${next.toString()}>; rel="next"`;
    }
    return [200, slice.map(json), headers];
  }

  #handle(method: string, uri: string, body: unknown): [number, unknown, Record<string, string>] | Promise<[number, unknown, Record<string, string>]> {
    const url = new URL(uri, this.origin);
    this.requests.push(`${method} ${url.pathname}${url.search}`);
    const faultIndex = this.#faults.findIndex((f) => !f.onlyMethod || f.onlyMethod === method);
    if (faultIndex >= 0) {
      const [{ fault, retryAfterMs }] = this.#faults.splice(faultIndex, 1) as [{ fault: OktaFault; retryAfterMs: number }];
      const now = Math.floor(Date.now() / 1000);
      const rate = { 'x-rate-limit-limit': '600', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(now + Math.round(retryAfterMs / 1000)), date: new Date(now * 1000).toUTCString(), 'x-okta-request-id': 'req-429' };
      if (fault === '429') return [429, errorBody('E0000047', 'API call exceeded rate limit due to too many requests.'), { 'content-type': 'application/json', ...rate }];
      if (fault === '500') return [500, errorBody('E0000009', 'Internal Server Error'), { 'content-type': 'application/json' }];
      if (fault === '401') return [401, errorBody('E0000011', 'Invalid token provided'), { 'content-type': 'application/json' }];
      if (fault === '403') return [403, errorBody('E0000006', 'You do not have permission to perform the requested action'), { 'content-type': 'application/json' }];
      if (fault === '404') return [404, errorBody('E0000007', `Not found: Resource not found: ${url.pathname} (GroupMembership)`), { 'content-type': 'application/json' }];
      // A timeout: Okta stalls, and answers (a gateway timeout) only after the client gave up.
      return new Promise((resolve) => setTimeout(() => resolve([504, errorBody('E0000009', 'Gateway Timeout'), { 'content-type': 'application/json' }]), this.stallMs));
    }
    const parts = url.pathname.split('/').slice(3); // after /api/v1
    const json = { 'content-type': 'application/json' };
    const notFound = (what: string): [number, unknown, Record<string, string>] => [404, errorBody('E0000007', `Not found: Resource not found: ${what}`), json];
    const findUser = (key: string) => this.users.get(key) ?? [...this.users.values()].find((u) => u.profile.login?.toLowerCase() === decodeURIComponent(key).toLowerCase());

    if (parts[0] === 'users') {
      if (parts.length === 1 && method === 'GET') {
        const search = url.searchParams.get('search');
        let users = [...this.users.values()].filter((u) => u.status !== 'DEPROVISIONED' || search);
        const m = search ? /^profile\.(\w+) eq "((?:[^"\\]|\\.)*)"$/.exec(search) : null;
        if (search && !m) return [400, errorBody('E0000031', 'Invalid search criteria.'), json];
        if (m) users = users.filter((u) => u.profile[m[1]!] === m[2]!.replace(/\\(.)/g, '$1'));
        return this.#page(url, users, (u) => this.#userJson(u));
      }
      if (parts.length === 1 && method === 'POST') {
        const profile = (body as { profile: Record<string, string> }).profile;
        if (!profile?.login || !profile.firstName || !profile.lastName || !profile.email) {
          return [400, { ...errorBody('E0000001', 'Api validation failed: login'), errorCauses: [{ errorSummary: 'login: The field cannot be left blank' }] }, json];
        }
        if ([...this.users.values()].some((u) => u.profile.login?.toLowerCase() === profile.login!.toLowerCase())) {
          return [400, { ...errorBody('E0000001', 'Api validation failed: login'), errorCauses: [{ errorSummary: 'login: An object with this field already exists in the current organization' }] }, json];
        }
        const id = `00u${(++this.#seq).toString().padStart(17, '0')}`;
        const user = { id, status: url.searchParams.get('activate') === 'false' ? 'STAGED' : 'ACTIVE', created: new Date().toISOString(), profile };
        this.users.set(id, user);
        this.groups.get([...this.groups.values()].find((g) => g.type === 'BUILT_IN')!.id)!.members.add(id);
        return [200, this.#userJson(user), json];
      }
      const user = findUser(parts[1]!);
      if (!user) return notFound(`${parts[1]} (User)`);
      if (parts.length === 2 && method === 'GET') return [200, this.#userJson(user), json];
      if (parts[2] === 'lifecycle' && method === 'POST') {
        const action = parts[3];
        const allowed: Record<string, [string[], string]> = { suspend: [['ACTIVE'], 'SUSPENDED'], unsuspend: [['SUSPENDED'], 'ACTIVE'], activate: [['STAGED', 'PROVISIONED', 'DEPROVISIONED'], 'ACTIVE'], deactivate: [['ACTIVE', 'SUSPENDED', 'STAGED', 'PROVISIONED'], 'DEPROVISIONED'] };
        const rule = allowed[action!];
        if (!rule || !rule[0].includes(user.status)) return [400, errorBody('E0000001', `Api validation failed: Cannot ${action} a user that is ${user.status}`), json];
        user.status = rule[1];
        return [200, {}, json];
      }
      if (parts[2] === 'sessions' && method === 'DELETE') return [204, '', {}];
      if (parts[2] === 'groups' && method === 'GET') {
        return this.#page(url, [...this.groups.values()].filter((g) => g.members.has(user.id)), (g) => this.#groupJson(g));
      }
    }
    if (parts[0] === 'groups') {
      if (parts.length === 1 && method === 'GET') {
        const search = url.searchParams.get('search') ?? '';
        const m = /^profile\.name eq "((?:[^"\\]|\\.)*)"$/.exec(search);
        const groups = [...this.groups.values()].filter((g) => !m || g.profile.name === m[1]!.replace(/\\(.)/g, '$1'));
        return this.#page(url, groups, (g) => this.#groupJson(g));
      }
      const group = this.groups.get(parts[1]!);
      if (!group) return notFound(`${parts[1]} (UserGroup)`);
      if (parts[2] === 'users' && parts.length === 3 && method === 'GET') {
        return this.#page(url, [...group.members].map((id) => this.users.get(id)!), (u) => this.#userJson(u));
      }
      if (parts[2] === 'users' && parts.length === 4) {
        const user = this.users.get(parts[3]!);
        if (!user) return notFound(`${parts[3]} (User)`);
        if (method === 'PUT') group.members.add(user.id);
        else if (method === 'DELETE') group.members.delete(user.id);
        return [204, '', {}];
      }
    }
    return [404, errorBody('E0000022', `The endpoint does not support the provided HTTP method`), json];
  }
}
