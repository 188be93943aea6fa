/**
 * The only file that imports gitbeaker. @gitbeaker/rest's own request handler retries every 429
 * and 502 up to ten times and cannot be told not to (github.com/jdalrymple/gitbeaker/issues/3630;
 * `rateLimits` only paces requests, it does not stop the retries). So the resources here get their
 * own `requesterFn`, built with gitbeaker's createRequesterFn (its option handling: auth header,
 * JSON bodies, query strings) around a handler that makes each request once, with no client-side
 * rate limiter, and fails with gitbeaker's own error types. The orchestrator's queue is the one
 * layer that retries, and it must see every 429 to slow the whole system down.
 *
 * Timeouts: gitbeaker gives each call an AbortSignal of `queryTimeout` ms (set from `timeoutMs`).
 */
import { createRequesterFn, type FormattedResponse, type RequestOptions, type ResponseBodyTypes } from '@gitbeaker/requester-utils';
import { GitbeakerRequestError, GitbeakerTimeoutError, GroupMembers, ProjectMembers, Users } from '@gitbeaker/rest';
import { PageGuard } from '../types.js';
import type { Source } from './mapping.js';

export interface GitLabClientConfig {
  /** https://gitlab.com, or a self-managed instance's root URL (without /api/v4). */
  url?: string;
  /** A personal, group or service-account access token with the `api` scope (admin for user management). */
  token: string;
  /** Longest one request may take before it fails as retryable. Default 10 s. */
  timeoutMs?: number;
  /**
   * The top-level group whose members are the company's GitLab accounts (GitLab.com, where
   * `GET /users` would list every public user): listAccounts lists its members instead.
   */
  group?: string;
}

/** A user as `GET /users` and `GET /users/:id` return them (docs.gitlab.com/ee/api/users.html). */
export interface GitLabUser {
  id: number;
  username: string;
  name: string;
  /** active, blocked, deactivated, ldap_blocked, banned, blocked_pending_approval. */
  state: string;
  /** Only for administrators. */
  email?: string | null;
  public_email?: string | null;
}

/** A membership as the members API returns it (docs.gitlab.com/ee/api/members.html). */
export interface GitLabMember {
  id: number;
  username: string;
  name?: string;
  state: string;
  access_level: number;
  expires_at: string | null;
}

/** What the adapter needs from GitLab, in plain shapes. Each call throws gitbeaker's errors. */
export interface GitLabApi {
  usersByUsername(username: string): Promise<GitLabUser[]>;
  searchUsers(search: string): AsyncIterable<GitLabUser>;
  getUser(id: number): Promise<GitLabUser | null>;
  createUser(user: { username: string; name: string; email: string }): Promise<GitLabUser>;
  userAction(id: number, action: 'block' | 'unblock' | 'activate' | 'approve'): Promise<void>;
  /** The member, direct only or including inherited ones; null when GitLab answers 404. */
  member(source: Source, userId: number, inherited: boolean): Promise<GitLabMember | null>;
  addMember(source: Source, userId: number, accessLevel: number, expiresAt?: string): Promise<GitLabMember>;
  editMember(source: Source, userId: number, accessLevel: number, expiresAt?: string): Promise<GitLabMember>;
  removeMember(source: Source, userId: number): Promise<void>;
  members(source: Source, inherited: boolean): AsyncIterable<GitLabMember>;
  users(): AsyncIterable<GitLabUser>;
  /** The config's `group`, for listAccounts. */
  readonly accountsGroup: string | undefined;
}

async function responseBody(response: Response): Promise<ResponseBodyTypes> {
  if (response.status === 204) return null;
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (type === 'application/json') return response.json().then((v: unknown) => (v ?? {}) as ResponseBodyTypes);
  return response.text();
}

/** gitbeaker's default handler without its retry loop and rate limiter: one request, one answer. */
async function onceHandler(endpoint: string, options?: Record<string, unknown>): Promise<FormattedResponse> {
  const { prefixUrl, searchParams, method, headers, body, signal } = (options ?? {}) as RequestOptions;
  const base = prefixUrl ? (prefixUrl.endsWith('/') ? prefixUrl : `${prefixUrl}/`) : undefined;
  const url = new URL(endpoint, base);
  url.search = searchParams ?? '';
  const request = new Request(url, { method, headers, body, signal });
  let response: Response;
  try {
    response = await fetch(request);
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new GitbeakerTimeoutError('Query timeout was reached', { cause: error });
    throw error;
  }
  if (response.ok) return { body: await responseBody(response), headers: Object.fromEntries(response.headers.entries()), status: response.status };
  // GitLab's errors are {"message": …} or {"error": …}; a rate limit is plain text ("Retry later").
  const text = await response.text().catch(() => '');
  let description = text;
  if ((response.headers.get('content-type') ?? '').includes('application/json')) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown; error?: unknown };
      const content = parsed?.message ?? parsed?.error ?? '';
      description = typeof content === 'string' ? content : JSON.stringify(content);
    } catch {
      // Not JSON after all: keep the text.
    }
  }
  throw new GitbeakerRequestError(description.trim(), { cause: { description: description.trim(), request, response } });
}

const requesterFn = createRequesterFn((_service, options) => Promise.resolve(options), onceHandler);

interface Page<T> {
  data: T[];
  paginationInfo: { next: number | null };
}

/**
 * Offset pagination one page at a time, following `x-next-page` (docs.gitlab.com/ee/api/rest/index.html#pagination).
 * A next page that does not advance, or endless pages, is a permanent error (issue 27), not a
 * quiet stop: a partial member list read as the whole would make a drift scan see false drift.
 */
async function* paged<T>(call: string, fetchPage: (page: number) => Promise<Page<T>>): AsyncIterable<T> {
  const guard = new PageGuard('gitlab', call);
  let page = 1;
  guard.advance(page);
  for (;;) {
    const { data, paginationInfo } = await fetchPage(page);
    yield* data;
    const next = paginationInfo.next;
    if (!next) return;
    guard.advance(next);
    page = next;
  }
}

const PER_PAGE = 100;

export function createGitLabApi(config: GitLabClientConfig): GitLabApi {
  const options = {
    host: (config.url ?? 'https://gitlab.com').replace(/\/+$/, ''),
    token: config.token,
    queryTimeout: config.timeoutMs ?? 10_000,
    rateLimits: {},
    requesterFn,
  };
  const users = new Users(options);
  const groupMembers = new GroupMembers(options);
  const projectMembers = new ProjectMembers(options);
  const membersOf = (source: Source) => (source.kind === 'group' ? groupMembers : projectMembers);
  const notFound = (error: unknown) => error instanceof GitbeakerRequestError && error.cause?.response?.status === 404;
  const maybe = async <T>(fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (error) {
      if (notFound(error)) return null;
      throw error;
    }
  };
  // gitbeaker's typings narrow responses by generic flags; the adapter reads plain snake_case JSON.
  const page = <T>(promise: Promise<unknown>) => promise as Promise<Page<T>>;

  return {
    accountsGroup: config.group,
    async usersByUsername(username) {
      return (await page<GitLabUser>(users.all({ username, page: 1, perPage: PER_PAGE, showExpanded: true }))).data;
    },
    searchUsers: (search) => paged('GET users?search', (p) => page<GitLabUser>(users.all({ search, page: p, perPage: PER_PAGE, showExpanded: true }))),
    getUser: (id) => maybe(async () => (await users.show(id)) as unknown as GitLabUser),
    async createUser({ username, name, email }) {
      // reset_password: GitLab mails the person a link to set a password (one of password,
      // reset_password or force_random_password is required); skip_confirmation: the HRIS vouches for the email.
      return (await users.create({ username, name, email, resetPassword: true, skipConfirmation: true })) as unknown as GitLabUser;
    },
    async userAction(id, action) {
      if (action === 'block') await users.block(id);
      else if (action === 'unblock') await users.unblock(id);
      else if (action === 'activate') await users.activate(id);
      else await users.approve(id);
    },
    member: (source, userId, inherited) => maybe(async () => (await membersOf(source).show(source.path, userId, { includeInherited: inherited })) as unknown as GitLabMember),
    async addMember(source, userId, accessLevel, expiresAt) {
      return (await membersOf(source).add(source.path, accessLevel as never, { userId, ...(expiresAt ? { expiresAt } : {}) })) as unknown as GitLabMember;
    },
    async editMember(source, userId, accessLevel, expiresAt) {
      return (await membersOf(source).edit(source.path, userId, accessLevel as never, expiresAt ? { expiresAt } : {})) as unknown as GitLabMember;
    },
    async removeMember(source, userId) {
      await membersOf(source).remove(source.path, userId);
    },
    members: (source, inherited) =>
      paged(`GET ${source.kind}s/${source.path}/members`, (p) => page<GitLabMember>(membersOf(source).all(source.path, { includeInherited: inherited, page: p, perPage: PER_PAGE, showExpanded: true }))),
    users: () => paged('GET users', (p) => page<GitLabUser>(users.all({ excludeInternal: true, page: p, perPage: PER_PAGE, showExpanded: true }))),
  };
}
