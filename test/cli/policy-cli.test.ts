import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/process.js';

const gatehouse = (...args: string[]) => run('node', ['bin/gatehouse.js', ...args], {});
const PEOPLE = 'test/fixtures/people.csv';

describe('gatehouse plan / policy / why (the built command)', () => {
  it('plan --format json follows the contract: people[].email, grants[{entitlement, policy, expires_at}], requestable, violations', async () => {
    const { code, output } = await gatehouse('plan', '--people', PEOPLE, '--format', 'json');
    expect(code).toBe(0);
    const json = JSON.parse(output) as { people: { email: string; grants: Record<string, unknown>[]; requestable: unknown[]; violations: unknown[] }[] };
    expect(json.people.map((p) => p.email)).toEqual(['alex.moreau@company.com', 'john.doe@company.com', 'lee.kim@company.com', 'priya.patel@company.com', 'sarah.chen@company.com']);
    for (const p of json.people) {
      expect(Object.keys(p)).toEqual(['email', 'grants', 'requestable', 'violations']);
      for (const g of p.grants) expect(Object.keys(g)).toEqual(['entitlement', 'policy', 'expires_at']);
      const sorted = [...p.grants].sort((a, b) => String(a.entitlement).localeCompare(String(b.entitlement)));
      expect(p.grants).toEqual(sorted);
    }
    const sarah = json.people.find((p) => p.email === 'sarah.chen@company.com')!;
    expect(sarah.grants).toContainEqual({ entitlement: 'gitlab:group:customer-solutions#reporter', policy: 'sales-engineer', expires_at: null });
    // Abstract levels come out native.
    expect(sarah.grants).toContainEqual({ entitlement: 'jira:project:SALES#Viewers', policy: 'sales-engineer', expires_at: null });
    const alex = json.people.find((p) => p.email === 'alex.moreau@company.com')!;
    expect(alex.grants).toContainEqual({ entitlement: 'okta:account', policy: 'contractor', expires_at: '2027-04-01T00:00:00.000Z' });
    // Stable: the same input prints the same bytes.
    expect((await gatehouse('plan', '--people', PEOPLE, '--format', 'json')).output).toBe(output);
  });

  it('plan --against prints what a transfer adds and revokes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plan-'));
    const after = join(dir, 'after.json');
    await writeFile(after, JSON.stringify([{ employee_id: 'emp_101', email: 'john.doe@company.com', department: 'Finance', location: 'London' }]));
    const { code, output } = await gatehouse('plan', '--people', PEOPLE, '--against', after, '--format', 'json');
    expect(code).toBe(0);
    const john = (JSON.parse(output) as { people: { email: string; add: { entitlement: string }[]; revoke: { entitlement: string }[] }[] }).people.find((p) => p.email === 'john.doe@company.com')!;
    expect(john.add.map((g) => g.entitlement)).toContain('okta:group:finance');
    expect(john.revoke.map((g) => g.entitlement)).toContain('okta:group:sales-team');
    expect(john.revoke.map((g) => g.entitlement)).not.toContain('okta:account');
  });

  it('policy check passes on the examples, and lists every error as file:line:col with exit 1', async () => {
    const good = await gatehouse('policy', 'check');
    expect(good.code).toBe(0);
    expect(good.output).toMatch(/7 policies and 2 conflict rules in policies: OK/);
    const dir = await mkdtemp(join(tmpdir(), 'bad-policies-'));
    await writeFile(join(dir, 'bad.yaml'), 'name: bad\ndescription: d\nowner: "@o"\nwhen: { departmnt: Sales }\ngrants:\n  - github:repo:acme/api#writer\n');
    const bad = await gatehouse('policy', 'check', '--policies', dir);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain(`${dir}/bad.yaml:6:5 "github:repo:acme/api#writer": "writer" is not a github repo level (did you mean "write"?)`);
    expect(bad.output).toContain(`${dir}/bad.yaml:4:9 unknown attribute "departmnt" (did you mean "department"?)`);
  });

  it('policy impact says who gains and loses what', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'changed-policies-'));
    const { readdir, readFile } = await import('node:fs/promises');
    for (const f of await readdir('policies')) await writeFile(join(dir, f), await readFile(join('policies', f)));
    await writeFile(join(dir, 'sales.yaml'), (await readFile('policies/sales.yaml', 'utf8')).replace('  - slack:channel:sales-team\n', '  - slack:channel:sales-team\n  - slack:channel:deals\n'));
    const { code, output } = await gatehouse('policy', 'impact', '--base', 'policies', '--policies', dir, '--people', PEOPLE, '--format', 'json');
    expect(code).toBe(0);
    expect(JSON.parse(output)).toEqual({ people: [{ email: 'john.doe@company.com', gain: ['slack:channel:deals'], lose: [] }] });
  });

  it('why explains a grant, and the closest miss', async () => {
    const yes = await gatehouse('why', 'priya.patel@company.com', 'github:repo:acme/platform-api#maintain', '--people', PEOPLE);
    expect(yes.code).toBe(0);
    expect(yes.output).toContain('gets github:repo:acme/platform-api#maintain from:\n  policy platform-engineer, because:');
    const no = await gatehouse('why', 'lee.kim@company.com', 'github:repo:acme/platform-api#maintain', '--people', PEOPLE);
    expect(no.output).toContain('The closest policy is platform-engineer; it fails on:');
    expect(no.output).toContain('✗ job_title is one of');
  });

  it('usage errors exit 2; bad input exits 1 naming the row', async () => {
    expect((await gatehouse('plan', '--people', PEOPLE, '--format', 'xml')).code).toBe(2);
    expect((await gatehouse('plan')).code).toBe(2);
    const dir = await mkdtemp(join(tmpdir(), 'people-'));
    await writeFile(join(dir, 'p.csv'), 'employee_id,email\ne1,not-an-email\n');
    const bad = await gatehouse('plan', '--people', join(dir, 'p.csv'));
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('row 2: email: must be an email address');
  });
});
