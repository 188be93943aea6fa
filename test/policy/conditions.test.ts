import { describe, expect, it } from 'vitest';
import { type CompileError, compileCondition, type PolicyPerson } from '../../src/policy/condition.js';
import type { Condition } from '../../src/policy/schema.js';

const sarah: PolicyPerson = {
  employee_id: 'emp_1',
  email: 'sarah.chen@company.com',
  department: 'Sales',
  job_title: 'Sales Engineer',
  employment_type: 'FTE',
  location: 'Berlin',
  start_date: '2026-11-25',
  end_date: null,
  attributes: { clearance: 'secret', level: 5, languages: ['en', 'de'] },
  groups: ['platform-oncall', 'sales'],
};

function holds(condition: Condition, person = sarah): boolean {
  const errors: CompileError[] = [];
  const compiled = compileCondition(condition, ['when'], errors);
  expect(errors).toEqual([]);
  return compiled.test(person);
}

describe('policy conditions', () => {
  it('equals is exact and case-sensitive', () => {
    expect(holds({ department: 'Sales' })).toBe(true);
    expect(holds({ department: 'sales' })).toBe(false);
    expect(holds({ 'attributes.level': 5 })).toBe(true);
  });

  it('in: one of the values', () => {
    expect(holds({ location: { in: ['London', 'Berlin'] } })).toBe(true);
    expect(holds({ location: { in: ['London'] } })).toBe(false);
  });

  it('matches: a glob', () => {
    expect(holds({ job_title: { matches: 'Sales*' } })).toBe(true);
    expect(holds({ job_title: { matches: '*Engineer' } })).toBe(true);
    expect(holds({ job_title: { matches: 'Sales?Engineer' } })).toBe(true);
    expect(holds({ job_title: { matches: 'Engineer' } })).toBe(false);
  });

  it('regex', () => {
    expect(holds({ job_title: { regex: '^Sales\\s' } })).toBe(true);
    expect(holds({ job_title: { regex: '^Sr\\.' } })).toBe(false);
  });

  it('exists: present and not empty', () => {
    expect(holds({ start_date: { exists: true } })).toBe(true);
    expect(holds({ end_date: { exists: true } })).toBe(false);
    expect(holds({ end_date: { exists: false } })).toBe(true);
    expect(holds({ 'attributes.missing': { exists: false } })).toBe(true);
  });

  it('before and after compare dates', () => {
    expect(holds({ start_date: { after: '2026-11-01' } })).toBe(true);
    expect(holds({ start_date: { before: '2026-11-25' } })).toBe(false);
    expect(holds({ start_date: { before: '2026-11-26' } })).toBe(true);
    // A missing date satisfies neither.
    expect(holds({ end_date: { before: '2999-01-01' } })).toBe(false);
  });

  it('on a list attribute, equals means contains and in means shares any', () => {
    expect(holds({ groups: 'platform-oncall' })).toBe(true);
    expect(holds({ groups: 'admins' })).toBe(false);
    expect(holds({ groups: { in: ['admins', 'sales'] } })).toBe(true);
    expect(holds({ 'attributes.languages': 'de' })).toBe(true);
  });

  it('all, any and not nest; a map is all of its entries', () => {
    expect(holds({ department: 'Sales', location: 'Berlin' })).toBe(true);
    expect(holds({ department: 'Sales', location: 'Paris' })).toBe(false);
    expect(holds({ any: [{ location: 'Paris' }, { groups: 'sales' }] })).toBe(true);
    expect(holds({ not: { employment_type: 'Contractor' } })).toBe(true);
    expect(holds({ all: [{ department: 'Sales' }, { not: { any: [{ location: 'Paris' }, { location: 'Berlin' }] } }] })).toBe(false);
  });

  it('status defaults to active when a record omits it', () => {
    expect(holds({ status: 'active' })).toBe(true);
    expect(holds({ status: 'active' }, { ...sarah, status: 'terminated' })).toBe(false);
  });

  it('reports unknown attributes with a suggestion, and bad regexes, at their path', () => {
    const errors: CompileError[] = [];
    compileCondition({ all: [{ departmnet: 'Sales' }, { job_title: { regex: '([' } }] }, ['when'], errors);
    expect(errors).toEqual([
      { path: ['when', 'all', 0, 'departmnet'], atKey: true, message: expect.stringContaining('unknown attribute "departmnet" (did you mean "department"?)') },
      { path: ['when', 'all', 1, 'job_title', 'regex'], message: expect.stringContaining('invalid regular expression') },
    ]);
  });

  it('explains which tests held and what the person has', () => {
    const compiled = compileCondition({ department: 'Sales', location: 'Paris' }, ['when'], []);
    expect(compiled.explain(sarah)).toEqual({
      text: 'all of',
      holds: false,
      children: [
        { text: 'department equals "Sales"', holds: true, actual: 'Sales' },
        { text: 'location equals "Paris"', holds: false, actual: 'Berlin' },
      ],
    });
  });

  it('collects the equality tests every match needs, for indexing', () => {
    const compiled = compileCondition({ all: [{ department: 'Sales' }, { job_title: { in: ['A', 'B'] } }, { any: [{ team: 'X' }] }] }, ['when'], []);
    expect(compiled.required).toEqual(new Map([['department', new Set(['Sales'])], ['job_title', new Set(['A', 'B'])]]));
  });
});
