/**
 * A stateful fake of the Admin SDK Directory API calls the adapter makes, and of Google's OAuth
 * token endpoint for the service account's JWT grant, served through nock. Shapes follow:
 * - Users: https://developers.google.com/admin-sdk/directory/reference/rest/v1/users
 * - Members: https://developers.google.com/admin-sdk/directory/reference/rest/v1/members
 *   (members.get answers a direct membership only, 404 "Resource Not Found: memberKey" otherwise)
 * - Groups list by user: https://developers.google.com/admin-sdk/directory/reference/rest/v1/groups/list
 * - Errors and quotas: https://developers.google.com/admin-sdk/directory/v1/limits and
 *   https://cloud.google.com/apis/design/errors (error.code, error.message, error.errors[].reason)
 * - Token: https://developers.google.com/identity/protocols/oauth2/service-account#httprest
 */
import { generateKeyPairSync } from 'node:crypto';
import nock from 'nock';

export type GoogleFault = '429' | '403-quota' | '500' | 'timeout' | '401' | '403' | '404';

interface User {
  id: string;
  primaryEmail: string;
  name: { givenName: string; familyName: string };
  suspended: boolean;
  orgUnitPath: string;
  externalIds: { type: string; value: string }[];
}

const googleError = (code: number, message: string, reason: string, status: string) => ({ error: { code, message, errors: [{ message, domain: code === 403 && reason !== 'forbidden' ? 'usageLimits' : 'global', reason }], status } });

/** A throwaway service account key: the JWT client really signs its assertion with it. */
export function fakeServiceAccountKey(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  return JSON.stringify({ type: 'service_account', client_email: 'gatehouse@acme-iam.iam.gserviceaccount.com', private_key: privateKey, token_uri: 'https://oauth2.googleapis.com/token' });
}

export class FakeGoogle {
  readonly users = new Map<string, User>();
  readonly groups = new Map<string, Set<string>>();
  readonly requests: string[] = [];
  pageSize: number;
  tokenRequests = 0;
  /** How long a `timeout` fault stalls before answering: longer than any client should wait. */
  stallMs = 3_000;
  #faults: { fault: GoogleFault; retryAfterMs: number; onlyMethod?: string }[] = [];
  #seq = 100000;

  constructor(pageSize = 2) {
    this.pageSize = pageSize;
  }

  /** When set, every list answers this nextPageToken, forever (a broken or hostile endpoint). */
  stuckNextPageToken: string | undefined;

  addGroup(email: string): void {
    this.groups.set(email.toLowerCase(), new Set());
  }

  failNext(fault: GoogleFault, retryAfterMs = 1000, onlyMethod?: string): void {
    this.#faults.push({ fault, retryAfterMs, onlyMethod });
  }

  start(): this {
    nock('https://oauth2.googleapis.com')
      .persist()
      .post('/token')
      .reply(() => {
        this.tokenRequests++;
        return [200, { access_token: `ya29.fake-${this.tokenRequests}`, expires_in: 3599, token_type: 'Bearer' }];
      });
    const scope = nock('https://admin.googleapis.com').persist();
    for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
      scope.intercept(/^\/admin\/directory\/v1\/.*/, method).reply(async (request: unknown) => {
        // nock 15 passes the intercepted fetch Request as the only argument.
        const req = request as { url: string; text(): Promise<string>; headers: { get(n: string): string | null } };
        const text = await req.text();
        return this.#handle(method, req.url, text ? JSON.parse(text) : undefined, req.headers.get('authorization'));
      });
    }
    return this;
  }

  stop(): void {
    nock.cleanAll();
  }

  #userJson(u: User) {
    return { kind: 'admin#directory#user', id: u.id, primaryEmail: u.primaryEmail, name: { ...u.name, fullName: `${u.name.givenName} ${u.name.familyName}` }, isAdmin: false, suspended: u.suspended, orgUnitPath: u.orgUnitPath, externalIds: u.externalIds, creationTime: '2026-11-23T00:00:00.000Z' };
  }

  #page<T>(url: URL, items: T[], key: string, kind: string): [number, unknown] {
    const start = Number(url.searchParams.get('pageToken') ?? 0);
    const size = Math.min(Number(url.searchParams.get('maxResults') ?? this.pageSize), this.pageSize);
    const body: Record<string, unknown> = { kind, etag: '"e"', [key]: items.slice(start, start + size) };
    if (start + size < items.length) body.nextPageToken = String(start + size);
    if (this.stuckNextPageToken !== undefined) body.nextPageToken = this.stuckNextPageToken;
    return [200, body];
  }

  #handle(method: string, href: string, body: Record<string, unknown> | undefined, authorization: string | null): [number, unknown, Record<string, string>?] | Promise<[number, unknown]> {
    const url = new URL(href);
    this.requests.push(`${method} ${url.pathname}${url.search}`);
    if (!authorization?.startsWith('Bearer ya29.fake-')) return [401, googleError(401, 'Request had invalid authentication credentials.', 'authError', 'UNAUTHENTICATED')];
    const i = this.#faults.findIndex((f) => !f.onlyMethod || f.onlyMethod === method);
    if (i >= 0) {
      const [{ fault, retryAfterMs }] = this.#faults.splice(i, 1) as [{ fault: GoogleFault; retryAfterMs: number }];
      if (fault === '429') return [429, googleError(429, "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'", 'rateLimitExceeded', 'RESOURCE_EXHAUSTED'), { 'retry-after': String(retryAfterMs / 1000) }];
      if (fault === '403-quota') return [403, googleError(403, 'User Rate Limit Exceeded', 'userRateLimitExceeded', 'PERMISSION_DENIED')];
      if (fault === '500') return [503, googleError(503, 'The service is currently unavailable.', 'backendError', 'UNAVAILABLE')];
      if (fault === '401') return [401, googleError(401, 'Request had invalid authentication credentials.', 'authError', 'UNAUTHENTICATED')];
      if (fault === '403') return [403, googleError(403, 'Not Authorized to access this resource/api', 'forbidden', 'PERMISSION_DENIED')];
      if (fault === '404') return [404, googleError(404, 'Resource Not Found: memberKey', 'notFound', 'NOT_FOUND')];
      // A timeout: Google stalls, and answers only after the client gave up.
      return new Promise((resolve) => setTimeout(() => resolve([504, googleError(504, 'Deadline exceeded', 'backendError', 'DEADLINE_EXCEEDED')]), this.stallMs));
    }
    const parts = url.pathname.split('/').slice(4).map(decodeURIComponent); // after /admin/directory/v1
    const notFound = (what: string): [number, unknown] => [404, googleError(404, `Resource Not Found: ${what}`, 'notFound', 'NOT_FOUND')];
    const user = (key: string) => this.users.get(key) ?? [...this.users.values()].find((u) => u.primaryEmail.toLowerCase() === key.toLowerCase());

    if (parts[0] === 'users') {
      if (parts.length === 1 && method === 'GET') {
        const query = url.searchParams.get('query') ?? '';
        const ext = /^externalId:'((?:[^'\\]|\\.)*)'$/.exec(query);
        const ou = /^orgUnitPath='((?:[^'\\]|\\.)*)'$/.exec(query);
        const users = [...this.users.values()].filter((u) => (ext ? u.externalIds.some((x) => x.value === ext[1]) : ou ? u.orgUnitPath === ou[1] : true));
        return this.#page(url, users.map((u) => this.#userJson(u)), 'users', 'admin#directory#users');
      }
      if (parts.length === 1 && method === 'POST') {
        const b = body as { primaryEmail?: string; name?: { givenName?: string; familyName?: string }; password?: string; externalIds?: User['externalIds'] };
        if (!b.primaryEmail || !b.name?.givenName || !b.name.familyName || !b.password) return [400, googleError(400, 'Invalid Input: primary_user_email', 'invalid', 'INVALID_ARGUMENT')];
        if (user(b.primaryEmail)) return [409, googleError(409, 'Entity already exists.', 'duplicate', 'ALREADY_EXISTS')];
        const u: User = { id: String(++this.#seq), primaryEmail: b.primaryEmail, name: { givenName: b.name.givenName, familyName: b.name.familyName }, suspended: false, orgUnitPath: '/', externalIds: b.externalIds ?? [] };
        this.users.set(u.id, u);
        return [200, this.#userJson(u)];
      }
      const u = user(parts[1]!);
      if (!u) return notFound('userKey');
      if (parts.length === 2 && method === 'GET') return [200, this.#userJson(u)];
      if (parts.length === 2 && method === 'PUT') {
        if (typeof body?.suspended === 'boolean') u.suspended = body.suspended;
        if (typeof body?.orgUnitPath === 'string') u.orgUnitPath = body.orgUnitPath;
        return [200, this.#userJson(u)];
      }
      if (parts[2] === 'signOut' && method === 'POST') return [204, ''];
    }
    if (parts[0] === 'groups') {
      if (parts.length === 1 && method === 'GET') {
        const u = user(url.searchParams.get('userKey') ?? '');
        if (!u) return notFound('userKey');
        const groups = [...this.groups.entries()].filter(([, members]) => members.has(u.id)).map(([email]) => ({ kind: 'admin#directory#group', id: `g-${email}`, email, name: email.split('@')[0] }));
        return this.#page(url, groups, 'groups', 'admin#directory#groups');
      }
      const members = this.groups.get(parts[1]!.toLowerCase());
      if (!members) return notFound('groupKey');
      if (parts[2] === 'members' && parts.length === 3 && method === 'POST') {
        const u = user(String(body?.email ?? ''));
        if (!u) return notFound('memberKey');
        if (members.has(u.id)) return [409, googleError(409, 'Member already exists.', 'duplicate', 'ALREADY_EXISTS')];
        members.add(u.id);
        return [200, { kind: 'admin#directory#member', id: u.id, email: u.primaryEmail, role: 'MEMBER', type: 'USER', status: 'ACTIVE' }];
      }
      if (parts[2] === 'members' && parts.length === 4 && method === 'GET') {
        const u = user(parts[3]!);
        if (!u || !members.has(u.id)) return notFound('memberKey');
        return [200, { kind: 'admin#directory#member', id: u.id, email: u.primaryEmail, role: 'MEMBER', type: 'USER', status: 'ACTIVE' }];
      }
      if (parts[2] === 'members' && parts.length === 3 && method === 'GET') {
        const list = [...members].map((id) => this.users.get(id)!).map((u) => ({ kind: 'admin#directory#member', id: u.id, email: u.primaryEmail, role: 'MEMBER', type: 'USER', status: 'ACTIVE' }));
        return this.#page(url, list, 'members', 'admin#directory#members');
      }
      if (parts[2] === 'members' && parts.length === 4 && method === 'DELETE') {
        const u = user(parts[3]!);
        if (!u || !members.has(u.id)) return notFound('memberKey');
        members.delete(u.id);
        return [204, ''];
      }
    }
    return [404, googleError(404, 'Not Found', 'notFound', 'NOT_FOUND')];
  }
}
