/**
 * The only file that imports the Jira SDK (jira.js 6, `createCloudClient`, the typed Jira Cloud
 * platform REST API v3). It keeps the SDK's endpoint layer (paths, parameters and the response
 * schemas jira.js generates from Atlassian's OpenAPI spec) and gives it a transport of ours,
 * through the seam the SDK documents: `createCloudClient` takes any `Client`, an object with
 * `sendRequest`. Why not the SDK's own transport (`createClient`, checked in 6.2.0):
 * - it has no request timeout and no way to pass one: it calls the global `fetch` without an
 *   AbortSignal, so a stalled Jira would hold a call for ever;
 * - its errors keep Retry-After but drop every other response header (X-AREQUESTID for
 *   Atlassian support, X-RateLimit-Reset).
 * Its retries are off by default (`retry.maxAttempts` 1, and a 401 is re-tried only under
 * OAuth), so nothing is lost: this transport makes one request per call, with a timeout, and
 * never retries (the orchestrator does, once).
 */
import { createCloudClient } from 'jira.js';
import { PageGuard } from '../types.js';
import type { Client, SendRequestOptions } from 'jira.js/core';

export interface JiraClientConfig {
  /** The site, e.g. https://acme.atlassian.net (JIRA_BASE_URL). */
  baseUrl: string;
  /** The Atlassian account the API token belongs to (JIRA_EMAIL). */
  email: string;
  /** An Atlassian API token of that account (JIRA_API_TOKEN); basic auth. */
  apiToken: string;
  /** Longest one request may take before it fails as retryable. Default 10 s. */
  timeoutMs?: number;
  /**
   * The groups that grant Jira product access (default `['jira-software-users']`): a new account
   * is put in them, suspension takes it out of them, and an account in none of them counts as
   * suspended.
   */
  accessGroups?: string[];
  /** Page size asked of paginated calls (Jira caps it at 50). */
  pageSize?: number;
  /**
   * Fail a response that does not match jira.js's schema of Atlassian's documented shape,
   * instead of using it as it came. For tests, where it proves the fake answers as Jira does.
   */
  strictSchemas?: boolean;
}

/** A Jira answer other than 2xx, with what classify() needs from it. */
export class JiraHttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
  constructor(method: string, path: string, status: number, statusText: string, body: unknown, headers: Headers) {
    super(`${method} ${path}: ${status} ${statusText}`);
    this.name = 'JiraHttpError';
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** A response whose shape is not Atlassian's (strictSchemas only). */
export class JiraSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JiraSchemaError';
  }
}

export interface JiraUserShape {
  accountId?: string;
  accountType?: string;
  emailAddress?: string;
  displayName?: string;
  active?: boolean;
}

export interface JiraRoleActor {
  type?: string;
  displayName?: string;
  actorUser?: { accountId?: string };
  actorGroup?: { name?: string; displayName?: string; groupId?: string };
}

/** What the adapter needs from Jira, in plain shapes. */
export interface JiraApi {
  readonly accessGroups: string[];
  /** `GET /rest/api/3/user/search?query=` (one page of up to 50: a full email matches few). */
  searchUsers(query: string): Promise<JiraUserShape[]>;
  /** `POST /rest/api/3/user` with no products: product access comes from the access groups. */
  createUser(emailAddress: string): Promise<JiraUserShape>;
  /** `GET /rest/api/3/user/groups?accountId=`: group names. */
  userGroups(accountId: string): Promise<string[]>;
  addToGroup(group: string, accountId: string): Promise<void>;
  removeFromGroup(group: string, accountId: string): Promise<void>;
  /** `GET /rest/api/3/group/member?groupname=`, every page (`startAt` until `isLast`). */
  groupMembers(group: string): AsyncIterable<JiraUserShape>;
  /** `GET /rest/api/3/project/{key}/role`: role name → role URL. */
  projectRoles(projectKey: string): Promise<Record<string, string>>;
  /** `GET /rest/api/3/project/{key}/role/{id}`: the role's actors. */
  roleActors(projectKey: string, roleId: number): Promise<JiraRoleActor[]>;
  addRoleUser(projectKey: string, roleId: number, accountId: string): Promise<void>;
  removeRoleUser(projectKey: string, roleId: number, accountId: string): Promise<void>;
}

/** One fetch per call, with a timeout and basic auth; never a retry. */
export function createTransport(config: JiraClientConfig): Client {
  const base = config.baseUrl.replace(/\/+$/, '');
  const authorization = `Basic ${Buffer.from(`${config.email}:${config.apiToken}`, 'utf8').toString('base64')}`;
  const timeoutMs = config.timeoutMs ?? 10_000;
  return {
    async sendRequest<T>(options: SendRequestOptions<T>): Promise<T> {
      const url = new URL(base + (options.url.startsWith('/') ? options.url : `/${options.url}`));
      for (const [key, value] of Object.entries(options.searchParams ?? {})) {
        if (value === undefined || value === null) continue;
        if (Array.isArray(value)) for (const item of value) url.searchParams.append(key, String(item));
        else url.searchParams.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value as string | number | boolean));
      }
      const method = options.method ?? 'GET';
      const hasBody = options.body !== undefined && options.body !== null;
      const response = await fetch(url, {
        method,
        headers: { Accept: 'application/json', Authorization: authorization, ...(hasBody ? { 'Content-Type': 'application/json' } : {}), ...options.headers },
        body: hasBody ? JSON.stringify(options.body) : undefined,
        // Covers the body too: a response that stalls half-way fails the same way.
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      let data: unknown;
      if (text !== '') {
        try {
          data = JSON.parse(text);
        } catch {
          data = text;
        }
      }
      if (!response.ok) throw new JiraHttpError(method, url.pathname, response.status, response.statusText, data, response.headers);
      if (response.status === 204 || data === undefined || !options.schema) return data as T;
      const parsed = options.schema.safeParse(data);
      if (parsed.success) return parsed.data;
      if (config.strictSchemas) {
        throw new JiraSchemaError(`${method} ${url.pathname}: the response is not the shape Atlassian documents: ${parsed.error.message}`);
      }
      // Jira added or changed a field jira.js does not know yet: use the answer as it came.
      return data as T;
    },
  };
}

export function createJiraApi(config: JiraClientConfig): JiraApi {
  const jira = createCloudClient(createTransport(config));
  const pageSize = Math.min(config.pageSize ?? 50, 50);
  const accessGroups = config.accessGroups && config.accessGroups.length > 0 ? [...config.accessGroups] : ['jira-software-users'];

  return {
    accessGroups,
    async searchUsers(query) {
      return (await jira.userSearch.findUsers({ query, maxResults: 50 })) as JiraUserShape[];
    },
    async createUser(emailAddress) {
      return (await jira.users.createUser({ emailAddress, products: [] })) as JiraUserShape;
    },
    async userGroups(accountId) {
      const groups = await jira.users.getUserGroups({ accountId });
      return groups.map((g) => g.name).filter((name): name is string => typeof name === 'string');
    },
    async addToGroup(group, accountId) {
      await jira.groups.addUserToGroup({ groupname: group, accountId });
    },
    async removeFromGroup(group, accountId) {
      await jira.groups.removeUserFromGroup({ groupname: group, accountId });
    },
    async *groupMembers(group) {
      // The next startAt is computed from the startAt Jira says it answered: a Jira that ignores
      // startAt (the same page forever, never isLast) then does not advance, and PageGuard ends
      // the listing with a permanent error, as it does past 10,000 pages (issue 27).
      const guard = new PageGuard('jira', 'GET /rest/api/3/group/member');
      let startAt = 0;
      guard.advance(startAt);
      for (;;) {
        const page = await jira.groups.getUsersFromGroup({ groupname: group, startAt, maxResults: pageSize });
        for (const user of page.values) yield user as JiraUserShape;
        if (page.isLast || page.values.length === 0) return;
        startAt = (page.startAt ?? startAt) + page.values.length;
        guard.advance(startAt);
      }
    },
    async projectRoles(projectKey) {
      return (await jira.projectRoles.getProjectRoles({ projectIdOrKey: projectKey })) as Record<string, string>;
    },
    async roleActors(projectKey, roleId) {
      const role = await jira.projectRoles.getProjectRole({ projectIdOrKey: projectKey, id: roleId });
      return (role.actors ?? []) as JiraRoleActor[];
    },
    async addRoleUser(projectKey, roleId, accountId) {
      await jira.projectRoleActors.addActorUsers({ projectIdOrKey: projectKey, id: roleId, user: [accountId] });
    },
    async removeRoleUser(projectKey, roleId, accountId) {
      await jira.projectRoleActors.deleteActor({ projectIdOrKey: projectKey, id: roleId, user: accountId });
    },
  };
}
