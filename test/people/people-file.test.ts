import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PeopleFileError, parsePeopleText } from '../../src/people/people-file.js';

const CSV = `employee_id,email,first_name,last_name,job_title,department,team,employment_type,start_date,end_date,manager_email,location,attributes.clearance,attributes.languages
emp_1,sarah.chen@company.com,Sarah,Chen,Sales Engineer,Sales,Enterprise,FTE,2026-11-25,,john.doe@company.com,San Francisco,secret,en;zh
emp_2,bad-email,Bob,,Engineer,Engineering,Platform,Freelancer,2026-13-01,,,,,
`;

describe('people files', () => {
  it('reads CSV rows into person records, attributes.<key> columns into attributes', () => {
    const { records, errors } = parsePeopleText(CSV, 'csv');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      employee_id: 'emp_1',
      email: 'sarah.chen@company.com',
      status: 'active',
      attributes: { clearance: 'secret', languages: ['en', 'zh'] },
    });
    expect(records[0]).not.toHaveProperty('end_date');
    // Every problem of the bad row is reported, with its line.
    expect(errors).toEqual([
      { row: 3, path: 'email', message: 'must be an email address' },
      { row: 3, path: 'employment_type', message: 'must be one of FTE, Contractor, Intern' },
      { row: 3, path: 'start_date', message: 'is not a real calendar date' },
    ]);
  });

  it('reads a JSON array of webhook data objects', () => {
    const { records, errors } = parsePeopleText(
      JSON.stringify([
        { employee_id: 'e1', email: 'a@b.co', end_date: null, attributes: { level: 3 } },
        { email: 'x@y.co' },
      ]),
      'json',
    );
    expect(records.map((r) => r.employee_id)).toEqual(['e1']);
    expect(errors).toEqual([{ row: 1, path: 'employee_id', message: 'is required' }]);
  });

  it('refuses malformed files with a message naming the file', () => {
    expect(() => parsePeopleText('{', 'json', 'people.json')).toThrow(PeopleFileError);
    expect(() => parsePeopleText('{"a":1}', 'json', 'people.json')).toThrow(
      /people.json: expected a JSON array/,
    );
    expect(() => parsePeopleText('a,b\n1,2,3\n', 'csv', 'p.csv')).toThrow(/p.csv: not valid CSV/);
  });

  it('never throws anything but PeopleFileError, and every row is either a record or an error (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.array(fc.dictionary(fc.string(), fc.jsonValue())).map((a) => JSON.stringify(a)),
        ),
        (input) => {
          for (const format of ['csv', 'json'] as const) {
            try {
              const { records, errors } = parsePeopleText(input, format);
              for (const r of records) expect(typeof r.employee_id).toBe('string');
              for (const e of errors) expect(e.message.length).toBeGreaterThan(0);
            } catch (error) {
              expect(error).toBeInstanceOf(PeopleFileError);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
