import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/process.js';

// Issue 17: `gatehouse plan` over a policies folder of one's own, without levels.yaml, failed on
// every abstract level. The built command (dist/) must give the README's table by default.
const gatehouse = (...args: string[]) => run('node', ['bin/gatehouse.js', ...args], {});

const POLICY = [
  'name: eng',
  'description: Engineers.',
  'owner: "@eng-leads"',
  'when: { department: Engineering }',
  'grants:',
  '  - github:repo:acme/api#write',
  '  - github:team:acme/platform#admin',
  '  - gitlab:group:eng#read',
  '  - gitlab:project:acme/api#write',
  '  - jira:project:PLAT#admin',
  '  - aws:account-assignment:111111111111#read',
  'requestable:',
  '  - entitlement: gitlab:group:ops#admin',
  '    approvers: [manager]',
  '',
].join('\n');

// README → Policies → Levels: the documented table.
const README_TABLE = `github:
  repo: { read: read, write: write, admin: admin }
  team: { read: member, write: member, admin: maintainer }
gitlab:
  group: { read: reporter, write: developer, admin: maintainer }
  project: { read: reporter, write: developer, admin: maintainer }
jira:
  project: { read: Viewers, write: Developers, admin: Administrators }
aws:
  account-assignment: { read: ReadOnlyAccess, write: PowerUserAccess, admin: AdministratorAccess }
`;

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'plan-levels-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('gatehouse plan without levels.yaml (issue 17)', () => {
  it('gives the same grants as the same folder with levels.yaml holding the README table', async () => {
    const people = join(await folder({}), 'people.json');
    await writeFile(people, JSON.stringify([{ employee_id: 'e1', email: 'ada@company.com', department: 'Engineering' }]));
    const without = await gatehouse('plan', '--people', people, '--policies', await folder({ 'eng.yaml': POLICY }), '--format', 'json');
    const withTable = await gatehouse('plan', '--people', people, '--policies', await folder({ 'eng.yaml': POLICY, 'levels.yaml': README_TABLE }), '--format', 'json');
    expect(withTable.code, withTable.output).toBe(0);
    expect(without.code, without.output).toBe(0);
    expect(JSON.parse(without.output)).toEqual(JSON.parse(withTable.output));
    const ada = (JSON.parse(without.output) as { people: { grants: { entitlement: string }[]; requestable: { entitlement: string }[] }[] }).people[0]!;
    expect(ada.grants.map((g) => g.entitlement)).toEqual([
      'aws:account-assignment:111111111111#ReadOnlyAccess',
      'github:repo:acme/api#write',
      'github:team:acme/platform#maintainer',
      'gitlab:group:eng#reporter',
      'gitlab:project:acme/api#developer',
      'jira:project:PLAT#Administrators',
    ]);
    expect(ada.requestable.map((r) => r.entitlement)).toEqual(['gitlab:group:ops#maintainer']);
  });

  it('policy check accepts the folder, and reports an abstract level defined nowhere at file:line:col', async () => {
    const good = await gatehouse('policy', 'check', '--policies', await folder({ 'eng.yaml': POLICY }));
    expect(good.code, good.output).toBe(0);
    expect(good.output).toContain('1 policies and 0 conflict rules');
    const dir = await folder({ 'eng.yaml': POLICY.replace('  - gitlab:group:eng#read\n', '  - gitlab:group:eng#read\n  - slack:channel:eng#admin\n') });
    const bad = await gatehouse('policy', 'check', '--policies', dir);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain(`${dir}/eng.yaml:9:5 "slack:channel:eng#admin": slack:channel has no levels; drop "#admin"`);
  });
});
