import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { attackSurface, hireEvent, postHris, postSlack, until } from './harness.js';

/**
 * Issue 27, Low: "Internal error text reaches Slack users". A failing `/access` answered
 * "Gatehouse could not do that just now (<error.message>)", handing whoever typed it the text of a
 * database or vendor error: table names, hosts, at worst a connection string. The answer now
 * carries a short reference instead, and the log line with that reference carries the error.
 */
const SECRET_LOOKING = 'connect postgres://gatehouse_owner:pw_INTERNAL_s3cret@db-primary.internal:5432/gatehouse failed';

describe('security: internal error text never reaches Slack users (issue 27)', () => {
  const app = attackSurface();
  const slash = async (userId: string, text: string) => {
    const responseId = `${userId}-${Date.now()}`;
    const body = new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0', channel_name: 'general', user_id: userId, user_name: 'u', command: '/access', text, api_app_id: 'A0GATEHOUSE', response_url: `https://hooks.slack.com/actions/${responseId}`, trigger_id: '1.2.3' }).toString();
    expect((await postSlack(app.base, body, 'application/x-www-form-urlencoded')).status).toBe(200);
    return (await until('the answer', () => app.slack.responses.find((r) => r.id === responseId)?.body)) as { text: string; response_type: string };
  };

  it('a failing /access mine answers with a reference, not the error, and the log line with that reference has the error', async () => {
    expect((await postHris(app.base, hireEvent('emp_priya', { email: 'priya@company.com' }))).status).toBe(202);
    const db = app.gatehouse.database.db;
    await until('priya', async () => (await db.selectFrom('people').select('id').where('email', '=', 'priya@company.com').execute()).length === 1);
    // Reading grants now fails (the right join evaluates the function even with no grant rows) with a message that looks like a leaked connection string.
    await sql`create function gatehouse_test_fail() returns boolean language plpgsql as $$ begin raise exception ${sql.lit(SECRET_LOOKING)}; end $$`.execute(db);
    await sql`alter table grants rename to grants_moved_aside`.execute(db);
    await sql`create view grants as select g.* from grants_moved_aside g right join (select gatehouse_test_fail()) f on true`.execute(db);

    const answer = await slash('U0PRIYA', 'mine');
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).not.toContain('pw_INTERNAL_s3cret');
    expect(answer.text).not.toContain('postgres://');
    expect(answer.text).toMatch(/nothing changed/);
    const reference = /ref ([0-9a-f]{6,})/.exec(answer.text)?.[1];
    expect(reference, answer.text).toBeDefined();

    const logged = app.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.ref === reference);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50 });
    expect(JSON.stringify(logged[0]!.err)).toContain('pw_INTERNAL_s3cret');
  });
});
