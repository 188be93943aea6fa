import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { deliverNotification, type Notification } from '../../src/orchestrator/notifications.js';
import { QUEUES } from '../../src/orchestrator/queue.js';
import { sweepContractorNotices } from '../../src/requests/lifecycle.js';
import type { SlackMessage } from '../../src/slack/notifier.js';
import { migratedDatabaseWithQueue } from '../helpers/database.js';

/**
 * Issue 17: contractor notices stated their bucket (30, 7, 1), not the days left: a contractor
 * added with 3 days left was told "in 7 days". And they were due at UTC instants. Now the notice
 * for N days is due from the midnight, in the contractor's zone, that starts the day N days
 * before end_date, and says how many calendar days are really left there.
 */
describe('contractor notices count calendar days in the contractor’s time zone', () => {
  const env = migratedDatabaseWithQueue();
  const SETTINGS = { byLocation: new Map([['sydney', 'Australia/Sydney']]), defaultZone: 'UTC' };

  let n = 0;
  /** A fresh active contractor (so each case starts with no notices sent). */
  const contractor = async (data: Record<string, unknown>) => {
    const employeeId = `c${n++}`;
    const record = { employee_id: employeeId, email: `${employeeId}@contractor.example`, first_name: 'Casey', last_name: `No${n}`, employment_type: 'Contractor', manager_email: 'lee@company.com', status: 'active', attributes: {}, ...data };
    const row = await env.handle.db.insertInto('people').values({ employee_id: employeeId, email: record.email, status: 'active', data: JSON.stringify(record), updated_at: new Date() }).returning('id').executeTakeFirstOrThrow();
    return row.id;
  };
  /** Once a case is over its contractor leaves, so later sweeps (at other instants) do not see them. */
  const leave = (id: string) => env.handle.db.updateTable('people').set({ status: 'terminated' }).where('id', '=', id).execute();
  const sweep = (at: Date | string) => sweepContractorNotices({ db: env.handle.db, boss: env.boss, now: () => new Date(at), timeZones: SETTINGS });
  const notices = async (personId: string) =>
    (await env.handle.pool.query<{ data: Notification }>(`select data from pgboss.job where name = $1 and data->>'personId' = $2 order by created_on, id`, [QUEUES.notify.name, personId])).rows.map((r) => r.data);
  const shifted = (iso: string, seconds: number) => new Date(Date.parse(iso) + seconds * 1000);

  // Sydney is UTC+11 until 5 April 2026: local midnight is 13:00 UTC the day before.
  const END = '2026-03-31';
  const THRESHOLDS = [
    { days: 30, midnight: '2026-02-28T13:00:00Z', before: null },
    { days: 7, midnight: '2026-03-23T13:00:00Z', before: { daysBefore: 30, daysLeft: 8 } },
    { days: 1, midnight: '2026-03-29T13:00:00Z', before: { daysBefore: 7, daysLeft: 2 } },
  ] as const;

  for (const t of THRESHOLDS) {
    it(`the ${t.days}-day notice: not one second before local midnight starting the ${t.days}${t.days === 1 ? 'st' : 'th'} day before, then exactly at it, once`, async () => {
      const id = await contractor({ end_date: END, location: 'Sydney' });
      await sweep(shifted(t.midnight, -1));
      // A second earlier only the previous notice is due (for a contractor new to Gatehouse, with
      // the days left then); the 30-day one has nothing before it.
      expect(await notices(id)).toEqual(t.before ? [{ type: 'contractor-notice', personId: id, endDate: END, timeZone: 'Australia/Sydney', ...t.before }] : []);
      expect(await sweep(t.midnight)).toBe(1);
      expect((await notices(id)).at(-1)).toEqual({ type: 'contractor-notice', personId: id, endDate: END, daysBefore: t.days, daysLeft: t.days, timeZone: 'Australia/Sydney' });
      expect(await sweep(shifted(t.midnight, 1))).toBe(0);
      await leave(id);
    });

    it(`a contractor first seen one second after the ${t.days}-day threshold gets that notice alone, with ${t.days} day(s) left`, async () => {
      const id = await contractor({ end_date: END, location: 'Sydney' });
      expect(await sweep(shifted(t.midnight, 1))).toBe(1);
      expect(await notices(id)).toEqual([{ type: 'contractor-notice', personId: id, endDate: END, daysBefore: t.days, daysLeft: t.days, timeZone: 'Australia/Sydney' }]);
      // The less urgent notices count as sent with it.
      const sent = await env.handle.db.selectFrom('contractor_notices').select('days_before').where('person_id', '=', id).orderBy('days_before').execute();
      expect(sent.map((r) => r.days_before)).toEqual([30, 7, 1].filter((d) => d >= t.days).sort((a, b) => a - b));
      await leave(id);
    });
  }

  it('a contractor added with 3 days left is told 3 days (the 7-day notice), then 1 day on the day before the end, and nothing on or after the last day', async () => {
    const id = await contractor({ end_date: END, time_zone: 'Australia/Sydney' });
    // 28 March, 09:00 in Sydney.
    expect(await sweep('2026-03-27T22:00:00Z')).toBe(1);
    expect(await notices(id)).toEqual([{ type: 'contractor-notice', personId: id, endDate: END, daysBefore: 7, daysLeft: 3, timeZone: 'Australia/Sydney' }]);
    expect(await sweep('2026-03-29T12:59:59Z')).toBe(0);
    expect(await sweep('2026-03-29T13:00:00Z')).toBe(1);
    expect((await notices(id)).at(-1)).toMatchObject({ daysBefore: 1, daysLeft: 1 });
    expect(await sweep('2026-03-30T13:00:00Z')).toBe(0); // 31 March, the last day
    expect(await sweep('2026-03-31T13:00:00Z')).toBe(0); // over
    await leave(id);
  });

  it('a contractor added on their last day is told that today is their last day; one whose last day is over is told nothing', async () => {
    const last = await contractor({ end_date: END, location: 'Sydney' });
    const over = await contractor({ end_date: '2026-03-30', location: 'Sydney' });
    // 31 March 10:00 in Sydney, still 30 March in UTC.
    expect(await sweep('2026-03-30T23:00:00Z')).toBe(1);
    expect(await notices(last)).toEqual([{ type: 'contractor-notice', personId: last, endDate: END, daysBefore: 1, daysLeft: 0, timeZone: 'Australia/Sydney' }]);
    expect(await notices(over)).toEqual([]);
    await leave(last);
    await leave(over);
  });

  it('in New York the 7-day notice is due at local midnight on the day clocks change (05:00 UTC, EST) and the 1-day one at 04:00 UTC (EDT)', async () => {
    const id = await contractor({ end_date: '2026-03-15', time_zone: 'America/New_York' });
    await sweep('2026-03-08T04:59:59Z');
    expect((await notices(id)).map((x) => 'daysBefore' in x && x.daysBefore)).toEqual([30]);
    expect(await sweep('2026-03-08T05:00:00Z')).toBe(1);
    expect(await sweep('2026-03-14T03:59:59Z')).toBe(0);
    expect(await sweep('2026-03-14T04:00:00Z')).toBe(1);
    expect((await notices(id)).map((x) => 'daysLeft' in x && x.daysLeft)).toEqual([8, 7, 1]);
    await leave(id);
  });

  it('with no zone and no mapped location, days are counted in UTC', async () => {
    const id = await contractor({ end_date: END, location: 'Lisbon' });
    expect(await sweep('2026-03-23T23:59:59Z')).toBe(1);
    expect((await notices(id)).at(-1)).toMatchObject({ daysBefore: 30, daysLeft: 8, timeZone: 'UTC' });
    expect(await sweep('2026-03-24T00:00:00Z')).toBe(1);
    expect((await notices(id)).at(-1)).toMatchObject({ daysBefore: 7, daysLeft: 7, timeZone: 'UTC' });
    await leave(id);
  });

  it('the messages say the days really left, and where the day ends', async () => {
    const id = await contractor({ end_date: END, location: 'Sydney' });
    const render = async (daysLeft: number) => {
      const posted: SlackMessage[] = [];
      await deliverNotification(
        {
          db: env.handle.db,
          itChannel: 'it-onboarding',
          log: createLogger('silent'),
          notifier: { post: async (m) => (posted.push(m), { channel: m.channel, ts: String(posted.length) }) },
          directory: { idForEmail: async (email) => (email === 'lee@company.com' ? 'U0LEE' : 'U0CASEY'), emailForId: async () => null, groupMembers: async () => null },
        },
        { type: 'contractor-notice', personId: id, daysBefore: daysLeft <= 1 ? 1 : 7, endDate: END, daysLeft, timeZone: 'Australia/Sydney' },
      );
      return Object.fromEntries(posted.map((m) => [m.channel, m.text]));
    };
    const name = `Casey No${n}`;
    expect(await render(3)).toEqual({
      'it-onboarding': `Contractor ${name} (c${n - 1}@contractor.example) ends on ${END} (in 3 days); sponsor lee@company.com. Their access is revoked at the end of that day (Australia/Sydney time).`,
      U0CASEY: `Your contract ends on ${END} (in 3 days): your access ends at the end of that day (Australia/Sydney time). If it is being extended, your manager can ask IT to update your end date.`,
      U0LEE: `${name}'s contract ends on ${END} (in 3 days); their access ends with it, at the end of that day (Australia/Sydney time). If they are staying on, request an extension.`,
    });
    expect((await render(1)).U0CASEY).toContain(`ends on ${END} (tomorrow, 1 day left)`);
    expect((await render(0)).U0CASEY).toContain(`ends on ${END} (today is your last day)`);
    expect((await render(0)).U0LEE).toContain('(today is their last day)');
    await leave(id);
  });
});
