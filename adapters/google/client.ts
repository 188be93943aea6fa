/**
 * The only file that imports Google's client (`@googleapis/admin`, the Admin SDK Directory API).
 * The service account impersonates an admin (domain-wide delegation). gaxios's own retry is off:
 * the queue is the one layer that retries (CONVENTIONS.md); every request has a timeout.
 */
import { admin, auth } from '@googleapis/admin';
import { PageGuard } from '../types.js';

export interface GoogleClientConfig {
  /** The service account key: its JSON text (client_email, private_key). */
  serviceAccountKey: string;
  /** The Workspace admin the service account acts as. */
  adminEmail: string;
  /** `my_customer` for the admin's own Workspace. */
  customer: string;
  /** For tests against a fake; Google's own by default. */
  rootUrl?: string;
  /** Longest one request may take before it fails as retryable. Default 30 s. */
  timeoutMs?: number;
}

export const SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.user',
  'https://www.googleapis.com/auth/admin.directory.user.security',
  'https://www.googleapis.com/auth/admin.directory.group.member',
  'https://www.googleapis.com/auth/admin.directory.group.readonly',
];

export interface GoogleUserShape {
  id: string;
  primaryEmail: string;
  suspended?: boolean;
  orgUnitPath?: string;
  externalIds?: { value: string; type: string; customType?: string }[];
}

export interface GoogleApi {
  getUser(userKey: string): Promise<GoogleUserShape | null>;
  searchUsers(query: string): AsyncIterable<GoogleUserShape>;
  allUsers(): AsyncIterable<GoogleUserShape>;
  insertUser(body: Record<string, unknown>): Promise<GoogleUserShape>;
  updateUser(userKey: string, body: Record<string, unknown>): Promise<GoogleUserShape>;
  signOut(userKey: string): Promise<void>;
  /** The user's direct membership of the group (not one through a nested group), or null. */
  membership(groupKey: string, memberKey: string): Promise<{ role: string; status: string } | null>;
  insertMember(groupKey: string, email: string): Promise<void>;
  deleteMember(groupKey: string, memberKey: string): Promise<void>;
  members(groupKey: string): AsyncIterable<{ id: string; email: string }>;
  groupsOf(userKey: string): AsyncIterable<{ email: string }>;
}

export function createGoogleApi(config: GoogleClientConfig): GoogleApi {
  const key = JSON.parse(config.serviceAccountKey) as { client_email: string; private_key: string };
  const jwt = new auth.JWT({ email: key.client_email, key: key.private_key, scopes: SCOPES, subject: config.adminEmail });
  const directory = admin({ version: 'directory_v1', auth: jwt, retry: false, timeout: config.timeoutMs ?? 30_000, ...(config.rootUrl ? { rootUrl: config.rootUrl } : {}) });
  const status = (error: unknown) => (error as { status?: number; code?: number | string }).status ?? Number((error as { code?: unknown }).code);

  // A repeated nextPageToken or endless pages is a permanent error, not an endless loop (issue 27).
  async function* pages<T>(call: string, fetchPage: (pageToken: string | undefined) => Promise<{ items: T[]; next?: string | null }>): AsyncIterable<T> {
    const guard = new PageGuard('google', call);
    let token: string | undefined;
    do {
      const page = await fetchPage(token);
      yield* page.items;
      token = page.next ?? undefined;
      if (token) guard.follow(token);
    } while (token);
  }

  return {
    async getUser(userKey) {
      try {
        return (await directory.users.get({ userKey })).data as GoogleUserShape;
      } catch (error) {
        if (status(error) === 404) return null;
        throw error;
      }
    },
    searchUsers(query) {
      return pages('users.list', async (pageToken) => {
        const { data } = await directory.users.list({ customer: config.customer, query, pageToken, maxResults: 100 });
        return { items: (data.users ?? []) as GoogleUserShape[], next: data.nextPageToken };
      });
    },
    allUsers() {
      return pages('users.list', async (pageToken) => {
        const { data } = await directory.users.list({ customer: config.customer, pageToken, maxResults: 100 });
        return { items: (data.users ?? []) as GoogleUserShape[], next: data.nextPageToken };
      });
    },
    async insertUser(body) {
      return (await directory.users.insert({ requestBody: body })).data as GoogleUserShape;
    },
    async updateUser(userKey, body) {
      return (await directory.users.update({ userKey, requestBody: body })).data as GoogleUserShape;
    },
    async signOut(userKey) {
      await directory.users.signOut({ userKey });
    },
    async membership(groupKey, memberKey) {
      try {
        const { data } = await directory.members.get({ groupKey, memberKey });
        return { role: data.role ?? 'MEMBER', status: data.status ?? 'ACTIVE' };
      } catch (error) {
        // 404 names the member or the group; either way there is no membership to report.
        if (status(error) === 404) return null;
        throw error;
      }
    },
    async insertMember(groupKey, email) {
      await directory.members.insert({ groupKey, requestBody: { email, role: 'MEMBER' } });
    },
    async deleteMember(groupKey, memberKey) {
      await directory.members.delete({ groupKey, memberKey });
    },
    members(groupKey) {
      return pages('members.list', async (pageToken) => {
        const { data } = await directory.members.list({ groupKey, pageToken, maxResults: 200 });
        return { items: (data.members ?? []).map((m) => ({ id: m.id ?? '', email: m.email ?? '' })), next: data.nextPageToken };
      });
    },
    groupsOf(userKey) {
      return pages('groups.list', async (pageToken) => {
        const { data } = await directory.groups.list({ userKey, pageToken, maxResults: 200 });
        return { items: (data.groups ?? []).map((g) => ({ email: g.email ?? '' })), next: data.nextPageToken };
      });
    },
  };
}
