/**
 * The only file that imports the Okta SDK. It turns off what would hide the API from the
 * orchestrator: the SDK's 429 retries (the queue retries, once; CONVENTIONS.md → retry in one
 * layer) and its GET cache (a verification read must see the write it follows); and it gives
 * every request a timeout, which the SDK has none of.
 */
import okta from '@okta/okta-sdk-nodejs';
import type { OktaUserShape } from './mapping.js';

export interface OktaClientConfig {
  orgUrl: string;
  token: string;
  /** Longest one request may take before it fails as retryable. Default 30 s. */
  timeoutMs?: number;
}

export interface OktaGroupShape {
  id: string;
  type: string;
  profile: { name: string };
}

/** What the adapter needs from Okta, in plain shapes. */
export interface OktaApi {
  searchUsers(search: string): AsyncIterable<OktaUserShape>;
  getUser(idOrLogin: string): Promise<OktaUserShape | null>;
  createUser(profile: Record<string, string>): Promise<OktaUserShape>;
  lifecycle(userId: string, action: 'suspend' | 'unsuspend' | 'activate' | 'deactivate'): Promise<void>;
  revokeSessions(userId: string): Promise<void>;
  findGroup(name: string): Promise<OktaGroupShape | null>;
  addToGroup(groupId: string, userId: string): Promise<void>;
  removeFromGroup(groupId: string, userId: string): Promise<void>;
  userGroups(userId: string): AsyncIterable<OktaGroupShape>;
  groupUsers(groupId: string): AsyncIterable<OktaUserShape>;
  allUsers(): AsyncIterable<OktaUserShape>;
}

type Collection<T> = AsyncIterable<T>;

/**
 * The SDK's base executor, which makes each request once (its DefaultRequestExecutor waits out
 * 429s and retries them), with node-fetch's request timeout set.
 */
class OnceWithTimeout extends okta.RequestExecutor {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super();
    this.timeoutMs = timeoutMs;
  }
  override fetch(request: Parameters<okta.RequestExecutor['fetch']>[0]) {
    // node-fetch 2 reads `timeout` from the request options and fails with a request-timeout FetchError.
    (request as { timeout?: number }).timeout = this.timeoutMs;
    return super.fetch(request);
  }
}

export function createOktaApi(config: OktaClientConfig): OktaApi {
  const client = new okta.Client({
    orgUrl: config.orgUrl,
    token: config.token,
    authorizationMode: 'SSWS',
    // One attempt per call: a 429 reaches the orchestrator, which pauses the system.
    requestExecutor: new OnceWithTimeout(config.timeoutMs ?? 30_000),
    cacheMiddleware: null,
  });
  const users = client.userApi;
  const groups = client.groupApi;
  const notFound = (error: unknown) => (error as { status?: number }).status === 404;

  return {
    async *searchUsers(search) {
      yield* (await users.listUsers({ search })) as unknown as Collection<OktaUserShape>;
    },
    async getUser(idOrLogin) {
      try {
        return (await users.getUser({ userId: idOrLogin })) as unknown as OktaUserShape;
      } catch (error) {
        if (notFound(error)) return null;
        throw error;
      }
    },
    async createUser(profile) {
      return (await users.createUser({ body: { profile } as never, activate: true })) as unknown as OktaUserShape;
    },
    async lifecycle(userId, action) {
      if (action === 'suspend') await users.suspendUser({ userId });
      else if (action === 'unsuspend') await users.unsuspendUser({ userId });
      else if (action === 'deactivate') await users.deactivateUser({ userId, sendEmail: false });
      else await users.activateUser({ userId, sendEmail: false });
    },
    async revokeSessions(userId) {
      await users.revokeUserSessions({ userId, oauthTokens: true });
    },
    async findGroup(name) {
      const found = (await groups.listGroups({ search: `profile.name eq "${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` })) as unknown as Collection<OktaGroupShape>;
      for await (const group of found) if (group.profile.name === name) return group;
      return null;
    },
    async addToGroup(groupId, userId) {
      await groups.assignUserToGroup({ groupId, userId });
    },
    async removeFromGroup(groupId, userId) {
      await groups.unassignUserFromGroup({ groupId, userId });
    },
    async *userGroups(userId) {
      yield* (await users.listUserGroups({ userId })) as unknown as Collection<OktaGroupShape>;
    },
    async *groupUsers(groupId) {
      yield* (await groups.listGroupUsers({ groupId })) as unknown as Collection<OktaUserShape>;
    },
    async *allUsers() {
      yield* (await users.listUsers({})) as unknown as Collection<OktaUserShape>;
    },
  };
}
