import { describe, expect, it } from 'vitest';
import { covers, parseEntitlement, rankOf } from '../../src/policy/entitlement.js';
import { translateLevel } from '../../src/policy/levels.js';

const ok = (uri: string) => {
  const r = parseEntitlement(uri, ['read', 'write', 'admin']);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const error = (uri: string) => {
  const r = parseEntitlement(uri, ['read', 'write', 'admin']);
  if (r.ok) throw new Error(`${uri} parsed`);
  return r.message;
};

describe('entitlement URIs (ARCHITECTURE.md → Entitlement URIs)', () => {
  it.each([
    'okta:account',
    'okta:group:sales-team',
    'google:account',
    'google:group:sales@company.com',
    'google:org-unit:/Sales/Enterprise',
    'aws:account-assignment:123456789012#PowerUser',
    'github:org:acme',
    'github:team:acme/platform#member',
    'github:repo:acme/platform-api#maintain',
    'gitlab:group:engineering/platform#developer',
    'gitlab:project:acme/api#reporter',
    'slack:account',
    'slack:channel:sales-team',
    'slack:usergroup:oncall-platform',
    'salesforce:account',
    'salesforce:profile:Sales Engineer',
    'salesforce:permission-set:API_Enabled',
    'salesforce:permission-set-group:Sales_Ops',
    'jira:project:PLAT#Developers',
    'jira:group:jira-software-users',
    'scim:figma:account',
    'scim:figma:group:designers',
    'manual:laptop:macbook-pro-14',
  ])('accepts every example of the contract: %s', (uri) => {
    expect(ok(uri).uri).toBe(uri);
  });

  it('splits system, type, resource and level', () => {
    expect(ok('github:repo:acme/platform-api#maintain')).toEqual({ uri: 'github:repo:acme/platform-api#maintain', system: 'github', type: 'repo', resource: 'acme/platform-api', level: 'maintain' });
    expect(ok('scim:figma:group:designers')).toMatchObject({ system: 'scim', app: 'figma', type: 'group', resource: 'designers' });
  });

  it('fills a default level where the system has one (team member)', () => {
    expect(ok('github:team:acme/platform').uri).toBe('github:team:acme/platform#member');
  });

  it('rejects a level the system does not have, suggesting the closest', () => {
    expect(error('github:repo:acme/api#writer')).toBe(
      '"github:repo:acme/api#writer": "writer" is not a github repo level (did you mean "write"?); levels: read, triage, write, maintain, admin (or read/write/admin)',
    );
    expect(error('gitlab:project:acme/api#devloper')).toContain('did you mean "developer"?');
  });

  it('names unknown systems and types, with suggestions', () => {
    expect(error('githb:repo:acme/api#write')).toContain('unknown system "githb" (did you mean "github"?)');
    expect(error('okta:grop:x')).toContain('okta has no type "grop" (did you mean "group"?); it has account, group');
  });

  it('explains malformed resources and missing parts', () => {
    expect(error('aws:account-assignment:12345#PowerUser')).toContain('"12345" is not a valid aws account-assignment');
    expect(error('github:repo:acme/api')).toContain('needs a level after "#", e.g. #read');
    expect(error('okta:account#admin')).toContain('has no levels');
    expect(error('okta:group')).toContain('needs a resource, e.g. okta:group:sales-team');
    expect(error('slack:channel:Sales Team')).toContain('is not a valid slack channel');
    expect(error('manual:laptop')).toContain('manual:<kind>:<item>');
    expect(error('scim:Figma:account')).toContain('SCIM entitlements name the app');
    expect(error('')).toContain('non-empty');
    expect(error('okta:group:x#')).toContain('nothing after "#"');
  });

  it('translates abstract levels per system and leaves native ones alone', () => {
    const table = { gitlab: { group: { read: 'reporter', write: 'developer', admin: 'maintainer' } }, jira: { project: { read: 'Viewers' } } };
    expect(translateLevel(ok('gitlab:group:eng#read'), table)).toEqual({ uri: 'gitlab:group:eng#reporter' });
    expect(translateLevel(ok('gitlab:group:eng#owner'), table)).toEqual({ uri: 'gitlab:group:eng#owner' });
    expect(translateLevel(ok('jira:project:PLAT#read'), table)).toEqual({ uri: 'jira:project:PLAT#Viewers' });
    // github's native levels include read/write/admin: they pass through without a table entry.
    expect(translateLevel(ok('github:repo:acme/api#write'), {})).toEqual({ uri: 'github:repo:acme/api#write' });
    expect(translateLevel(ok('jira:project:PLAT#write'), table)).toEqual({ error: expect.stringContaining('no native level for "write" on jira:project') });
  });

  it('ranks exclusive levels so the higher one wins', () => {
    expect(rankOf(ok('github:repo:acme/api#maintain'))).toEqual({ key: 'github:repo:acme/api', rank: 3 });
    expect(rankOf(ok('jira:project:PLAT#Developers'))).toBeUndefined();
  });
});

describe('covers', () => {
  it('a level covers the same resource at its own level and below, nothing else', () => {
    expect(covers('github:repo:acme/api#maintain', 'github:repo:acme/api#write')).toBe(true);
    expect(covers('github:repo:acme/api#write', 'github:repo:acme/api#write')).toBe(true);
    expect(covers('github:repo:acme/api#write', 'github:repo:acme/api#admin')).toBe(false);
    expect(covers('github:repo:acme/api#admin', 'github:repo:acme/web#read')).toBe(false);
    // Unranked (a Slack channel) or unparseable: never covered by another URI.
    expect(covers('slack:channel:eng', 'slack:channel:eng')).toBe(false);
    expect(covers('github:repo:acme/api#admin', 'not a uri')).toBe(false);
  });
});
