import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { clickButton } from './clicks.js';
import { attackSurface, hireEvent, postHris, until } from './harness.js';

const LAPTOP = 'manual:laptop:macbook-pro-14';
const policies = mkdtempSync(join(tmpdir(), 'gatehouse-manual-authz-'));
writeFileSync(join(policies, 'qa.yaml'), ['name: qa', 'description: QA gets a laptop.', 'owner: "@qa-leads"', 'when: { department: QA }', 'grants:', `  - ${LAPTOP}`, ''].join('\n'));

/**
 * Threat (issue 27): marking a manual task done without being entitled to. Before, anyone who saw
 * the task in the IT channel could click Done, the leaver included, which closed a leaver's
 * manual revoke for good while the laptop (or the account) stayed with them. Only IT_ADMINS or the
 * owners of the task's system (SYSTEM_OWNERS; tasks have no assignee of their own) may, never the
 * person the task is about; a refusal is told to the clicker alone and audited, and the audit
 * says who did each task.
 */
describe('security: manual task Done by the wrong person', () => {
  const app = attackSurface({ POLICIES_DIR: policies, SYSTEMS: 'manual', IT_ADMINS: 'U0IT', SYSTEM_OWNERS: 'manual=@it-helpdesk' });
  beforeAll(() => {
    app.slack
      .addUser({ id: 'U0IT', email: 'it@company.com', name: 'it' })
      .addUser({ id: 'U0HELP', email: 'help@company.com', name: 'help' })
      // Eve works at the help desk too: she still may not close her own tasks.
      .addUsergroup('it-helpdesk', ['U0HELP', 'U0EVE']);
  });
  const db = () => app.gatehouse.database.db;
  const taskOf = (kind: 'grant' | 'revoke') => until(`the ${kind} task`, () => db().selectFrom('manual_tasks').innerJoin('people', 'people.id', 'manual_tasks.person_id').select(['manual_tasks.id', 'manual_tasks.status', 'manual_tasks.done_by']).where('people.email', '=', 'eve@company.com').where('manual_tasks.kind', '=', kind).executeTakeFirst());
  const task = async (id: number) => db().selectFrom('manual_tasks').select(['status', 'done_by']).where('id', '=', id).executeTakeFirstOrThrow();
  const messageOf = (id: number) => until(`task #${id}'s message`, () => app.slack.messagesIn('it-onboarding').find((m) => m.text.startsWith(`Manual task #${id}:`)));
  const done = (userId: string, id: number, at: { channel: string; ts: string }, answered = true) => clickButton(app, { userId, actionId: 'manual_task_done', value: String(id), ...at, answered });

  it('refuses the person concerned and a channel member; the system\'s owners and IT may, and the audit says who', async () => {
    const hire = hireEvent('emp_eve', { email: 'eve@company.com', department: 'QA' });
    expect((await postHris(app.base, hire)).status).toBe(202);
    const grant = await taskOf('grant');
    const grantMessage = await messageOf(grant.id);
    const at = { channel: grantMessage.channel, ts: grantMessage.ts };

    expect(await done('U0EVE', grant.id, at)).toBe('This is about you, so someone else decides it: IT (IT_ADMINS) and manual\'s owners (SYSTEM_OWNERS).');
    expect(await done('U0LEE', grant.id, at)).toBe('Only IT (IT_ADMINS) and manual\'s owners (SYSTEM_OWNERS) may decide this; nothing changed.');
    expect(await task(grant.id)).toEqual({ status: 'open', done_by: null });
    // A help-desk member (the system's owner group) hands the laptop over.
    await done('U0HELP', grant.id, at, false);
    await until('the grant task done', async () => (await task(grant.id)).status === 'done');
    expect(await task(grant.id)).toEqual({ status: 'done', done_by: 'slack:U0HELP' });

    // Eve leaves: the laptop must come back, and only someone else may say it did.
    expect((await postHris(app.base, { ...hire, event_type: 'employee.terminated', event_id: 'evt_emp_eve_left', timestamp: '2026-11-21T09:00:00Z', data: { ...hire.data, status: 'terminated' } })).status).toBe(202);
    const revoke = await taskOf('revoke');
    const revokeMessage = await messageOf(revoke.id);
    const rat = { channel: revokeMessage.channel, ts: revokeMessage.ts };
    expect(await done('U0LEE', revoke.id, rat)).toMatch(/^Only IT/);
    expect(await done('U0EVE', revoke.id, rat)).toMatch(/^This is about you/);
    expect(await task(revoke.id)).toEqual({ status: 'open', done_by: null });
    expect(await db().selectFrom('grants').innerJoin('people', 'people.id', 'grants.person_id').select('grants.status').where('people.email', '=', 'eve@company.com').where('entitlement', '=', LAPTOP).executeTakeFirstOrThrow()).not.toEqual({ status: 'revoked' });
    await done('U0IT', revoke.id, rat, false);
    await until('the revoke task done', async () => (await task(revoke.id)).status === 'done');
    expect(await task(revoke.id)).toEqual({ status: 'done', done_by: 'slack:U0IT' });

    const audit = async (action: string) => (await db().selectFrom('audit_log').select(['actor', 'detail']).where('action', '=', action).orderBy('seq').execute()).map((r) => `${r.actor} #${(r.detail as { taskId: number }).taskId}`);
    expect(await audit('manual_task.done_refused')).toEqual([`slack:U0EVE #${grant.id}`, `slack:U0LEE #${grant.id}`, `slack:U0LEE #${revoke.id}`, `slack:U0EVE #${revoke.id}`]);
    expect(await audit('manual_task.done')).toEqual([`slack:U0HELP #${grant.id}`, `slack:U0IT #${revoke.id}`]);
  });
});
