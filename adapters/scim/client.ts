/**
 * The only file that talks HTTP. SCIM 2.0 is a protocol, not a vendor, so there is no SDK: this
 * is a small RFC 7644 client over Node's fetch. Each call is made once (no retries, no waiting
 * out a 429: the orchestrator's queue is the one layer that retries) with a timeout.
 */
import { PageGuard } from '../types.js';
import { type ScimGroupShape, type ScimUserShape } from './mapping.js';

export interface ScimAppConfig {
  /** The app's SCIM base URL, e.g. `https://www.figma.com/scim/v2/<tenant>`; /Users and /Groups hang off it. */
  url: string;
  /** The bearer token the app issued for SCIM (RFC 7644 §2: OAuth bearer, RFC 6750). */
  token: string;
  /** Longest one request may take before it fails as retryable. Default 10 s. */
  timeoutMs?: number;
  /** The orchestrator's starting rate for this app; SCIM publishes none. Default 60/min. */
  requestsPerMinute?: number;
  /** What people see, e.g. `Figma`. Default: the app name. */
  displayName?: string;
}

/** A SCIM answer other than 2xx: status, headers, and the RFC 7644 §3.12 error body when there is one. */
export class ScimHttpError extends Error {
  readonly status: number;
  readonly headers: Headers;
  readonly scimType: string | undefined;
  readonly detail: string | undefined;
  constructor(status: number, headers: Headers, body: unknown, what: string) {
    const b = (body && typeof body === 'object' ? body : {}) as { scimType?: unknown; detail?: unknown };
    const scimType = typeof b.scimType === 'string' ? b.scimType : undefined;
    const detail = typeof b.detail === 'string' ? b.detail : typeof body === 'string' && body !== '' ? body.slice(0, 300) : undefined;
    super(`${what}: HTTP ${status}${scimType ? ` ${scimType}` : ''}${detail ? `: ${detail}` : ''}`);
    this.name = 'ScimHttpError';
    this.status = status;
    this.headers = headers;
    this.scimType = scimType;
    this.detail = detail;
  }
}

/** What the adapter needs from a SCIM service provider, in RFC 7643 shapes. */
export interface ScimApi {
  /** GET /Users[?filter=…], every page (RFC 7644 §3.4.2, §3.4.2.4). */
  users(filter?: string): AsyncIterable<ScimUserShape>;
  /** GET /Users/{id}; null on 404. */
  getUser(id: string): Promise<ScimUserShape | null>;
  /** POST /Users (RFC 7644 §3.3). */
  createUser(body: Record<string, unknown>): Promise<ScimUserShape>;
  /** PATCH /Users/{id} (RFC 7644 §3.5.2). */
  patchUser(id: string, body: Record<string, unknown>): Promise<void>;
  /** DELETE /Users/{id} (RFC 7644 §3.6); `absent` on 404. */
  deleteUser(id: string): Promise<'deleted' | 'absent'>;
  /** GET /Groups?filter=…&excludedAttributes=members, every page (RFC 7644 §3.4.2.5). */
  groups(filter: string): AsyncIterable<ScimGroupShape>;
  /** GET /Groups, every page, members included. */
  allGroups(): AsyncIterable<ScimGroupShape>;
  /** GET /Groups/{id}, with its members unless `members: false` (excludedAttributes=members); null on 404. */
  getGroup(id: string, options?: { members?: boolean }): Promise<ScimGroupShape | null>;
  /** PATCH /Groups/{id}. */
  patchGroup(id: string, body: Record<string, unknown>): Promise<void>;
}

/** Asked for per page; RFC 7644 §3.4.2.4 lets the app return fewer, and the loop follows what it returns. */
const PAGE = 100;

export function createScimApi(config: ScimAppConfig): ScimApi {
  const base = config.url.replace(/\/+$/, '');
  const timeoutMs = config.timeoutMs ?? 10_000;

  async function request(method: string, path: string, what: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const signal = AbortSignal.timeout(timeoutMs);
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${config.token}`,
        // RFC 7644 §3.1 / §8.1: application/scim+json, with plain JSON accepted from apps that send it.
        accept: 'application/scim+json, application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/scim+json; charset=utf-8' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const text = await response.text();
    let json: unknown = null;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
    }
    if (!response.ok) throw new ScimHttpError(response.status, response.headers, json, what);
    return { status: response.status, json };
  }

  const notFound = (error: unknown) => error instanceof ScimHttpError && error.status === 404;
  const id = (value: string) => encodeURIComponent(value);

  /** RFC 7644 §3.4.2.4: 1-based startIndex, `count` per page, until totalResults is reached or a page comes back empty. */
  async function* pages<T>(path: string, params: Record<string, string>, what: string): AsyncIterable<T> {
    // The next startIndex follows the one the app says it answered: an app that ignores startIndex
    // (the same page, an endless totalResults) does not advance, and PageGuard ends the listing
    // with a permanent error, as it does past 10,000 pages (issue 27).
    const guard = new PageGuard('scim', `GET ${path}`);
    let startIndex = 1;
    guard.advance(startIndex);
    const seen = new Set<string>();
    for (;;) {
      const query = Object.entries({ ...params, startIndex: String(startIndex), count: String(PAGE) })
        .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
        .join('&');
      const { json } = await request('GET', `${path}?${query}`, what);
      const page = (json ?? {}) as { totalResults?: number; startIndex?: number; Resources?: T[] };
      const resources = Array.isArray(page.Resources) ? page.Resources : [];
      for (const resource of resources) {
        // An app that ignores startIndex would hand back the same page again: never yield twice.
        const key = (resource as { id?: string }).id;
        if (key !== undefined) {
          if (seen.has(key)) continue;
          seen.add(key);
        }
        yield resource;
      }
      startIndex = (typeof page.startIndex === 'number' ? page.startIndex : startIndex) + resources.length;
      const total = typeof page.totalResults === 'number' ? page.totalResults : 0;
      if (resources.length === 0 || startIndex > total) return;
      guard.advance(startIndex);
    }
  }

  return {
    users(filter) {
      return pages<ScimUserShape>('/Users', filter === undefined ? {} : { filter }, filter === undefined ? 'list users' : `find users where ${filter}`);
    },
    async getUser(userId) {
      try {
        return (await request('GET', `/Users/${id(userId)}`, `read user ${userId}`)).json as ScimUserShape;
      } catch (error) {
        if (notFound(error)) return null;
        throw error;
      }
    },
    async createUser(body) {
      return (await request('POST', '/Users', `create user ${String(body.userName)}`, body)).json as ScimUserShape;
    },
    async patchUser(userId, body) {
      await request('PATCH', `/Users/${id(userId)}`, `update user ${userId}`, body);
    },
    async deleteUser(userId) {
      try {
        await request('DELETE', `/Users/${id(userId)}`, `delete user ${userId}`);
        return 'deleted';
      } catch (error) {
        if (notFound(error)) return 'absent';
        throw error;
      }
    },
    groups(filter) {
      return pages<ScimGroupShape>('/Groups', { filter, excludedAttributes: 'members' }, `find groups where ${filter}`);
    },
    allGroups() {
      return pages<ScimGroupShape>('/Groups', {}, 'list groups');
    },
    async getGroup(groupId, options) {
      const query = options?.members === false ? '?excludedAttributes=members' : '';
      try {
        return (await request('GET', `/Groups/${id(groupId)}${query}`, `read group ${groupId}`)).json as ScimGroupShape;
      } catch (error) {
        if (notFound(error)) return null;
        throw error;
      }
    },
    async patchGroup(groupId, body) {
      await request('PATCH', `/Groups/${id(groupId)}`, `update group ${groupId}`, body);
    },
  };
}
