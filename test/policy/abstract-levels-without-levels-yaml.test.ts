import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatPolicyError, loadPolicies, parsePolicyText } from '../../src/policy/loader.js';

// Issue 17: a policies folder of one's own, without levels.yaml, could not use read/write/admin
// ("no native level … add it to policies/levels.yaml"), though every system promises them.

const ABSTRACT_GRANTS = [
  'github:repo:acme/api#read',
  'github:repo:acme/web#admin',
  'github:team:acme/platform#write',
  'github:team:acme/leads#admin',
  'gitlab:group:eng#read',
  'gitlab:group:ops#write',
  'gitlab:project:acme/api#admin',
  'jira:project:PLAT#read',
  'jira:project:OPS#write',
  'jira:project:SEC#admin',
  'aws:account-assignment:111111111111#read',
  'aws:account-assignment:222222222222#write',
  'aws:account-assignment:333333333333#admin',
];

const policy = (name: string, grants: string[]) =>
  [`name: ${name}`, 'description: d', 'owner: "@o"', 'when: { department: Engineering }', 'grants:', ...grants.map((g) => `  - ${g}`), ''].join('\n');

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'abstract-levels-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const grantsOf = async (dir: string) => {
  const loaded = await loadPolicies(dir);
  expect(loaded.errors.map(formatPolicyError)).toEqual([]);
  return loaded.policies.flatMap((p) => p.grants.map((g) => g.entitlement));
};

describe('abstract levels without policies/levels.yaml (issue 17)', () => {
  it('a folder without levels.yaml loads, and read/write/admin come out as the built-in native levels', async () => {
    const dir = await folder({ 'eng.yaml': policy('eng', ABSTRACT_GRANTS) });
    expect(await grantsOf(dir)).toEqual([
      'github:repo:acme/api#read',
      'github:repo:acme/web#admin',
      'github:team:acme/platform#member',
      'github:team:acme/leads#maintainer',
      'gitlab:group:eng#reporter',
      'gitlab:group:ops#developer',
      'gitlab:project:acme/api#maintainer',
      'jira:project:PLAT#Viewers',
      'jira:project:OPS#Developers',
      'jira:project:SEC#Administrators',
      'aws:account-assignment:111111111111#ReadOnlyAccess',
      'aws:account-assignment:222222222222#PowerUserAccess',
      'aws:account-assignment:333333333333#AdministratorAccess',
    ]);
  });

  it('a partial levels.yaml overrides only the levels it names, merged level by level', async () => {
    const grants = ['gitlab:group:eng#read', 'gitlab:group:eng2#write', 'gitlab:group:eng3#admin', 'gitlab:project:acme/api#read', 'jira:project:PLAT#read', 'aws:account-assignment:111111111111#admin'];
    const dir = await folder({ 'eng.yaml': policy('eng', grants), 'levels.yaml': 'gitlab:\n  group: { read: guest }\naws:\n  account-assignment:\n    admin: OrgAdmin\n' });
    expect(await grantsOf(dir)).toEqual([
      'gitlab:group:eng#guest', // overridden
      'gitlab:group:eng2#developer', // same type, level not named: the default
      'gitlab:group:eng3#maintainer',
      'gitlab:project:acme/api#reporter', // another type of the same system: the default
      'jira:project:PLAT#Viewers', // another system: the default
      'aws:account-assignment:111111111111#OrgAdmin',
    ]);
  });

  it('an abstract level on a type that has no levels is an error at file:line:col, levels.yaml or not', async () => {
    const dir = await folder({ 'eng.yaml': policy('eng', ['okta:group:eng', 'slack:channel:eng#admin', 'scim:figma:group:design#write']) });
    const errors = (await loadPolicies(dir)).errors.map(formatPolicyError);
    expect(errors).toEqual([
      `${dir}/eng.yaml:7:5 "slack:channel:eng#admin": slack:channel has no levels; drop "#admin"`,
      `${dir}/eng.yaml:8:5 "scim:figma:group:design#write": a SCIM app has "account" and "group:<name>", without levels`,
    ]);
  });

  it('an abstract level the level table does not define is reported at file:line:col', () => {
    // With an empty table (a leveled type the built-in defaults would not cover), the level is
    // reported where it is written, not as a folder-wide failure.
    const errors = parsePolicyText('p.yaml', policy('p', ['okta:group:x', 'jira:project:PLAT#write']), {}).errors.map(formatPolicyError);
    expect(errors).toEqual(['p.yaml:7:5 "jira:project:PLAT#write": no native level for "write" on jira:project; add it to levels.yaml in the policies folder or write a native level']);
  });

  it('levels.yaml errors point at file:line:col: an unknown native level, a type without levels', async () => {
    const dir = await folder({ 'eng.yaml': policy('eng', ['gitlab:group:eng#read']), 'levels.yaml': '# overrides\ngitlab:\n  group: { read: viewer }\nslack:\n  channel: { read: member }\n' });
    expect((await loadPolicies(dir)).errors.map(formatPolicyError)).toEqual([
      `${dir}/levels.yaml:3:18 "viewer" is not a gitlab group level (guest, reporter, developer, maintainer, owner)`,
      `${dir}/levels.yaml:5:3 slack:channel has no levels, so it takes no read/write/admin`,
    ]);
    // A misspelt abstract level is not dropped without a word.
    await writeFile(join(dir, 'levels.yaml'), 'gitlab:\n  group:\n    reed: guest\n');
    expect((await loadPolicies(dir)).errors.map(formatPolicyError)).toEqual([`${dir}/levels.yaml:3:5 unknown level "reed"; levels.yaml maps read, write, admin`]);
  });
});
