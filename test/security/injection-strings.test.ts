import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicies } from '../../src/policy/index.js';
import { attackSurface, hireEvent, postHris, postSlack, until } from './harness.js';

const NASTY = {
  sql: "Robert'); DROP TABLE people;--",
  broadcast: '<!channel> <!here> <!everyone> <@U0LEE> <#C0GENERAL|general> <https://evil.example|click>',
  control: 'Zoë\u0007\u001b[31m\u202eevil\u0008',
  mrkdwn: '*bold* _it_ ~x~ `code` &amp; &lt;',
};

/** The messages Slack would show: anything that would notify a channel or link where the text did not say to. */
function broadcasts(text: string): string[] {
  return [...text.matchAll(/<!(channel|here|everyone)[^>]*>|<https:\/\/evil[^>]*>|<#C0GENERAL[^>]*>/g)].map((m) => m[0]);
}

/**
 * Threat: hostile text in HR data, request justifications and policy names. It must be stored as
 * given (no SQL injection), rendered escaped in Slack (no @channel, no disguised links), and a value
 * too long is refused with a clear error rather than truncated silently.
 */
describe('security: injection strings in every field', () => {
  const app = attackSurface();

  it('HR fields are stored exactly and every Slack message escapes them', async () => {
    const data = { first_name: NASTY.sql, last_name: NASTY.broadcast, job_title: NASTY.control, department: 'Engineering', team: NASTY.mrkdwn, location: NASTY.broadcast, attributes: { note: NASTY.sql } };
    expect((await postHris(app.base, hireEvent('emp_nasty', data))).status).toBe(202);
    const person = await until('stored', () => app.gatehouse.database.db.selectFrom('people').select(['data']).where('employee_id', '=', 'emp_nasty').executeTakeFirst());
    const stored = person.data as Record<string, unknown>;
    expect(stored.first_name).toBe(NASTY.sql);
    expect(stored.last_name).toBe(NASTY.broadcast);
    expect(stored.team).toBe(NASTY.mrkdwn);
    // The onboarding summary, and its thread, in #it-onboarding.
    const summary = await until('the summary', () => app.slack.messagesIn('it-onboarding').find((m) => m.text.startsWith('Onboarding of')));
    for (const message of app.slack.messages) {
      expect(broadcasts(message.text)).toEqual([]);
      expect(broadcasts(JSON.stringify(message.blocks ?? []))).toEqual([]);
    }
    expect(summary.text).toContain('&lt;!channel&gt;');
    expect(await app.gatehouse.database.db.selectFrom('people').select('id').execute()).toHaveLength(1);
  });

  it('NUL, which Postgres cannot store, is refused with the field named (not a 500)', async () => {
    const res = await postHris(app.base, hireEvent('emp_nul', { first_name: 'Zo\u0000ë' }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [expect.objectContaining({ path: expect.stringContaining('first_name'), message: expect.stringContaining('NUL') })] });
  });

  it('a 10,000-character name is refused with the field named, and nothing is stored', async () => {
    const res = await postHris(app.base, hireEvent('emp_long', { first_name: 'x'.repeat(10_000) }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [expect.objectContaining({ path: expect.stringContaining('first_name'), message: expect.stringContaining('at most') })] });
    expect(await app.gatehouse.database.db.selectFrom('people').select('id').where('employee_id', '=', 'emp_long').execute()).toEqual([]);
  });

  it('a request justification is stored as typed and shown escaped to the approver', async () => {
    for (const [id, email, manager] of [['emp_lee', 'lee@company.com', null], ['emp_priya', 'priya@company.com', 'lee@company.com']] as const) {
      expect((await postHris(app.base, hireEvent(id, { email, department: 'Engineering', team: 'Platform', job_title: 'Platform Engineer', manager_email: manager }))).status).toBe(202);
    }
    await until('priya', () => app.gatehouse.database.db.selectFrom('people').select('id').where('employee_id', '=', 'emp_priya').executeTakeFirst());
    const reason = `${NASTY.broadcast} ${NASTY.sql}`;
    const body = new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0', channel_name: 'general', user_id: 'U0PRIYA', user_name: 'priya', command: '/access', text: `request aws:account-assignment:222222222222#AdministratorAccess for 1h because ${reason}`, api_app_id: 'A0GATEHOUSE', response_url: 'https://hooks.slack.com/actions/inj', trigger_id: '1.2.3' }).toString();
    expect((await postSlack(app.base, body, 'application/x-www-form-urlencoded')).status).toBe(200);
    const request = await until('filed', () => app.gatehouse.database.db.selectFrom('access_requests').select(['id', 'justification']).executeTakeFirst());
    // Stored as the person typed it (Slack's own escaping undone), the SQL intact.
    expect(request.justification).toContain('<!channel> <!here> <!everyone>');
    expect(request.justification).toContain(NASTY.sql);
    const dm = await until("the manager's DM", () => app.slack.messagesIn('U0LEE').find((m) => m.text.includes(`request #${request.id}`)));
    expect(broadcasts(JSON.stringify(dm.blocks))).toEqual([]);
    expect(JSON.stringify(dm.blocks)).toContain('&lt;!channel&gt;');
  });

  it('a policy name that is not a plain name is refused when policies load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-inj-'));
    writeFileSync(join(dir, 'bad.yaml'), `name: "<!channel> ${NASTY.sql}"\ndescription: x\nowner: "@it"\nwhen: { status: active }\ngrants: [okta:group:x]\n`);
    const loaded = await loadPolicies(dir);
    expect(loaded.policies).toEqual([]);
    expect(loaded.errors[0]!.message).toMatch(/lower-case letters/);
  });
});
