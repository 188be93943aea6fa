import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatPolicyError, loadPolicies, parsePolicyText } from '../../src/policy/loader.js';

const levels = { gitlab: { group: { read: 'reporter', write: 'developer', admin: 'maintainer' } } };
const errorsOf = (text: string) => parsePolicyText('p.yaml', text, levels).errors.map(formatPolicyError);

describe('policy errors point at file:line:col', () => {
  it('an unknown entitlement level, with a suggestion', () => {
    const text = ['name: p', 'description: d', 'owner: "@o"', 'when: { department: Sales }', 'grants:', '  - okta:group:x', '  - github:repo:acme/api#writer', ''].join('\n');
    expect(errorsOf(text)).toEqual(['p.yaml:7:5 "github:repo:acme/api#writer": "writer" is not a github repo level (did you mean "write"?); levels: read, triage, write, maintain, admin (or read/write/admin)']);
  });

  it('an unknown key, at the key', () => {
    const text = ['name: p', 'description: d', 'owner: "@o"', 'when: { department: Sales }', 'grant:', '  - okta:group:x', ''].join('\n');
    expect(errorsOf(text)).toEqual(['p.yaml:5:1 unknown key "grant"']);
  });

  it('a missing required key, at the map that lacks it', () => {
    const text = ['name: p', 'owner: "@o"', 'when: { department: Sales }', ''].join('\n');
    expect(errorsOf(text)).toEqual(['p.yaml:1:1 missing required key "description"']);
  });

  it('an unknown attribute in a nested condition', () => {
    const text = ['name: p', 'description: d', 'owner: "@o"', 'when:', '  all:', '    - department: Sales', '    - not: { titel: Intern }', 'grants: [okta:group:x]', ''].join('\n');
    expect(errorsOf(text)).toEqual([expect.stringMatching(/^p\.yaml:7:14 unknown attribute "titel"; use a person field/)]);
  });

  it('a bad approver and a bad duration, both reported at once', () => {
    const text = [
      'name: p',
      'description: d',
      'owner: "@o"',
      'when: { department: Sales }',
      'requestable:',
      '  - entitlement: gitlab:group:eng#write',
      '    max_duration: 8 hours',
      '    approvers: [manager, bob]',
      '',
    ].join('\n');
    const errors = errorsOf(text);
    expect(errors).toContain('p.yaml:7:19 must be a duration such as 30m, 8h, 30d or 2w');
    expect(errors).toHaveLength(1); // schema errors stop before semantic checks
    const second = errorsOf(text.replace('8 hours', '8h'));
    expect(second).toEqual(['p.yaml:8:26 approver "bob" is not "manager", "owner", a Slack user group "@name" or a Slack user id "U…"']);
  });

  it('invalid YAML', () => {
    expect(errorsOf('name: p\nwhen: [unclosed\n')[0]).toMatch(/^p\.yaml:\d+:\d+ YAML: /);
  });

  it('a file of conflicts whose entitlement is wrong', () => {
    expect(errorsOf('conflicts:\n  - name: c\n    entitlements: [okta:group:a, okta:gruop:b]\n    reason: r\n')).toEqual([
      'p.yaml:3:34 "okta:gruop:b": okta has no type "gruop" (did you mean "group"?); it has account, group',
    ]);
  });

  it('every error of every file at once, and duplicate names across files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policies-'));
    const policy = (name: string, grant: string) => `name: ${name}\ndescription: d\nowner: "@o"\nwhen: { department: Sales }\ngrants: [${grant}]\n`;
    await writeFile(join(dir, 'a.yaml'), policy('one', 'okta:grup:x'));
    await writeFile(join(dir, 'b.yaml'), policy('two', 'github:repo:acme/x#god'));
    await writeFile(join(dir, 'c.yml'), policy('three', 'okta:group:x'));
    await writeFile(join(dir, 'd.yml'), `# a comment first\n${policy('three', 'okta:group:y')}`);
    await writeFile(join(dir, 'notes.txt'), 'ignored');
    const { errors, policies } = await loadPolicies(dir);
    expect(errors.map((e) => `${e.file.slice(dir.length + 1)}:${e.line}:${e.col}`)).toEqual(['a.yaml:5:10', 'b.yaml:5:10', 'd.yml:2:7']);
    expect(errors[2]!.message).toBe('policy name "three" is already used by c.yml');
    expect(policies.map((p) => p.name)).toEqual(['three']);
  });
});
