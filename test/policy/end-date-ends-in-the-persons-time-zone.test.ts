import { describe, expect, it } from 'vitest';
import { personRecordSchema, toFieldErrors } from '../../src/people/person-record.js';
import type { PolicyPerson } from '../../src/policy/condition.js';
import { buildPolicySet, evaluate } from '../../src/policy/evaluate.js';
import { parsePolicyText } from '../../src/policy/loader.js';

/**
 * Issue 17, "days counted right, in the person's time zone": `end_date` is a day on the person's
 * calendar. Access lasts through it where they are, so it ends at the local midnight after it,
 * with that date's offset (daylight saving included), not at midnight UTC.
 */
const set = (() => {
  const r = parsePolicyText('contractor.yaml', ['name: contractor', 'description: Contractors.', 'owner: "@it"', 'when: { employment_type: Contractor }', 'grants: [okta:account]', 'expires: end_date'].join('\n'), {});
  expect(r.errors).toEqual([]);
  return buildPolicySet({ policies: [r.policy!], conflicts: [] });
})();

const contractor = (p: Partial<PolicyPerson>): PolicyPerson => ({ employee_id: 'c1', email: 'casey@contractor.example', status: 'active', employment_type: 'Contractor', ...p });
const SETTINGS = { byLocation: new Map([['sydney', 'Australia/Sydney'], ['new york', 'America/New_York']]), defaultZone: 'UTC' };
const expiresAt = (p: PolicyPerson, now = new Date('2026-01-01T00:00:00Z')) => evaluate(set, p, { now, timeZones: SETTINGS }).grants[0]?.expires_at ?? null;
const activeAt = (p: PolicyPerson, iso: string) => evaluate(set, p, { now: new Date(iso), timeZones: SETTINGS }).active;
const second = (iso: string, by: number) => new Date(Date.parse(iso) + by * 1000).toISOString();

describe("end_date ends at midnight after it, in the person's time zone", () => {
  it('a contractor in Sydney whose end date is 31 January keeps access until the end of 31 January Sydney time (13:00 UTC)', () => {
    const sydney = contractor({ end_date: '2026-01-31', time_zone: 'Australia/Sydney' });
    expect(expiresAt(sydney)).toBe('2026-01-31T13:00:00.000Z');
    expect(activeAt(sydney, second('2026-01-31T13:00:00Z', -1))).toBe(true);
    expect(activeAt(sydney, '2026-01-31T13:00:00Z')).toBe(false);
    // The grant ending then is no longer planned after it, either.
    expect(evaluate(set, sydney, { now: new Date('2026-01-31T13:00:00Z'), timeZones: SETTINGS }).grants).toEqual([]);
  });

  it('a person with no zone and no mapped location counts in UTC (DEFAULT_TIME_ZONE unset)', () => {
    const nowhere = contractor({ end_date: '2026-01-31', location: 'Lisbon' });
    expect(expiresAt(nowhere)).toBe('2026-02-01T00:00:00.000Z');
    expect(activeAt(nowhere, '2026-01-31T23:59:59Z')).toBe(true);
    expect(activeAt(nowhere, '2026-02-01T00:00:00Z')).toBe(false);
    // Without any settings at all, too.
    expect(evaluate(set, nowhere, { now: new Date('2026-01-01T00:00:00Z') }).grants[0]!.expires_at).toBe('2026-02-01T00:00:00.000Z');
  });

  it('DEFAULT_TIME_ZONE applies to everyone else', () => {
    const plan = evaluate(set, contractor({ end_date: '2026-01-31', location: 'Lisbon' }), { now: new Date('2026-01-01T00:00:00Z'), timeZones: { byLocation: new Map(), defaultZone: 'Asia/Tokyo' } });
    expect(plan.grants[0]!.expires_at).toBe('2026-01-31T15:00:00.000Z');
  });

  it('the location map gives the zone when the record has none (matched ignoring case and spaces); an explicit time_zone wins over it', () => {
    expect(expiresAt(contractor({ end_date: '2026-01-31', location: 'Sydney' }))).toBe('2026-01-31T13:00:00.000Z');
    expect(expiresAt(contractor({ end_date: '2026-01-31', location: ' SYDNEY ' }))).toBe('2026-01-31T13:00:00.000Z');
    expect(expiresAt(contractor({ end_date: '2026-01-31', location: 'Sydney', time_zone: 'America/New_York' }))).toBe('2026-02-01T05:00:00.000Z');
  });

  it('on the day New York clocks change, the end is the local midnight after that day, with the offset then in force', () => {
    // 8 March 2026: 02:00 EST → 03:00 EDT. The day is 23 hours long and ends at 00:00 EDT (UTC−4).
    expect(expiresAt(contractor({ end_date: '2026-03-08', time_zone: 'America/New_York' }))).toBe('2026-03-09T04:00:00.000Z');
    // 1 November 2026: 02:00 EDT → 01:00 EST. 25 hours long, ending at 00:00 EST (UTC−5).
    expect(expiresAt(contractor({ end_date: '2026-11-01', time_zone: 'America/New_York' }))).toBe('2026-11-02T05:00:00.000Z');
    // The day before each change ends with the old offset.
    expect(expiresAt(contractor({ end_date: '2026-03-07', time_zone: 'America/New_York' }))).toBe('2026-03-08T05:00:00.000Z');
    expect(expiresAt(contractor({ end_date: '2026-10-31', time_zone: 'America/New_York' }))).toBe('2026-11-01T04:00:00.000Z');
  });

  it('on the days Sydney clocks change, likewise', () => {
    // 5 April 2026: 03:00 AEDT → 02:00 AEST; the day ends at 00:00 AEST (UTC+10).
    expect(expiresAt(contractor({ end_date: '2026-04-05', location: 'Sydney' }))).toBe('2026-04-05T14:00:00.000Z');
    expect(expiresAt(contractor({ end_date: '2026-04-04', location: 'Sydney' }))).toBe('2026-04-04T13:00:00.000Z');
    // 4 October 2026: 02:00 AEST → 03:00 AEDT; the day ends at 00:00 AEDT (UTC+11).
    expect(expiresAt(contractor({ end_date: '2026-10-04', location: 'Sydney' }))).toBe('2026-10-04T13:00:00.000Z');
    expect(expiresAt(contractor({ end_date: '2026-10-03', location: 'Sydney' }))).toBe('2026-10-03T14:00:00.000Z');
  });

  it('where clocks jump at midnight, the day begins when they jump (Santiago, 6 September 2026: 00:00 −04 → 01:00 −03)', () => {
    expect(expiresAt(contractor({ end_date: '2026-09-05', time_zone: 'America/Santiago' }))).toBe('2026-09-06T04:00:00.000Z');
  });
});

describe('time_zone in the person record', () => {
  it('is an optional IANA zone, stored as the zone database spells it', () => {
    expect(personRecordSchema.parse({ employee_id: 'e1', email: 'a@company.com', time_zone: 'australia/sydney' }).time_zone).toBe('Australia/Sydney');
    expect(personRecordSchema.parse({ employee_id: 'e1', email: 'a@company.com' }).time_zone).toBeUndefined();
  });

  it('refuses what is not a zone (a fixed offset, a typo), naming the field', () => {
    for (const bad of ['Australia/Sidney', '+10:00', 'AEST ', '']) {
      const result = personRecordSchema.safeParse({ employee_id: 'e1', email: 'a@company.com', time_zone: bad });
      expect(result.success, bad).toBe(false);
      expect(toFieldErrors(result.error!).map((e) => e.path)).toEqual(['time_zone']);
    }
    const typo = personRecordSchema.safeParse({ employee_id: 'e1', email: 'a@company.com', time_zone: 'Australia/Sidney' });
    expect(toFieldErrors(typo.error!)[0]!.message).toBe('"Australia/Sidney" is not an IANA time zone; use a name such as Australia/Sydney, America/New_York or UTC');
  });
});
