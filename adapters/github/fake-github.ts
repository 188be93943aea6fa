/**
 * A stateful fake of the GitHub REST API calls the adapter makes, served through nock. Shapes
 * follow GitHub's REST reference (docs.github.com/rest): org memberships
 * (/orgs/{org}/memberships/{username}), team memberships
 * (/orgs/{org}/teams/{team_slug}/memberships/{username}), collaborators and their permission
 * (/repos/{owner}/{repo}/collaborators/{username}[/permission]), repository invitations, users,
 * and pagination by `Link: rel="next"`. The collaborator PUT answers 201 with an invitation for
 * someone outside the org and 204 for an org member, as recorded in @octokit/fixtures
 * (scenario api.github.com/add-and-remove-repository-collaborator). Rate limits:
 * docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api.
 */
import nock from 'nock';

export type GitHubFault = '429' | '403-ratelimit' | '500' | 'timeout' | '401' | '403' | '404';
type Reply = [number, unknown, Record<string, string>?];

export class FakeGitHub {
  readonly users = new Map<string, number>();
  /** org → login → state */
  readonly orgs = new Map<string, Map<string, 'active' | 'pending'>>();
  /** org/team → login → role */
  readonly teams = new Map<string, Map<string, 'member' | 'maintainer'>>();
  /** owner/repo → login → role_name */
  readonly collaborators = new Map<string, Map<string, string>>();
  /** owner/repo → login → { id, permission } */
  readonly invitations = new Map<string, Map<string, { id: number; permission: string }>>();
  readonly requests: string[] = [];
  pageSize: number;
  /** How long a `timeout` fault stalls before answering: longer than any client should wait. */
  stallMs = 3_000;
  #faults: { fault: GitHubFault; retryAfterMs: number; onlyMethod?: string }[] = [];
  #seq = 1000;

  /** When set, every list's `Link: rel="next"` points at this page, forever (a broken or hostile endpoint). */
  stuckNextPage: string | undefined;

  constructor(pageSize = 2) {
    this.pageSize = pageSize;
  }

  addUser(login: string): void {
    this.users.set(login, ++this.#seq);
  }
  addOrg(org: string): void {
    this.orgs.set(org, new Map());
  }
  addTeam(org: string, team: string): void {
    this.teams.set(`${org}/${team}`, new Map());
  }
  addRepo(owner: string, repo: string): void {
    this.collaborators.set(`${owner}/${repo}`, new Map());
    this.invitations.set(`${owner}/${repo}`, new Map());
  }
  /** The invitee accepts: their org membership or repository invitation becomes active. */
  accept(login: string): void {
    for (const members of this.orgs.values()) if (members.get(login) === 'pending') members.set(login, 'active');
    for (const [repo, invites] of this.invitations) {
      const invitation = invites.get(login);
      if (invitation) {
        this.collaborators.get(repo)!.set(login, invitation.permission === 'push' ? 'write' : invitation.permission === 'pull' ? 'read' : invitation.permission);
        invites.delete(login);
      }
    }
  }
  failNext(fault: GitHubFault, retryAfterMs = 1000, onlyMethod?: string): void {
    this.#faults.push({ fault, retryAfterMs, onlyMethod });
  }

  start(): this {
    const scope = nock('https://api.github.com').persist();
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'POST']) {
      scope.intercept(/.*/, method).reply(async (request: unknown) => {
        // nock 15 passes the intercepted fetch Request as the only argument.
        const req = request as { url: string; text(): Promise<string> };
        const text = await req.text();
        return this.#handle(method, req.url, text ? JSON.parse(text) : {});
      });
    }
    return this;
  }

  stop(): void {
    nock.cleanAll();
  }

  #user(login: string) {
    return { login, id: this.users.get(login), node_id: `MDQ6VXNlcj${this.users.get(login)}`, type: 'User', site_admin: false, url: `https://api.github.com/users/${login}` };
  }

  #page(url: URL, items: unknown[]): Reply {
    const page = Number(url.searchParams.get('page') ?? 1);
    const size = Math.min(Number(url.searchParams.get('per_page') ?? this.pageSize), this.pageSize);
    const slice = items.slice((page - 1) * size, page * size);
    const headers: Record<string, string> = {};
    if (page * size < items.length || this.stuckNextPage !== undefined) {
      const next = new URL(url);
      next.searchParams.set('page', this.stuckNextPage ?? String(page + 1));
      headers.link = `<${next.toString()}>; rel="next"`;
    }
    return [200, slice, headers];
  }

  #handle(method: string, href: string, body: Record<string, unknown>): Reply | Promise<Reply> {
    const url = new URL(href);
    this.requests.push(`${method} ${url.pathname}`);
    const i = this.#faults.findIndex((f) => !f.onlyMethod || f.onlyMethod === method);
    const doc = 'https://docs.github.com/rest';
    if (i >= 0) {
      const [{ fault, retryAfterMs }] = this.#faults.splice(i, 1) as [{ fault: GitHubFault; retryAfterMs: number }];
      const reset = String(Math.floor((Date.now() + retryAfterMs) / 1000));
      if (fault === '429') return [429, { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', documentation_url: doc }, { 'retry-after': String(retryAfterMs / 1000), 'x-github-request-id': 'ABCD:1234' }];
      if (fault === '403-ratelimit') return [403, { message: 'API rate limit exceeded for installation.', documentation_url: doc }, { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset, 'x-ratelimit-resource': 'core' }];
      if (fault === '500') return [502, { message: 'Server Error' }];
      if (fault === '401') return [401, { message: 'Bad credentials', documentation_url: doc }];
      if (fault === '403') return [403, { message: 'Resource not accessible by integration', documentation_url: doc }];
      if (fault === '404') return [404, { message: 'Not Found', documentation_url: doc }];
      // A timeout: GitHub stalls, and answers only after the client gave up.
      return new Promise((resolve) => setTimeout(() => resolve([504, { message: 'We couldn\'t respond to your request in time.' }]), this.stallMs));
    }
    const notFound: Reply = [404, { message: 'Not Found', documentation_url: doc }];
    const p = url.pathname.split('/').slice(1).map(decodeURIComponent);

    if (p[0] === 'users' && p.length === 2 && method === 'GET') return this.users.has(p[1]!) ? [200, this.#user(p[1]!)] : notFound;

    if (p[0] === 'orgs' && p[2] === 'members' && method === 'GET') {
      const members = this.orgs.get(p[1]!);
      if (!members) return notFound;
      return this.#page(url, [...members].filter(([, s]) => s === 'active').map(([login]) => this.#user(login)));
    }
    if (p[0] === 'orgs' && p[2] === 'memberships' && p.length === 4) {
      const members = this.orgs.get(p[1]!);
      const login = p[3]!;
      if (!members || !this.users.has(login)) return notFound;
      if (method === 'GET') return members.has(login) ? [200, { state: members.get(login), role: 'member', organization: { login: p[1] }, user: this.#user(login) }] : notFound;
      if (method === 'PUT') {
        if (!members.has(login)) members.set(login, 'pending');
        return [200, { state: members.get(login), role: body.role ?? 'member', organization: { login: p[1] }, user: this.#user(login) }];
      }
      if (method === 'DELETE') {
        if (!members.delete(login)) return notFound;
        // Leaving the org removes team memberships and org repository access.
        for (const [key, team] of this.teams) if (key.startsWith(`${p[1]}/`)) team.delete(login);
        for (const [key, repo] of this.collaborators) if (key.startsWith(`${p[1]}/`)) repo.delete(login);
        return [204, ''];
      }
    }
    if (p[0] === 'orgs' && p[2] === 'teams') {
      const team = this.teams.get(`${p[1]}/${p[3]}`);
      if (!team) return notFound;
      if (p[4] === 'members' && method === 'GET') return this.#page(url, [...team.keys()].map((l) => this.#user(l)));
      if (p[4] === 'memberships' && p.length === 6) {
        const login = p[5]!;
        if (!this.users.has(login)) return notFound;
        const orgState = this.orgs.get(p[1]!)?.get(login);
        if (method === 'GET') return team.has(login) ? [200, { state: orgState === 'active' ? 'active' : 'pending', role: team.get(login), url: url.toString() }] : notFound;
        if (method === 'PUT') {
          team.set(login, (body.role as 'member' | 'maintainer') ?? 'member');
          // Someone outside the org is invited to it: pending until accepted (GitHub docs).
          if (!orgState) this.orgs.get(p[1]!)!.set(login, 'pending');
          return [200, { state: orgState === 'active' ? 'active' : 'pending', role: team.get(login), url: url.toString() }];
        }
        if (method === 'DELETE') return team.delete(login) ? [204, ''] : notFound;
      }
    }
    if (p[0] === 'repos') {
      const key = `${p[1]}/${p[2]}`;
      const collaborators = this.collaborators.get(key);
      const invitations = this.invitations.get(key);
      if (!collaborators || !invitations) return notFound;
      if (p[3] === 'collaborators' && p.length === 4 && method === 'GET') {
        return this.#page(url, [...collaborators].map(([login, role_name]) => ({ ...this.#user(login), role_name, permissions: { admin: role_name === 'admin', maintain: ['admin', 'maintain'].includes(role_name), push: ['admin', 'maintain', 'write'].includes(role_name), triage: role_name !== 'read', pull: true } })));
      }
      if (p[3] === 'collaborators' && p.length === 6 && p[5] === 'permission' && method === 'GET') {
        const login = p[4]!;
        if (!this.users.has(login)) return notFound;
        const role = collaborators.get(login);
        const permission = !role ? 'none' : role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
        return [200, { permission, role_name: role ?? 'none', user: this.#user(login) }];
      }
      if (p[3] === 'collaborators' && p.length === 5) {
        const login = p[4]!;
        if (!this.users.has(login)) return notFound;
        if (method === 'PUT') {
          const permission = String(body.permission ?? 'push');
          const role = permission === 'push' ? 'write' : permission === 'pull' ? 'read' : permission;
          if (this.orgs.get(p[1]!)?.get(login) === 'active' || collaborators.has(login)) {
            collaborators.set(login, role);
            return [204, ''];
          }
          const invitation = invitations.get(login) ?? { id: ++this.#seq, permission };
          invitation.permission = role;
          invitations.set(login, invitation);
          return [201, { id: invitation.id, repository: { full_name: key }, invitee: this.#user(login), permissions: role, created_at: '2026-11-23T00:00:00Z' }];
        }
        if (method === 'DELETE') {
          collaborators.delete(login);
          return [204, ''];
        }
      }
      if (p[3] === 'invitations' && p.length === 4 && method === 'GET') {
        return this.#page(url, [...invitations].map(([login, inv]) => ({ id: inv.id, invitee: this.#user(login), permissions: inv.permission, repository: { full_name: key } })));
      }
      if (p[3] === 'invitations' && p.length === 5 && method === 'DELETE') {
        for (const [login, inv] of invitations) if (String(inv.id) === p[4]) invitations.delete(login);
        return [204, ''];
      }
    }
    return notFound;
  }
}
