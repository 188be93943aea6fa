import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyPerson } from '../../src/policy/condition.js';
import { buildPolicySet, evaluate, type PolicySet } from '../../src/policy/evaluate.js';
import { type LoadedPolicies, loadPolicies, parsePolicyText } from '../../src/policy/loader.js';
import { policyJsonSchema } from '../../src/policy/schema.js';
import { ROOT } from '../helpers/process.js';

const NOW = new Date('2026-11-23T12:00:00Z');

const personArb: fc.Arbitrary<PolicyPerson> = fc.record({
  employee_id: fc.constantFrom('e1', 'e2', 'e3'),
  email: fc.constantFrom('a@company.com', 'b@company.com'),
  department: fc.constantFrom('Sales', 'Engineering', 'Finance', 'Legal'),
  team: fc.constantFrom('Platform', 'Enterprise', 'Data'),
  job_title: fc.constantFrom('Sales Engineer', 'Platform Engineer', 'Senior Platform Engineer', 'Account Executive', 'Analyst'),
  employment_type: fc.constantFrom('FTE', 'Contractor', 'Intern'),
  location: fc.constantFrom('London', 'Berlin', 'New York', 'Remote'),
  end_date: fc.constantFrom(null, '2026-01-01', '2027-06-30'),
  status: fc.constantFrom('active', 'terminated'),
  groups: fc.uniqueArray(fc.constantFrom('platform-oncall', 'sales', 'admins'), { maxLength: 3 }),
  attributes: fc.record({ country: fc.constantFrom('GB', 'DE', 'US') }),
});

function shuffledPerson(p: PolicyPerson, order: number[]): PolicyPerson {
  const entries = Object.entries(p);
  const shuffled = order.map((i) => entries[i % entries.length]!).concat(entries);
  const out: Record<string, unknown> = {};
  for (const [k, v] of shuffled) if (!(k in out)) out[k] = v;
  if (Array.isArray(p.groups)) out.groups = [...p.groups].reverse();
  return out as PolicyPerson;
}

describe('policy evaluation properties', () => {
  let loaded: LoadedPolicies;
  let set: PolicySet;
  beforeAll(async () => {
    loaded = await loadPolicies(join(ROOT, 'policies'));
    set = buildPolicySet(loaded);
  });

  it('is deterministic and independent of policy order and attribute order', () => {
    fc.assert(
      fc.property(personArb, fc.array(fc.nat(), { maxLength: 20 }), fc.array(fc.nat(), { minLength: 1 }), (person, order, seed) => {
        const plan = evaluate(set, person, { now: NOW });
        expect(evaluate(set, person, { now: NOW })).toEqual(plan);
        const policies = [...loaded.policies].sort((a, b) => ((seed[a.name.length % seed.length]! + a.name.charCodeAt(0)) % 7) - ((seed[b.name.length % seed.length]! + b.name.charCodeAt(0)) % 7)).reverse();
        const reshuffled = buildPolicySet({ policies, conflicts: [...loaded.conflicts].reverse() });
        expect(evaluate(reshuffled, shuffledPerson(person, order), { now: NOW })).toEqual(plan);
      }),
      { numRuns: 400 },
    );
  });

  it('the index never changes the result: same plan as testing every policy', () => {
    const unindexed: PolicySet = { ...set, index: new Map(), unindexed: set.policies.map((_, i) => i) };
    fc.assert(
      fc.property(personArb, (person) => {
        expect(evaluate(set, person, { now: NOW })).toEqual(evaluate(unindexed, person, { now: NOW }));
      }),
      { numRuns: 400 },
    );
  });

  it('the loader never throws on random or mutated input: it returns errors', () => {
    const example = readFileSync(join(ROOT, 'policies', 'platform-engineer.yaml'), 'utf8');
    const mutated = fc.tuple(fc.nat(example.length), fc.nat(40), fc.string({ maxLength: 12 })).map(([at, cut, insert]) => example.slice(0, at) + insert + example.slice(at + cut));
    fc.assert(
      fc.property(fc.oneof(fc.string(), mutated, fc.jsonValue().map((v) => JSON.stringify(v))), (text) => {
        const result = parsePolicyText('x.yaml', text, {});
        for (const e of result.errors) {
          expect(e.line).toBeGreaterThanOrEqual(1);
          expect(e.col).toBeGreaterThanOrEqual(1);
          expect(e.message.length).toBeGreaterThan(0);
        }
        expect(result.policy !== undefined || result.errors.length > 0 || result.conflicts.length > 0).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('policies/schema.json', () => {
  it('is the JSON Schema the engine generates (regenerate: gatehouse policy schema > policies/schema.json)', () => {
    const onDisk = JSON.parse(readFileSync(join(ROOT, 'policies', 'schema.json'), 'utf8'));
    expect(onDisk).toEqual(policyJsonSchema());
  });

  it('every example policy points editors at it on its first line', () => {
    const files = readdirSync(join(ROOT, 'policies')).filter((f) => f.endsWith('.yaml') && f !== 'levels.yaml');
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) expect(readFileSync(join(ROOT, 'policies', f), 'utf8').split('\n')[0], f).toBe('# yaml-language-server: $schema=./schema.json');
  });
});
