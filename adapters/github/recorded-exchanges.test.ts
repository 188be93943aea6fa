import { createRequire } from 'node:module';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubApi } from './client.js';
import { classify } from './errors.js';

/**
 * Real GitHub API exchanges recorded by @octokit/fixtures (scenario
 * api.github.com/add-and-remove-repository-collaborator): each recorded response is served for
 * its recorded method and path, and the client must read it as our fake's shapes assume.
 */
interface Exchange {
  method: string;
  path: string;
  status: number;
  response: unknown;
  headers: Record<string, string>;
}
const require = createRequire(import.meta.url);
const exchanges = require('@octokit/fixtures/scenarios/api.github.com/add-and-remove-repository-collaborator/normalized-fixture.json') as Exchange[];
/** Scenario api.github.com/paginate-issues: five pages, linked the way GitHub really links them. */
const pages = require('@octokit/fixtures/scenarios/api.github.com/paginate-issues/normalized-fixture.json') as Exchange[];
/** Scenario api.github.com/errors: a real 422 Validation Failed. */
const errors = require('@octokit/fixtures/scenarios/api.github.com/errors/normalized-fixture.json') as Exchange[];
const stringHeaders = (headers: Record<string, unknown>) => Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'content-length').map(([k, v]) => [k, String(v)]));
const OWNER = 'octokit-fixture-org';
const REPO = 'add-and-remove-repository-collaborator';

function serve(index: number) {
  const x = exchanges[index]!;
  const headers = { ...x.headers };
  delete headers['content-length'];
  // Our client adds per_page (and affiliation) to list calls; the recording has none.
  nock('https://api.github.com').intercept(x.path, x.method.toUpperCase()).query(true).reply(x.status, x.response === '' ? undefined : (x.response as nock.Body), headers);
}

afterEach(() => nock.cleanAll());

describe('the GitHub client on recorded exchanges', () => {
  const api = createGitHubApi({ token: '0000000000000000000000000000000000000001', org: OWNER, pace: false });

  it('a 201 on adding a collaborator outside the org is an invitation', async () => {
    serve(0);
    expect(await api.addCollaborator(OWNER, REPO, 'octokit-fixture-user-b', 'push')).toBe('invited');
  });

  it('finds the pending invitation for the invitee in the recorded invitations list', async () => {
    serve(1);
    const invitation = await api.repoInvitation(OWNER, REPO, 'octokit-fixture-user-b');
    expect(invitation).toEqual({ id: 1000, permission: (exchanges[1]!.response as { permissions: string }[])[0]!.permissions });
  });

  it('follows GitHub\'s real Link headers (rel prev/next/last/first, to /repositories/{id}/…) through five pages', async () => {
    // The first recorded page answers our collaborators call; the rest are served where the
    // recorded Link headers point, so only following them reaches the last item.
    nock('https://api.github.com').get(`/repos/${OWNER}/${REPO}/collaborators`).query(true).reply(200, pages[0]!.response as nock.Body, stringHeaders(pages[0]!.headers));
    for (const page of pages.slice(1)) nock('https://api.github.com').get(page.path).reply(200, page.response as nock.Body, stringHeaders(page.headers));
    const items: unknown[] = [];
    for await (const item of api.collaborators(OWNER, REPO)) items.push(item);
    const recorded = pages.flatMap((p) => p.response as { id: number }[]);
    expect(items.map((i) => (i as { id: number }).id)).toEqual(recorded.map((i) => i.id));
    expect(items).toHaveLength(13);
    expect(nock.isDone()).toBe(true);
  });

  it('a recorded 422 Validation Failed is a permanent error carrying GitHub\'s message and request id', async () => {
    const x = errors[0]!;
    nock('https://api.github.com').put(`/repos/${OWNER}/${REPO}/collaborators/octokit-fixture-user-b`).reply(x.status, x.response as nock.Body, stringHeaders(x.headers));
    const error = classify(await api.addCollaborator(OWNER, REPO, 'octokit-fixture-user-b', 'push').catch((e: unknown) => e), 'give octokit-fixture-user-b write');
    expect(error).toMatchObject({ kind: 'permanent', status: 422, rateLimited: false, requestId: '0000:00000:0000000:0000000:00000000' });
    expect(error.message).toBe('GitHub give octokit-fixture-user-b write failed: 422 Validation Failed (fix the request; retrying will not help)');
  });

  it('reads collaborators with their role_name, and removes one with a 204', async () => {
    serve(3);
    const collaborators: { login: string; role_name: string }[] = [];
    for await (const c of api.collaborators(OWNER, REPO)) collaborators.push(c);
    expect(collaborators.map((c) => c.login)).toContain('octokit-fixture-user-b');
    expect(collaborators.every((c) => typeof c.role_name === 'string')).toBe(true);
    serve(4);
    await api.removeCollaborator(OWNER, REPO, 'octokit-fixture-user-b');
    expect(nock.isDone()).toBe(true);
  });
});
