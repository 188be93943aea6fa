import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyPerson } from '../../src/policy/condition.js';
import { buildPolicySet, diffPlans, evaluate, findConflicts, type PolicySet, why } from '../../src/policy/evaluate.js';
import { loadPolicies, parsePolicyText } from '../../src/policy/loader.js';
import { ROOT } from '../helpers/process.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const person = (p: Partial<PolicyPerson> & { email: string }): PolicyPerson => ({ employee_id: p.email.split('@')[0]!, status: 'active', ...p });
const entitlements = (set: PolicySet, p: PolicyPerson) => evaluate(set, p, { now: NOW }).grants.map((g) => g.entitlement);

function setFrom(...texts: string[]): PolicySet {
  const policies = [];
  const conflicts = [];
  for (const [i, text] of texts.entries()) {
    const r = parsePolicyText(`p${i}.yaml`, text, { aws: { 'account-assignment': { read: 'ReadOnlyAccess', write: 'PowerUserAccess', admin: 'AdministratorAccess' } } });
    expect(r.errors).toEqual([]);
    if (r.policy) policies.push(r.policy);
    conflicts.push(...r.conflicts);
  }
  return buildPolicySet({ policies, conflicts });
}

describe('evaluating the example policies', () => {
  let set: PolicySet;
  beforeAll(async () => {
    const loaded = await loadPolicies(`${ROOT}/policies`);
    expect(loaded.errors).toEqual([]);
    set = buildPolicySet(loaded);
  });

  const platform = person({ email: 'priya@company.com', department: 'Engineering', team: 'Platform', job_title: 'Senior Platform Engineer', employment_type: 'FTE', location: 'New York' });

  it('a platform engineer gets the base set and the platform set, levels translated', () => {
    const grants = entitlements(set, platform);
    expect(grants).toEqual(
      expect.arrayContaining([
        'okta:account',
        'google:account',
        'slack:account',
        'slack:channel:general',
        'github:repo:acme/platform-api#maintain',
        'github:repo:acme/platform-infra#write',
        'jira:project:PLAT#Developers',
        'aws:account-assignment:111111111111#PowerUserAccess',
        'aws:account-assignment:333333333333#ReadOnlyAccess',
        'slack:channel:platform-oncall',
      ]),
    );
    expect(grants).not.toContain('okta:group:gdpr-data-subjects');
  });

  it('production admin is only requestable: ≤ 8h, manager then security, on-call auto-approved for 1h', () => {
    const plan = evaluate(set, { ...platform, groups: ['platform-oncall'] }, { now: NOW });
    const prod = plan.requestable.find((r) => r.entitlement === 'aws:account-assignment:222222222222#AdministratorAccess');
    expect(prod).toEqual({
      entitlement: 'aws:account-assignment:222222222222#AdministratorAccess',
      policy: 'platform-engineer',
      description: expect.any(String),
      max_duration: '8h',
      justification: 'required',
      approvers: [
        { mode: 'any', approvers: ['manager'] },
        { mode: 'any', approvers: ['@security-oncall'] },
      ],
      auto_approve: { eligible: true, max_duration: '1h' },
    });
    expect(evaluate(set, platform, { now: NOW }).requestable.find((r) => r.entitlement === prod!.entitlement)?.auto_approve?.eligible).toBe(false);
  });

  it('a contractor gets the restricted set, all of it ending at the end of end_date, and nothing from Finance', () => {
    const plan = evaluate(set, person({ email: 'alex@company.com', employment_type: 'Contractor', department: 'Finance', end_date: '2027-03-31' }), { now: NOW });
    expect(plan.grants.map((g) => g.entitlement)).toEqual(['google:account', 'okta:account', 'okta:group:contractors', 'slack:account', 'slack:channel:contractors']);
    expect(new Set(plan.grants.map((g) => g.expires_at))).toEqual(new Set(['2027-04-01T00:00:00.000Z']));
  });

  it('a contractor without end_date gets nothing, and the plan says why', () => {
    const plan = evaluate(set, person({ email: 'alex@company.com', employment_type: 'Contractor' }), { now: NOW });
    expect(plan.grants).toEqual([]);
    expect(plan.violations).toEqual([{ kind: 'expiry', name: 'contractor', entitlements: [], reason: expect.stringContaining('has no end_date') }]);
  });

  it('people who are not active have no desired access', () => {
    expect(entitlements(set, { ...platform, status: 'terminated' })).toEqual([]);
    expect(entitlements(set, { ...platform, end_date: '2026-11-22' })).toEqual([]);
    expect(entitlements(set, { ...platform, end_date: '2026-11-23' })).not.toEqual([]); // still their last day
  });

  it('GDPR applies by location or by country attribute', () => {
    expect(entitlements(set, person({ email: 'a@company.com', location: 'London' }))).toContain('okta:group:gdpr-data-subjects');
    expect(entitlements(set, person({ email: 'b@company.com', location: 'Remote', attributes: { country: 'DE' } }))).toContain('okta:group:gdpr-data-subjects');
    expect(entitlements(set, person({ email: 'c@company.com', location: 'Austin', attributes: { country: 'US' } }))).not.toContain('okta:group:gdpr-data-subjects');
  });

  it('a sales engineer gets the SE set, not the account executives\' profile', () => {
    const grants = entitlements(set, person({ email: 's@company.com', department: 'Sales', job_title: 'Sales Engineer' }));
    expect(grants).toEqual(expect.arrayContaining(['gitlab:group:customer-solutions#reporter', 'salesforce:profile:Sales Engineer', 'jira:project:SALES#Viewers', 'slack:channel:engineering-general']));
    expect(grants).not.toContain('salesforce:profile:Sales User');
  });

  it('the separation-of-duties rules flag quoting with discount approval, and admin with audit-log write at any level above', () => {
    expect(findConflicts(set, ['salesforce:permission-set:Create_Quotes', 'salesforce:permission-set:Approve_Discounts'])).toEqual([
      { kind: 'sod', name: 'quote-to-discount', entitlements: ['salesforce:permission-set:Approve_Discounts', 'salesforce:permission-set:Create_Quotes'], reason: expect.any(String) },
    ]);
    expect(findConflicts(set, ['aws:account-assignment:222222222222#AdministratorAccess', 'github:repo:acme/audit-log#admin'])).toHaveLength(1);
    expect(findConflicts(set, ['aws:account-assignment:222222222222#AdministratorAccess', 'github:repo:acme/audit-log#read'])).toEqual([]);
  });

  it('why: names the policy and the conditions that matched, or the closest one and what failed', () => {
    const yes = why(set, platform, 'github:repo:acme/platform-api#maintain', { now: NOW });
    expect(yes.granted).toBe(true);
    expect(yes.grantedBy.map((g) => g.policy)).toEqual(['platform-engineer']);
    const no = why(set, { ...platform, team: 'Data' }, 'github:repo:acme/platform-api#maintain', { now: NOW });
    expect(no.granted).toBe(false);
    expect(no.closest?.policy).toBe('platform-engineer');
    expect(no.closest?.failed).toEqual([{ text: 'team equals "Platform"', holds: false, actual: 'Data' }]);
  });
});

describe('evaluation rules', () => {
  const base = 'description: d\nowner: "@o"\n';
  it('several policies granting one entitlement: listed together, permanent beats expiring, critical wins', () => {
    const set = setFrom(
      `name: a\n${base}when: { department: X }\ngrants: [okta:group:g]\n`,
      `name: b\n${base}when: { department: X }\nexpires: end_date\ngrants: [{ entitlement: okta:group:g, critical: true }]\n`,
    );
    const [grant] = evaluate(set, person({ email: 'p@c.co', department: 'X', end_date: '2027-01-01' }), { now: NOW }).grants;
    expect(grant).toEqual({ entitlement: 'okta:group:g', policy: 'a', policies: ['a', 'b'], expires_at: null, critical: true, drift: 'alert' });
  });

  it('one level per ranked resource: the higher wins', () => {
    const set = setFrom(
      `name: a\n${base}when: { department: X }\ngrants: ["github:repo:acme/api#write", "jira:project:PLAT#Viewers"]\n`,
      `name: b\n${base}when: { department: X }\ngrants: ["github:repo:acme/api#maintain", "jira:project:PLAT#Developers"]\n`,
    );
    expect(entitlements(set, person({ email: 'p@c.co', department: 'X' }))).toEqual(['github:repo:acme/api#maintain', 'jira:project:PLAT#Developers', 'jira:project:PLAT#Viewers']);
  });

  it('grants whose expiry has passed are not desired', () => {
    const set = setFrom(`name: a\n${base}when: { department: X }\nexpires: attributes.project_end\ngrants: [okta:group:g]\n`);
    expect(entitlements(set, person({ email: 'p@c.co', department: 'X', attributes: { project_end: '2026-11-01' } }))).toEqual([]);
    expect(entitlements(set, person({ email: 'p@c.co', department: 'X', attributes: { project_end: '2026-12-01' } }))).toEqual(['okta:group:g']);
  });

  it('a birthright plan that breaks a conflict rule is flagged', () => {
    const set = setFrom(`name: a\n${base}when: { department: X }\ngrants: [okta:group:a, okta:group:b]\n`, 'conflicts:\n  - { name: ab, entitlements: [okta:group:a, okta:group:b], reason: no }\n');
    expect(evaluate(set, person({ email: 'p@c.co', department: 'X' }), { now: NOW }).violations).toEqual([{ kind: 'sod', name: 'ab', entitlements: ['okta:group:a', 'okta:group:b'], reason: 'no' }]);
  });

  it('a transfer is the delta between two plans: grants to add and to revoke', () => {
    const set = setFrom(`name: a\n${base}when: { team: A }\ngrants: [okta:group:a, okta:group:shared]\n`, `name: b\n${base}when: { team: B }\ngrants: [okta:group:b, okta:group:shared]\n`);
    const before = [evaluate(set, person({ email: 'p@c.co', team: 'A' }), { now: NOW })];
    const after = [evaluate(set, person({ email: 'p@c.co', team: 'B' }), { now: NOW })];
    const [delta] = diffPlans(before, after);
    expect(delta!.add.map((g) => g.entitlement)).toEqual(['okta:group:b']);
    expect(delta!.revoke.map((g) => g.entitlement)).toEqual(['okta:group:a']);
    expect(diffPlans(before, before)).toEqual([]);
  });
});
