/**
 * A stateful fake of an RFC 7644 SCIM 2.0 service provider (one app, at one base URL), served
 * through nock. Shapes follow the RFCs (https://www.rfc-editor.org/rfc/rfc7644,
 * https://www.rfc-editor.org/rfc/rfc7643):
 * - RFC 7643 §4.1 / §8.2 User (userName, externalId, name, emails, active, read-only `groups`
 *   with value/display/type, meta) and §4.2 / §8.4 Group (displayName, members value/$ref/display/type).
 * - RFC 7644 §3.3 POST create (201, 409 `uniqueness`), §3.4.1 GET by id, §3.4.2 query with
 *   §3.4.2.2 filters (`attr eq <JSON value>`; attribute names and operators case-insensitive;
 *   userName and displayName not caseExact, externalId and id caseExact), §3.4.2.4 pagination
 *   (1-based startIndex, count, ListResponse with totalResults/startIndex/itemsPerPage/Resources;
 *   the provider may return fewer than `count`), §3.4.2.5 excludedAttributes, §3.5.2 PATCH with
 *   the PatchOp schema (add, remove with a `members[value eq "…"]` value filter, replace, with or
 *   without `path`), answering 200 with the resource or 204, §3.6 DELETE (204, then 404).
 * - RFC 7644 §3.12 errors: {"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],
 *   "status":"409","scimType":"uniqueness","detail":…}, status as a string.
 * - RFC 7644 §2 bearer authentication: 401 without the app's token.
 * - 429 with Retry-After in seconds (RFC 6585 §4; RFC 7231 §7.1.3): SCIM names no rate limit, apps
 *   that publish one (Figma, Zoom, Notion SCIM) answer 429 with Retry-After.
 * Real apps differ in what they support; the options choose between the two common behaviours.
 */
import nock from 'nock';

export type ScimFault = '429' | '500' | 'timeout' | '401' | '403' | '404' | '400-noTarget' | '400-invalidValue';
type Reply = [number, unknown, Record<string, string>];

export interface FakeScimOptions {
  /** The app's SCIM base URL, e.g. https://www.figma.com/scim/v2/acme. */
  base: string;
  /** The bearer token it accepts. */
  token: string;
  /** Most resources per list page, whatever `count` asks (RFC 7644 §3.4.2.4 allows fewer). Default 3. */
  pageSize?: number;
  /** Users carry the read-only `groups` attribute (RFC 7643 §4.1.2). Default true. */
  userGroups?: boolean;
  /** Attributes the app can filter on; others answer 400 invalidFilter. Default all the adapter uses. */
  filterable?: string[];
  /** PATCH answers 200 with the resource, or 204 No Content (RFC 7644 §3.5.2 allows either). Default 200. */
  patchStatus?: 200 | 204;
  /** The user's `groups` entries carry `display` (RFC 7643 §4.1.2 makes it optional). Default true. */
  groupsDisplay?: boolean;
  /** Attributes whose filter the app silently ignores, answering with everything (a broken app; see find()). */
  ignoresFilterOn?: string[];
}

interface User {
  id: string;
  userName: string;
  externalId: string | null;
  active: boolean;
  name: Record<string, string>;
  displayName: string | null;
  emails: { value: string; primary?: boolean; type?: string }[];
  created: string;
}
interface Group {
  id: string;
  displayName: string;
  members: Set<string>;
}

const SCHEMAS = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
};
const JSON_TYPE = { 'content-type': 'application/scim+json' };

const scimError = (status: number, detail: string, scimType?: string, headers: Record<string, string> = {}): Reply => [
  status,
  { schemas: [SCHEMAS.error], status: String(status), ...(scimType ? { scimType } : {}), detail },
  { ...JSON_TYPE, ...headers },
];

/** RFC 7644 §3.4.2.2, the `attrPath SP "eq" SP compValue` subset, with compValue parsed as JSON (RFC 7159). */
export function parseEqFilter(filter: string): { attribute: string; value: string | number | boolean | null } | null {
  const m = /^([A-Za-z][\w$-]*(?:\.[A-Za-z][\w$-]*)?) [eE][qQ] (.+)$/s.exec(filter);
  if (!m) return null;
  let value: unknown;
  try {
    value = JSON.parse(m[2]!);
  } catch {
    return null;
  }
  if (value !== null && typeof value === 'object') return null;
  return { attribute: m[1]!, value: value as string | number | boolean | null };
}

export class FakeScim {
  readonly base: URL;
  /** The base's path without a trailing slash ('' for a base at the origin's root). */
  readonly basePath: string;
  readonly users = new Map<string, User>();
  readonly groups = new Map<string, Group>();
  /** `METHOD /path?query` relative to the base, as received. */
  readonly requests: string[] = [];
  /** When set, lists answer the first page whatever startIndex asks, and claim a billion results (a broken or hostile app). */
  ignoreStartIndex = false;
  /** Every request with its parsed body, for asserting on what was sent. */
  readonly exchanges: { method: string; path: string; body: unknown }[] = [];
  readonly options: Required<FakeScimOptions>;
  /** How long a `timeout` fault stalls before answering: longer than any client should wait. */
  stallMs = 3_000;
  /** Runs when the next POST /Users arrives, before it is handled (another client racing us). */
  beforeNextCreate: (() => void) | undefined;
  #faults: { fault: ScimFault; retryAfterMs: number; onlyMethod?: string }[] = [];
  #interceptors: nock.Interceptor[] = [];

  constructor(options: FakeScimOptions) {
    this.options = { pageSize: 3, userGroups: true, filterable: ['userName', 'externalId', 'displayName', 'id'], patchStatus: 200, ignoresFilterOn: [], groupsDisplay: true, ...options };
    this.base = new URL(options.base.replace(/\/+$/, ''));
    this.basePath = this.base.pathname.replace(/\/+$/, '');
  }

  addGroup(displayName: string): string {
    const id = crypto.randomUUID();
    this.groups.set(id, { id, displayName, members: new Set() });
    return id;
  }
  /** A user made in the app by someone else (an admin, another provisioning client). */
  addUser(fields: { userName: string; email?: string; externalId?: string | null; active?: boolean }): string {
    const id = crypto.randomUUID();
    this.users.set(id, { id, userName: fields.userName, externalId: fields.externalId ?? null, active: fields.active ?? true, name: {}, displayName: null, emails: [{ value: fields.email ?? fields.userName, primary: true, type: 'work' }], created: new Date().toISOString() });
    return id;
  }
  groupNamed(displayName: string): Group | undefined {
    return [...this.groups.values()].find((g) => g.displayName === displayName);
  }

  /** The next matching request fails as the app would. */
  failNext(fault: ScimFault, retryAfterMs = 1000, onlyMethod?: string): void {
    this.#faults.push({ fault, retryAfterMs, onlyMethod });
  }

  start(): this {
    const scope = nock(this.base.origin).persist();
    const prefix = this.basePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const method of ['GET', 'POST', 'PATCH', 'PUT', 'DELETE']) {
      const interceptor = scope.intercept(new RegExp(`^${prefix}/`), method);
      // nock 15 passes the intercepted fetch Request as the only argument.
      interceptor.reply(async (request: unknown) => {
        const req = request as Request;
        const text = await req.text();
        let body: unknown;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          return scimError(400, 'The request body is not valid JSON.', 'invalidSyntax');
        }
        return this.#handle(method, new URL(req.url), body, req.headers);
      });
      this.#interceptors.push(interceptor);
    }
    return this;
  }

  /** Removes this app's interceptors only: other fakes (other apps) keep answering. */
  stop(): void {
    for (const interceptor of this.#interceptors) nock.removeInterceptor(interceptor);
    this.#interceptors = [];
  }

  #userJson(u: User) {
    const json: Record<string, unknown> = {
      schemas: [SCHEMAS.user],
      id: u.id,
      ...(u.externalId === null ? {} : { externalId: u.externalId }),
      userName: u.userName,
      name: u.name,
      ...(u.displayName === null ? {} : { displayName: u.displayName }),
      emails: u.emails,
      active: u.active,
      meta: { resourceType: 'User', created: u.created, lastModified: u.created, location: `${this.base.origin}${this.basePath}/Users/${u.id}`, version: `W/"${u.created}"` },
    };
    if (this.options.userGroups) {
      json.groups = [...this.groups.values()].filter((g) => g.members.has(u.id)).map((g) => ({ value: g.id, $ref: `${this.base.origin}${this.basePath}/Groups/${g.id}`, ...(this.options.groupsDisplay ? { display: g.displayName } : {}), type: 'direct' }));
    }
    return json;
  }
  #groupJson(g: Group, members = true) {
    return {
      schemas: [SCHEMAS.group],
      id: g.id,
      displayName: g.displayName,
      ...(members ? { members: [...g.members].map((id) => ({ value: id, $ref: `${this.base.origin}${this.basePath}/Users/${id}`, display: this.users.get(id)?.userName, type: 'User' })) } : {}),
      meta: { resourceType: 'Group', location: `${this.base.origin}${this.basePath}/Groups/${g.id}` },
    };
  }

  /** RFC 7644 §3.4.2: the filter, then §3.4.2.4's page of what matches. */
  #list<T>(url: URL, items: T[], attributes: Record<string, (t: T) => unknown>, caseExact: string[], json: (t: T) => unknown): Reply {
    const filter = url.searchParams.get('filter');
    let matching = items;
    if (filter !== null) {
      const parsed = parseEqFilter(filter);
      if (!parsed) return scimError(400, `The filter "${filter}" is invalid or not supported.`, 'invalidFilter');
      const key = Object.keys(attributes).find((a) => a.toLowerCase() === parsed.attribute.toLowerCase());
      if (!key || !this.options.filterable.some((a) => a.toLowerCase() === key.toLowerCase())) return scimError(400, `Filtering on "${parsed.attribute}" is not supported.`, 'invalidFilter');
      if (this.options.ignoresFilterOn.includes(key)) return this.#page(url, items, json);
      const exact = caseExact.includes(key);
      const norm = (v: unknown) => (typeof v === 'string' && !exact ? v.toLowerCase() : v);
      matching = items.filter((t) => norm(attributes[key]!(t)) === norm(parsed.value));
    }
    return this.#page(url, matching, json);
  }

  #page<T>(url: URL, matching: T[], json: (t: T) => unknown): Reply {
    const startIndex = this.ignoreStartIndex ? 1 : Math.max(1, Number(url.searchParams.get('startIndex') ?? 1) || 1);
    const asked = url.searchParams.get('count');
    const count = Math.max(0, Math.min(asked === null ? this.options.pageSize : Number(asked) || 0, this.options.pageSize));
    const page = matching.slice(startIndex - 1, startIndex - 1 + count);
    return [200, { schemas: [SCHEMAS.list], totalResults: this.ignoreStartIndex ? 1_000_000_000 : matching.length, startIndex, itemsPerPage: page.length, Resources: page.map(json) }, JSON_TYPE];
  }

  #patched(json: () => unknown): Reply {
    return this.options.patchStatus === 204 ? [204, '', {}] : [200, json(), JSON_TYPE];
  }

  #stall(reply: Reply): Promise<Reply> {
    return new Promise((resolve) => setTimeout(() => resolve(reply), this.stallMs));
  }

  #handle(method: string, url: URL, body: unknown, headers: Headers): Reply | Promise<Reply> {
    const path = url.pathname.slice(this.basePath.length);
    this.requests.push(`${method} ${path}${url.search}`);
    this.exchanges.push({ method, path, body });
    const faultAt = this.#faults.findIndex((f) => !f.onlyMethod || f.onlyMethod === method);
    if (faultAt >= 0) {
      const [{ fault, retryAfterMs }] = this.#faults.splice(faultAt, 1) as [{ fault: ScimFault; retryAfterMs: number }];
      if (fault === '429') return scimError(429, 'Too many requests.', undefined, { 'retry-after': String(Math.round(retryAfterMs / 1000)), 'x-request-id': 'req-429' });
      if (fault === '500') return scimError(500, 'Internal server error.');
      if (fault === '401') return scimError(401, 'Authorization failure. The authorization header is invalid or missing.');
      if (fault === '403') return scimError(403, 'Operation is not permitted based on the supplied authorization.');
      if (fault === '404') return scimError(404, `Resource ${path} not found.`);
      if (fault === '400-invalidValue') return scimError(400, 'A required value was missing, or the value specified was not compatible with the operation or attribute type.', 'invalidValue');
      if (fault === '400-noTarget') return scimError(400, 'The specified path did not yield an attribute or attribute value that could be operated on.', 'noTarget');
      return this.#stall(scimError(504, 'Gateway timeout.'));
    }
    if (headers.get('authorization') !== `Bearer ${this.options.token}`) return scimError(401, 'Authorization failure. The authorization header is invalid or missing.');

    const [, collection, id, ...rest] = path.split('/');
    if (rest.length > 0) return scimError(404, `Resource ${path} not found.`);
    const excludeMembers = (url.searchParams.get('excludedAttributes') ?? '').split(',').some((a) => a.trim().toLowerCase() === 'members');

    if (collection === 'Users') {
      if (id === undefined && method === 'GET') {
        return this.#list(url, [...this.users.values()], { userName: (u) => u.userName, externalId: (u) => u.externalId, id: (u) => u.id }, ['externalId', 'id'], (u) => this.#userJson(u));
      }
      if (id === undefined && method === 'POST') return this.#createUser(body);
      const user = id === undefined ? undefined : this.users.get(decodeURIComponent(id));
      if (!user) return scimError(404, `Resource ${id} not found.`);
      if (method === 'GET') return [200, this.#userJson(user), JSON_TYPE];
      if (method === 'DELETE') {
        this.users.delete(user.id);
        for (const g of this.groups.values()) g.members.delete(user.id);
        return [204, '', {}];
      }
      if (method === 'PATCH') {
        const { ops, error } = this.#operations(body);
        if (error) return error;
        for (const op of ops) {
          const value = op.path === undefined ? (op.value as Record<string, unknown> | undefined)?.active : op.path.toLowerCase() === 'active' ? op.value : Symbol.for('unsupported');
          if (op.op.toLowerCase() !== 'replace' || typeof value !== 'boolean') return scimError(400, `Operation ${JSON.stringify(op)} is not supported.`, 'invalidPath');
          user.active = value;
        }
        return this.#patched(() => this.#userJson(user));
      }
    }

    if (collection === 'Groups') {
      if (id === undefined && method === 'GET') {
        return this.#list(url, [...this.groups.values()], { displayName: (g) => g.displayName, id: (g) => g.id }, ['id'], (g) => this.#groupJson(g, !excludeMembers));
      }
      const group = id === undefined ? undefined : this.groups.get(decodeURIComponent(id));
      if (!group) return scimError(404, `Resource ${id} not found.`);
      if (method === 'GET') return [200, this.#groupJson(group, !excludeMembers), JSON_TYPE];
      if (method === 'PATCH') {
        const { ops, error } = this.#operations(body);
        if (error) return error;
        for (const op of ops) {
          const kind = op.op.toLowerCase();
          const values = (Array.isArray(op.value) ? op.value : []) as { value?: unknown }[];
          if ((kind === 'add' || kind === 'replace') && op.path?.toLowerCase() === 'members') {
            const ids = values.map((v) => v.value);
            const unknown = ids.find((v) => typeof v !== 'string' || !this.users.has(v));
            if (unknown !== undefined) return scimError(400, `Member ${JSON.stringify(unknown)} is not a user of this app.`, 'invalidValue');
            if (kind === 'replace') group.members.clear();
            for (const v of ids as string[]) group.members.add(v); // RFC 7644 §3.5.2.1: no duplicates
            continue;
          }
          const selected = kind === 'remove' && op.path ? /^members\[(.*)\]$/is.exec(op.path) : null;
          if (selected) {
            const filter = parseEqFilter(selected[1]!);
            if (!filter || filter.attribute.toLowerCase() !== 'value') return scimError(400, `The path "${op.path}" is invalid or not supported.`, 'invalidPath');
            group.members.delete(String(filter.value));
            continue;
          }
          return scimError(400, `Operation ${JSON.stringify(op)} is not supported.`, 'invalidPath');
        }
        return this.#patched(() => this.#groupJson(group));
      }
    }
    return scimError(404, `Resource ${path} not found.`);
  }

  /** RFC 7644 §3.5.2: the PatchOp schema and a non-empty Operations array. */
  #operations(body: unknown): { ops: { op: string; path?: string; value?: unknown }[]; error?: undefined } | { ops?: undefined; error: Reply } {
    const b = (body ?? {}) as { schemas?: unknown; Operations?: unknown };
    if (!Array.isArray(b.schemas) || !b.schemas.includes(SCHEMAS.patch)) return { error: scimError(400, 'The request must use the PatchOp schema.', 'invalidSyntax') };
    if (!Array.isArray(b.Operations) || b.Operations.length === 0) return { error: scimError(400, 'Operations is required.', 'invalidSyntax') };
    for (const op of b.Operations as { op?: unknown }[]) if (typeof op?.op !== 'string') return { error: scimError(400, 'Each operation needs an "op".', 'invalidSyntax') };
    return { ops: b.Operations as { op: string; path?: string; value?: unknown }[] };
  }

  #createUser(body: unknown): Reply {
    this.beforeNextCreate?.();
    this.beforeNextCreate = undefined;
    const b = (body ?? {}) as Record<string, unknown>;
    if (!Array.isArray(b.schemas) || !b.schemas.includes(SCHEMAS.user)) return scimError(400, 'The request must use the User schema.', 'invalidSyntax');
    if (typeof b.userName !== 'string' || b.userName === '') return scimError(400, 'userName is required.', 'invalidValue');
    const emails = Array.isArray(b.emails) ? (b.emails as User['emails']) : [];
    const primary = (emails.find((e) => e.primary) ?? emails[0])?.value?.toLowerCase();
    for (const u of this.users.values()) {
      // userName is unique (RFC 7643 §4.1.1, uniqueness "server"); these apps also key people by email.
      if (u.userName.toLowerCase() === b.userName.toLowerCase()) return scimError(409, `User with userName ${b.userName} already exists.`, 'uniqueness');
      if (primary && u.emails.some((e) => e.value.toLowerCase() === primary)) return scimError(409, `A user with email ${primary} already exists.`, 'uniqueness');
    }
    const id = crypto.randomUUID();
    const user: User = {
      id,
      userName: b.userName,
      externalId: typeof b.externalId === 'string' ? b.externalId : null,
      active: b.active !== false,
      name: (b.name ?? {}) as Record<string, string>,
      displayName: typeof b.displayName === 'string' ? b.displayName : null,
      emails,
      created: new Date().toISOString(),
    };
    this.users.set(id, user);
    return [201, this.#userJson(user), { ...JSON_TYPE, location: `${this.base.origin}${this.basePath}/Users/${id}` }];
  }
}
