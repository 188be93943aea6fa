/**
 * The only file that imports Octokit. The throttling plugin is on but reports instead of waiting
 * (its handlers return false), and the retry plugin makes no retries: the orchestrator's queue is
 * the one layer that retries, and it must see every rate limit to slow the whole system down.
 */
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { PageGuard } from '../types.js';

export interface GitHubClientConfig {
  token: string;
  /** The organization whose membership is a person's GitHub account here. */
  org: string;
  /** https://api.github.com, or GitHub Enterprise Server's /api/v3. */
  baseUrl?: string;
  /**
   * The throttling plugin also paces mutating calls a second apart, as GitHub asks to avoid
   * secondary limits. On by default; tests of this adapter turn it off to run quickly.
   */
  pace?: boolean;
  /** Longest one request may take before it fails as retryable. Default 30 s. */
  timeoutMs?: number;
}

export interface GitHubUserShape {
  login: string;
  id: number;
}

export interface Membership {
  state: 'active' | 'pending';
  role: string;
}

/** What the adapter needs from GitHub, in plain shapes. Each call throws Octokit's RequestError. */
export interface GitHubApi {
  getUser(login: string): Promise<GitHubUserShape | null>;
  orgMembership(org: string, login: string): Promise<Membership | null>;
  setOrgMembership(org: string, login: string): Promise<Membership>;
  removeOrgMembership(org: string, login: string): Promise<void>;
  teamMembership(org: string, team: string, login: string): Promise<Membership | null>;
  setTeamMembership(org: string, team: string, login: string, role: 'member' | 'maintainer'): Promise<Membership>;
  removeTeamMembership(org: string, team: string, login: string): Promise<void>;
  teamMembers(org: string, team: string): AsyncIterable<GitHubUserShape>;
  /** `role_name` of the user on the repo (read … admin), or null without access. */
  repoRole(owner: string, repo: string, login: string): Promise<string | null>;
  /** A pending invitation of `login` to the repo, with the permission it offers. */
  repoInvitation(owner: string, repo: string, login: string): Promise<{ id: number; permission: string } | null>;
  /** 'invited' (201, an invitation was created or updated) or 'added' (204). */
  addCollaborator(owner: string, repo: string, login: string, permission: string): Promise<'invited' | 'added'>;
  removeCollaborator(owner: string, repo: string, login: string): Promise<void>;
  deleteInvitation(owner: string, repo: string, id: number): Promise<void>;
  collaborators(owner: string, repo: string): AsyncIterable<GitHubUserShape & { role_name: string }>;
  orgMembers(org: string): AsyncIterable<GitHubUserShape>;
}

const GitHub = Octokit.plugin(throttling, retry);

export function createGitHubApi(config: GitHubClientConfig): GitHubApi {
  const octokit = new GitHub({
    auth: config.token,
    baseUrl: config.baseUrl ?? 'https://api.github.com',
    userAgent: 'gatehouse',
    // Report, do not wait: returning false lets the 403/429 reach the adapter as an error.
    throttle: { enabled: config.pace ?? true, onRateLimit: () => false, onSecondaryRateLimit: () => false },
    retry: { retries: 0 },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  // Octokit has no request timeout of its own: each request (each page, too) gets a signal.
  const timeoutMs = config.timeoutMs ?? 30_000;
  octokit.hook.before('request', (options) => {
    options.request = { ...options.request, signal: AbortSignal.timeout(timeoutMs) };
  });
  const absent = (error: unknown) => (error as { status?: number }).status === 404;
  const maybe = async <T>(fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (error) {
      if (absent(error)) return null;
      throw error;
    }
  };

  return {
    getUser: (login) => maybe(async () => (await octokit.rest.users.getByUsername({ username: login })).data as GitHubUserShape),
    orgMembership: (org, login) => maybe(async () => (await octokit.rest.orgs.getMembershipForUser({ org, username: login })).data as Membership),
    async setOrgMembership(org, login) {
      return (await octokit.rest.orgs.setMembershipForUser({ org, username: login, role: 'member' })).data as Membership;
    },
    async removeOrgMembership(org, login) {
      await octokit.rest.orgs.removeMembershipForUser({ org, username: login });
    },
    teamMembership: (org, team, login) =>
      maybe(async () => (await octokit.rest.teams.getMembershipForUserInOrg({ org, team_slug: team, username: login })).data as Membership),
    async setTeamMembership(org, team, login, role) {
      return (await octokit.rest.teams.addOrUpdateMembershipForUserInOrg({ org, team_slug: team, username: login, role })).data as Membership;
    },
    async removeTeamMembership(org, team, login) {
      await octokit.rest.teams.removeMembershipForUserInOrg({ org, team_slug: team, username: login });
    },
    teamMembers: (org, team) => flatten(`GET /orgs/${org}/teams/${team}/members`, octokit.paginate.iterator(octokit.rest.teams.listMembersInOrg, { org, team_slug: team, per_page: 100 })) as AsyncIterable<GitHubUserShape>,
    async repoRole(owner, repo, login) {
      const data = await maybe(async () => (await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: login })).data);
      if (!data || data.permission === 'none') return null;
      return (data as { role_name?: string }).role_name ?? data.permission;
    },
    async repoInvitation(owner, repo, login) {
      const guard = new PageGuard('github', `GET /repos/${owner}/${repo}/invitations`);
      for await (const page of octokit.paginate.iterator(octokit.rest.repos.listInvitations, { owner, repo, per_page: 100 })) {
        guard.follow(page.url);
        for (const invitation of page.data) {
          if (invitation.invitee?.login?.toLowerCase() === login.toLowerCase()) return { id: invitation.id, permission: invitation.permissions };
        }
      }
      return null;
    },
    async addCollaborator(owner, repo, login, permission) {
      const response = await octokit.rest.repos.addCollaborator({ owner, repo, username: login, permission });
      return response.status === 201 ? 'invited' : 'added';
    },
    async removeCollaborator(owner, repo, login) {
      await octokit.rest.repos.removeCollaborator({ owner, repo, username: login });
    },
    async deleteInvitation(owner, repo, id) {
      await octokit.rest.repos.deleteInvitation({ owner, repo, invitation_id: id });
    },
    collaborators: (owner, repo) => flatten(`GET /repos/${owner}/${repo}/collaborators`, octokit.paginate.iterator(octokit.rest.repos.listCollaborators, { owner, repo, affiliation: 'direct', per_page: 100 })) as AsyncIterable<GitHubUserShape & { role_name: string }>,
    orgMembers: (org) => flatten(`GET /orgs/${org}/members`, octokit.paginate.iterator(octokit.rest.orgs.listMembers, { org, per_page: 100 })) as AsyncIterable<GitHubUserShape>,
  };
}

/**
 * Octokit's page iterator yields pages; adapters want items. The iterator follows `Link:
 * rel="next"` for as long as there is one, with no check of its own for a link it has followed
 * before (@octokit/plugin-paginate-rest dist-src/iterator.js), so each page's URL goes through a
 * PageGuard: a URL fetched twice, or more than 10,000 pages, is a permanent error (issue 27).
 */
async function* flatten<T>(call: string, pages: AsyncIterable<{ data: T[]; url: string }>): AsyncIterable<T> {
  const guard = new PageGuard('github', call);
  for await (const page of pages) {
    guard.follow(page.url);
    yield* page.data;
  }
}
