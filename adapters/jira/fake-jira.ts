/**
 * A stateful fake of the Jira Cloud platform REST API v3 calls the adapter makes, served through
 * nock. Shapes follow Atlassian's reference, https://developer.atlassian.com/cloud/jira/platform/rest/v3/
 * (and the response schemas jira.js 6 generates from its OpenAPI spec, which the tests enforce
 * with `strictSchemas`):
 * - User search, `GET /rest/api/3/user/search?query=` (api-group-user-search): an array of users
 *   (`accountId`, `accountType`, `emailAddress` unless the user's profile visibility hides it,
 *   `displayName`, `active`). `query` is a prefix match on display name and email. The reference
 *   says it returns active users, yet its own example response lists `"active": false` users;
 *   the fake returns them, so the deactivated-account path is exercised.
 * - Users (api-group-users): `POST /rest/api/3/user` `{emailAddress, products}` → 201 with the
 *   user ("If the user exists and has access to Jira, the operation returns a 201 status. If the
 *   user exists but does not have access to Jira, the operation returns a 400 status");
 *   `GET /rest/api/3/user/groups?accountId=` → `[{name, groupId, self}]`.
 * - Groups (api-group-groups): `POST /rest/api/3/group/user?groupname=` `{accountId}` → 201 with
 *   the group; `DELETE /rest/api/3/group/user?groupname=&accountId=` → 200, empty;
 *   `GET /rest/api/3/group/member?groupname=&startAt=&maxResults=` → a page
 *   `{self, nextPage, maxResults, startAt, total, isLast, values}`. A missing user answers 404
 *   "Specified user does not exist or you do not have required permissions" (as Jira Cloud does,
 *   github.com/fourplusone/terraform-provider-jira/issues/44).
 * - Project roles (api-group-project-roles): `GET /rest/api/3/project/{key}/role` → `{"Developers":
 *   "https://…/rest/api/3/project/{key}/role/10001", …}`; `GET /rest/api/3/project/{key}/role/{id}`
 *   → `{self, name, id, description, actors: [{id, displayName, type: "atlassian-user-role-actor",
 *   actorUser: {accountId}} | {…, type: "atlassian-group-role-actor", name, actorGroup: {name,
 *   displayName, groupId}}], scope}`.
 * - Project role actors (api-group-project-role-actors): `POST /rest/api/3/project/{key}/role/{id}`
 *   `{user: [accountId]}` → the role (400 when the user already acts in it);
 *   `DELETE /rest/api/3/project/{key}/role/{id}?user=` → 204 (404 when they do not).
 * - Errors: `{"errorMessages": [...], "errors": {}}` (rest/v3/intro/#status-codes), with the
 *   request id in `X-AREQUESTID`.
 * - Rate limits (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/): 429 with
 *   `Retry-After` (seconds), `X-RateLimit-Reset` (ISO 8601, `yyyy-MM-ddTHH:mmZ`),
 *   `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `RateLimit-Reason`.
 */
import nock from 'nock';

export type JiraFault = '429' | '500' | 'timeout' | '401' | '403' | '404';
type Reply = [number, unknown, Record<string, string>];

export interface FakeUser {
  accountId: string;
  emailAddress: string;
  displayName: string;
  active: boolean;
  accountType: 'atlassian' | 'app' | 'customer';
  /** Profile visibility hides the email from the API. */
  hideEmail: boolean;
}
interface FakeGroup {
  name: string;
  groupId: string;
  members: Set<string>;
}
interface FakeProject {
  id: string;
  key: string;
  name: string;
  /** role id → actors */
  actors: Map<number, { users: Set<string>; groups: Set<string> }>;
}

/** Jira Cloud's roles are site-wide and shared by every project. */
const DEFAULT_ROLES: [number, string, string][] = [
  [10002, 'Administrators', 'A project role that represents administrators in a project'],
  [10001, 'Developers', 'A project role that represents developers in a project'],
  [10000, 'Users', 'A project role that represents users in a project'],
  [10100, 'Viewers', 'A project role that can view a project'],
];

const JSON_HEADERS = { 'content-type': 'application/json;charset=UTF-8' };

export class FakeJira {
  readonly origin: string;
  readonly users = new Map<string, FakeUser>();
  readonly groups = new Map<string, FakeGroup>();
  readonly projects = new Map<string, FakeProject>();
  readonly roles = new Map<number, { name: string; description: string }>(DEFAULT_ROLES.map(([id, name, description]) => [id, { name, description }]));
  readonly requests: string[] = [];
  /** Called with each request before it is answered: lets a test change state mid-call (a race). */
  onRequest: ((line: string) => void) | undefined;
  /** The Authorization header of the last request (basic auth: email and API token). */
  lastAuthorization: string | null = null;
  pageSize: number;
  /** When set, group member lists answer the first page, not last, whatever startAt was asked (a broken or hostile endpoint). */
  ignoreStartAt = false;
  /** How long a `timeout` fault stalls before answering: longer than any client should wait. */
  stallMs = 3_000;
  #faults: { fault: JiraFault; retryAfterMs: number; onlyMethod?: string }[] = [];
  #seq = 0;

  constructor(origin = 'https://acme.atlassian.net', pageSize = 3) {
    this.origin = origin;
    this.pageSize = pageSize;
  }

  addGroup(name: string): FakeGroup {
    const group = { name, groupId: `${(++this.#seq).toString(16).padStart(8, '0')}-5b5b-4d04-bb32-44d383afc4b2`, members: new Set<string>() };
    this.groups.set(name.toLowerCase(), group);
    return group;
  }
  addProject(key: string, name = key): FakeProject {
    const project = { id: String(10000 + ++this.#seq), key, name, actors: new Map([...this.roles.keys()].map((id) => [id, { users: new Set<string>(), groups: new Set<string>() }])) };
    this.projects.set(key, project);
    return project;
  }
  addUser(emailAddress: string, options: Partial<Omit<FakeUser, 'accountId' | 'emailAddress'>> = {}): FakeUser {
    const accountId = `5b10ac8d82e05b22cc7d${(++this.#seq).toString(16).padStart(4, '0')}`;
    const user: FakeUser = { accountId, emailAddress, displayName: emailAddress.split('@')[0]!, active: true, accountType: 'atlassian', hideEmail: false, ...options };
    this.users.set(accountId, user);
    return user;
  }
  roleId(name: string): number {
    return [...this.roles].find(([, r]) => r.name === name)![0];
  }
  /** Group names of one account, as the fake holds them. */
  groupsOf(accountId: string): string[] {
    return [...this.groups.values()].filter((g) => g.members.has(accountId)).map((g) => g.name);
  }

  /** The next matching request fails like Jira would. */
  failNext(fault: JiraFault, retryAfterMs = 1000, onlyMethod?: string): void {
    this.#faults.push({ fault, retryAfterMs, onlyMethod });
  }

  start(): this {
    const scope = nock(this.origin).persist();
    for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
      scope.intercept(/^\/rest\/api\/3\/.*/, method).reply(async (request: unknown) => {
        // nock 15 passes the intercepted fetch Request as the only argument.
        const req = request as { url: string; headers: Headers; text(): Promise<string> };
        this.lastAuthorization = req.headers.get('authorization');
        const text = await req.text();
        return this.#handle(method, req.url, text === '' ? undefined : JSON.parse(text));
      });
    }
    return this;
  }

  stop(): void {
    nock.cleanAll();
  }

  #avatarUrls(seed: string) {
    const base = `https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/initials/${encodeURIComponent(seed.slice(0, 2).toUpperCase())}-5.png`;
    return { '48x48': `${base}?size=48&s=48`, '24x24': `${base}?size=24&s=24`, '16x16': `${base}?size=16&s=16`, '32x32': `${base}?size=32&s=32` };
  }
  #userJson(u: FakeUser) {
    return {
      self: `${this.origin}/rest/api/3/user?accountId=${u.accountId}`,
      accountId: u.accountId,
      accountType: u.accountType,
      ...(u.hideEmail ? {} : { emailAddress: u.emailAddress }),
      avatarUrls: this.#avatarUrls(u.displayName),
      displayName: u.displayName,
      active: u.active,
      timeZone: 'Europe/London',
      locale: 'en_GB',
    };
  }
  #groupNameJson(g: FakeGroup) {
    return { name: g.name, groupId: g.groupId, self: `${this.origin}/rest/api/3/group?groupId=${g.groupId}` };
  }
  #roleJson(project: FakeProject, id: number) {
    const role = this.roles.get(id)!;
    const actors = project.actors.get(id)!;
    let actorId = 10200;
    const list = [
      ...[...actors.groups].map((name) => {
        const g = this.groups.get(name.toLowerCase())!;
        return { id: ++actorId, displayName: g.name, type: 'atlassian-group-role-actor', name: g.name, actorGroup: { name: g.name, displayName: g.name, groupId: g.groupId } };
      }),
      ...[...actors.users].map((accountId) => ({ id: ++actorId, displayName: this.users.get(accountId)!.displayName, type: 'atlassian-user-role-actor', actorUser: { accountId } })),
    ].sort((a, b) => a.displayName.localeCompare(b.displayName));
    return {
      self: `${this.origin}/rest/api/3/project/${project.key}/role/${id}`,
      name: role.name,
      id,
      description: role.description,
      actors: list,
      scope: { type: 'PROJECT', project: { id: project.id, key: project.key, name: project.name } },
    };
  }

  #error(status: number, ...messages: string[]): Reply {
    return [status, { errorMessages: messages, errors: {} }, { ...JSON_HEADERS, 'x-arequestid': `req-${status}-${this.requests.length}` }];
  }

  #fault(fault: JiraFault, retryAfterMs: number): Reply | Promise<Reply> {
    if (fault === '429') {
      const seconds = Math.round(retryAfterMs / 1000);
      const reset = new Date(Date.now() + retryAfterMs).toISOString().slice(0, 16) + 'Z';
      return [
        429,
        { errorMessages: ['Rate limit exceeded.'], errors: {} },
        { ...JSON_HEADERS, 'retry-after': String(seconds), 'x-ratelimit-reset': reset, 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '0', 'ratelimit-reason': 'jira-burst-based', 'x-arequestid': 'req-429' },
      ];
    }
    if (fault === '500') return this.#error(500, 'Internal server error');
    if (fault === '401') return this.#error(401, 'You are not authenticated. Authentication required to perform this operation.');
    if (fault === '403') return this.#error(403, 'You do not have permission to perform this operation.');
    if (fault === '404') return this.#error(404, 'Specified user does not exist or you do not have required permissions');
    // A timeout: Jira stalls, and answers (a gateway timeout) only after the client gave up.
    return new Promise((resolve) => setTimeout(() => resolve(this.#error(504, 'Gateway Timeout')), this.stallMs));
  }

  #handle(method: string, uri: string, body: unknown): Reply | Promise<Reply> {
    const url = new URL(uri, this.origin);
    this.requests.push(`${method} ${url.pathname}${url.search}`);
    this.onRequest?.(`${method} ${url.pathname}`);
    const faultIndex = this.#faults.findIndex((f) => !f.onlyMethod || f.onlyMethod === method);
    if (faultIndex >= 0) {
      const [{ fault, retryAfterMs }] = this.#faults.splice(faultIndex, 1) as [{ fault: JiraFault; retryAfterMs: number }];
      return this.#fault(fault, retryAfterMs);
    }
    const path = url.pathname.replace(/^\/rest\/api\/3/, '');
    const q = (name: string) => url.searchParams.get(name);
    const noUser = () => this.#error(404, 'Specified user does not exist or you do not have required permissions');

    if (path === '/user/search' && method === 'GET') {
      const query = (q('query') ?? '').toLowerCase();
      if (!query && !q('accountId')) return this.#error(400, "The query parameter 'query' or 'accountId' or 'property' must be provided.");
      const found = [...this.users.values()].filter((u) => (q('accountId') ? u.accountId === q('accountId') : u.displayName.toLowerCase().startsWith(query) || u.emailAddress.toLowerCase().startsWith(query)));
      const startAt = Number(q('startAt') ?? 0);
      return [200, found.slice(startAt, startAt + Number(q('maxResults') ?? 50)).map((u) => this.#userJson(u)), JSON_HEADERS];
    }
    if (path === '/user' && method === 'POST') {
      const { emailAddress, products } = (body ?? {}) as { emailAddress?: string; products?: string[] };
      if (!emailAddress) return [400, { errorMessages: [], errors: { emailAddress: 'You must specify an email address.' } }, JSON_HEADERS];
      if (!Array.isArray(products)) return [400, { errorMessages: [], errors: { products: 'You must specify the products the user has access to.' } }, JSON_HEADERS];
      const existing = [...this.users.values()].find((u) => u.emailAddress.toLowerCase() === emailAddress.toLowerCase());
      if (existing) {
        const hasAccess = this.groupsOf(existing.accountId).some((g) => g.startsWith('jira-'));
        if (!hasAccess || !existing.active) return this.#error(400, 'Cannot create user: a user with this email address exists but does not have access to Jira.');
        return [201, this.#userJson(existing), JSON_HEADERS];
      }
      // Atlassian names an invited account after its email until the person sets a name.
      return [201, this.#userJson(this.addUser(emailAddress)), JSON_HEADERS];
    }
    if (path === '/user/groups' && method === 'GET') {
      const user = this.users.get(q('accountId') ?? '');
      if (!user) return noUser();
      return [200, [...this.groups.values()].filter((g) => g.members.has(user.accountId)).map((g) => this.#groupNameJson(g)), JSON_HEADERS];
    }
    if (path === '/group/user') {
      const group = this.groups.get((q('groupname') ?? '').toLowerCase());
      if (!group) return this.#error(404, `Group not found: ${q('groupname')}`);
      const accountId = method === 'POST' ? (body as { accountId?: string })?.accountId : q('accountId');
      const user = this.users.get(accountId ?? '');
      if (!user) return noUser();
      if (method === 'POST') {
        if (group.members.has(user.accountId)) return this.#error(400, `Cannot add user. User is already a member of '${group.name}'`);
        group.members.add(user.accountId);
        return [201, { ...this.#groupNameJson(group), users: { size: group.members.size, items: [], 'max-results': 50, 'start-index': 0, 'end-index': 0 }, expand: 'users' }, JSON_HEADERS];
      }
      if (method === 'DELETE') {
        if (!group.members.delete(user.accountId)) return noUser();
        return [200, '', {}];
      }
    }
    if (path === '/group/member' && method === 'GET') {
      const group = this.groups.get((q('groupname') ?? '').toLowerCase());
      if (!group) return this.#error(404, `Group not found: ${q('groupname')}`);
      const includeInactive = q('includeInactiveUsers') === 'true';
      const members = [...group.members].map((id) => this.users.get(id)!).filter((u) => includeInactive || u.active);
      const startAt = this.ignoreStartAt ? 0 : Number(q('startAt') ?? 0);
      // Jira caps maxResults (at 50); this fake caps it at its page size, to make pages.
      const maxResults = Math.min(Number(q('maxResults') ?? 50), this.pageSize);
      const values = members.slice(startAt, startAt + maxResults);
      const isLast = !this.ignoreStartAt && startAt + maxResults >= members.length;
      const page = (at: number) => `${this.origin}/rest/api/3/group/member?groupname=${encodeURIComponent(group.name)}&includeInactiveUsers=${includeInactive}&maxResults=${maxResults}&startAt=${at}`;
      return [
        200,
        {
          self: page(startAt),
          ...(isLast ? {} : { nextPage: page(startAt + maxResults) }),
          maxResults,
          startAt,
          total: members.length,
          isLast,
          values: values.map((u) => {
            const { locale: _locale, ...details } = this.#userJson(u);
            return details;
          }),
        },
        JSON_HEADERS,
      ];
    }
    const roleMatch = /^\/project\/([^/]+)\/role(?:\/(\d+))?$/.exec(path);
    if (roleMatch) {
      const project = this.projects.get(decodeURIComponent(roleMatch[1]!));
      if (!project) return this.#error(404, `No project could be found with key '${decodeURIComponent(roleMatch[1]!)}'.`);
      if (!roleMatch[2] && method === 'GET') {
        return [200, Object.fromEntries([...this.roles].map(([id, r]) => [r.name, `${this.origin}/rest/api/3/project/${project.key}/role/${id}`])), JSON_HEADERS];
      }
      const id = Number(roleMatch[2]);
      const actors = project.actors.get(id);
      if (!actors) return this.#error(404, `Can not retrieve a role actor for a null project role.`);
      if (method === 'GET') return [200, this.#roleJson(project, id), JSON_HEADERS];
      if (method === 'POST') {
        const { user = [], group = [] } = (body ?? {}) as { user?: string[]; group?: string[] };
        for (const accountId of user) {
          if (!this.users.has(accountId)) return this.#error(400, `We couldn't find the user with key '${accountId}'.`);
          if (actors.users.has(accountId)) return this.#error(400, `'${accountId}' is already a member of the project role.`);
        }
        for (const accountId of user) actors.users.add(accountId);
        for (const name of group) actors.groups.add(name);
        return [200, this.#roleJson(project, id), JSON_HEADERS];
      }
      if (method === 'DELETE') {
        const accountId = q('user');
        if (accountId && !actors.users.delete(accountId)) return this.#error(404, `The user '${accountId}' is not a member of the project role.`);
        const group = q('group');
        if (group && !actors.groups.delete(group)) return this.#error(404, `The group '${group}' is not a member of the project role.`);
        return [204, '', {}];
      }
    }
    return this.#error(404, `null for uri: ${url.toString()}`);
  }
}
