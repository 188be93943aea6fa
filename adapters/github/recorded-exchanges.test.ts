import { createRequire } from 'node:module';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubApi } from './client.js';

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
