import type { App } from '@slack/bolt';
import { personHistory } from '../audit/evidence.js';
import type { Logger } from '../log.js';
import { failureText, logFailureWithReference } from './failure-reference.js';
import { CONTRACTOR_EXTENSION } from './messages/orchestrator.js';
import { type AccessCommand, parseAccessCommand, parseDuration, USAGE } from '../requests/command.js';
import { cancelRequest, decide, fileRequest, releaseRequests, requestContractorExtension, personForSlackUser, type RequestDeps, requestableFor } from '../requests/service.js';
import { ACTION, appHomeView, BLOCK, denyReasonModal, type HeldGrant, historyText, mineText, pendingText, requesterFiledText, requestModal, VIEW } from './messages/requests.js';

/** The id a button carries in its value; 0 (which matches nothing) when the payload is not a number. */
function idFrom(action: unknown): number {
  const value = (action as { value?: unknown }).value;
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : 0;
}

/**
 * The `/access` command, the approval buttons, the request and deny modals, the modal's
 * searchable list, the Extend button and App Home. Each handler acks first (Slack gives 3 s) and
 * then calls the request service, which holds every rule; this file only translates between
 * Slack's payloads and those calls.
 */
export function registerAccessHandlers(app: App, deps: RequestDeps & { log: Logger; itChannel: string; itAdmins?: string[] }): void {
  const log = deps.log.child({ component: 'slack-access' });

  const heldBy = async (personId: string): Promise<HeldGrant[]> =>
    (await deps.db.selectFrom('grants').select(['entitlement', 'source', 'status', 'expires_at']).where('person_id', '=', personId).where('status', '!=', 'revoked').orderBy('entitlement').execute()).map((g) => ({
      entitlement: g.entitlement,
      source: g.source ?? 'policy',
      status: g.status,
      expiresAt: g.expires_at,
    }));
  const openRequestsOf = (personId: string) => deps.db.selectFrom('access_requests').select(['id', 'entitlement', 'state']).where('person_id', '=', personId).where('state', 'in', ['pending', 'approved', 'provisioning', 'active']).orderBy('id').execute();
  const waitingOn = async (slackUserId: string) => {
    const pending = await deps.db.selectFrom('access_requests').select(['id', 'requester_slack_id', 'entitlement', 'duration_ms', 'created_at', 'steps', 'current_step']).where('state', '=', 'pending').orderBy('created_at').execute();
    return pending
      .filter((r) => r.steps[r.current_step]?.approvers.some((a) => a.users.includes(slackUserId)))
      .map((r) => ({ id: r.id, requester: r.requester_slack_id ?? '', entitlement: r.entitlement, durationMs: r.duration_ms === null ? null : Number(r.duration_ms), createdAt: r.created_at }));
  };

  async function isItAdmin(userId: string): Promise<boolean> {
    for (const admin of deps.itAdmins ?? []) {
      if (admin === userId) return true;
      if (admin.startsWith('@') && (await deps.directory.groupMembers(admin))?.includes(userId)) return true;
    }
    return false;
  }

  async function run(command: Exclude<AccessCommand, { kind: 'modal' | 'help' | 'error' }>, userId: string): Promise<string> {
    if (command.kind === 'request') {
      const filed = await fileRequest(deps, { slackUserId: userId, entitlement: command.entitlement, durationMs: command.durationMs, justification: command.reason });
      return filed.ok ? requesterFiledText({ id: filed.id, entitlement: filed.entitlement, durationMs: filed.durationMs, autoApproved: filed.autoApproved, approvers: filed.firstApprovers }) : filed.message;
    }
    if (command.kind === 'pending') return pendingText(await waitingOn(userId));
    if (command.kind === 'audit') {
      if (!(await isItAdmin(userId))) return 'Only IT (IT_ADMINS) can see someone\'s history; `/access mine` shows yours.';
      const email = command.email ?? (command.slackUserId ? await deps.directory.emailForId(command.slackUserId) : null);
      if (!email) return 'Gatehouse cannot see that person\'s email in Slack.';
      return historyText(email, await personHistory(deps.db, email));
    }
    if (command.kind === 'cancel') {
      const result = await cancelRequest(deps, command.requestId, userId);
      return result.ok ? `Request #${command.requestId} is cancelled.` : result.message;
    }
    const person = await personForSlackUser(deps, userId);
    if (!('id' in person)) return person.message;
    if (command.kind === 'mine') return mineText(await heldBy(person.id), (await openRequestsOf(person.id)).filter((r) => r.state !== 'active'));
    const released = await releaseRequests(deps, userId, command.entitlement);
    return released.ok ? `Releasing \`${command.entitlement}\` now; you will get a message when it is removed.` : released.message;
  }

  app.command('/access', async ({ command, ack, respond, client }) => {
    const parsed = parseAccessCommand(command.text ?? '');
    if (parsed.kind === 'modal') {
      await ack();
      await client.views.open({ trigger_id: command.trigger_id, view: requestModal({ maxDuration: null }) as never });
      return;
    }
    if (parsed.kind === 'help') return void (await ack({ response_type: 'ephemeral', text: USAGE }));
    if (parsed.kind === 'error') return void (await ack({ response_type: 'ephemeral', text: parsed.message }));
    // Ack at once; the answer follows through response_url (ephemeral: only they see it).
    await ack();
    let text: string;
    try {
      text = await run(parsed, command.user_id);
    } catch (error) {
      text = failureText('Gatehouse could not do that just now', logFailureWithReference(log, error, { command: parsed.kind }, '/access failed'));
    }
    await respond({ response_type: 'ephemeral', text });
  });

  app.action(ACTION.approve, async ({ ack, body, action, respond }) => {
    await ack();
    const requestId = idFrom(action);
    const result = await decide(deps, { requestId, slackUserId: body.user.id, decision: 'approved' });
    // Success updates the DM in place (through the queue); a refusal is told to the clicker alone.
    if (!result.ok || result.outcome === 'refused') await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
    else if (result.outcome === 'waiting') await respond({ response_type: 'ephemeral', replace_original: false, text: `Thanks: your approval of request #${requestId} is recorded; it still needs the other approvers of this step.` });
  });

  app.action(ACTION.deny, async ({ ack, body, action, client }) => {
    await ack();
    const requestId = idFrom(action);
    const container = (body as { container?: { channel_id?: string; message_ts?: string } }).container;
    await client.views.open({ trigger_id: (body as { trigger_id: string }).trigger_id, view: denyReasonModal(requestId, { channel: container?.channel_id ?? null, ts: container?.message_ts ?? null }) as never });
  });

  app.view(VIEW.denyReason, async ({ ack, view, body }) => {
    const meta = JSON.parse(view.private_metadata || '{}') as { requestId?: number };
    const reason = view.state.values[BLOCK.reason]?.[BLOCK.reason]?.value?.replaceAll('\u0000', '').trim() ?? '';
    if (!reason) return void (await ack({ response_action: 'errors', errors: { [BLOCK.reason]: 'Say why, so the requester knows what to do instead.' } }));
    const result = await decide(deps, { requestId: Number(meta.requestId), slackUserId: body.user.id, decision: 'denied', reason });
    if (!result.ok) return void (await ack({ response_action: 'errors', errors: { [BLOCK.reason]: result.message } }));
    await ack();
  });

  app.view(VIEW.request, async ({ ack, view, body, client }) => {
    const values = view.state.values;
    const entitlement = values[BLOCK.entitlement]?.[BLOCK.entitlement]?.selected_option?.value ?? '';
    const durationText = values[BLOCK.duration]?.[BLOCK.duration]?.value?.replaceAll('\u0000', '').trim() ?? '';
    const justification = values[BLOCK.justification]?.[BLOCK.justification]?.value?.replaceAll('\u0000', '') ?? null;
    const duration = durationText ? parseDuration(durationText) : null;
    if (durationText && !duration) return void (await ack({ response_action: 'errors', errors: { [BLOCK.duration]: `"${durationText.slice(0, 30)}" is not a duration: write it as 30m, 4h, 2d or 1w` } }));
    if (!entitlement) return void (await ack({ response_action: 'errors', errors: { [BLOCK.entitlement]: 'Pick what you need from the list.' } }));
    const filed = await fileRequest(deps, { slackUserId: body.user.id, entitlement, durationMs: duration?.ms ?? null, justification });
    if (!filed.ok) return void (await ack({ response_action: 'errors', errors: { [BLOCK[filed.field ?? 'entitlement']]: filed.message.slice(0, 2000) } }));
    await ack();
    await client.chat.postMessage({ channel: body.user.id, text: requesterFiledText({ id: filed.id, entitlement: filed.entitlement, durationMs: filed.durationMs, autoApproved: filed.autoApproved, approvers: filed.firstApprovers }) });
  });

  // The modal's searchable list: what this person may request, filtered by what they type.
  app.options(BLOCK.entitlement, async ({ ack, body, options }) => {
    const person = await personForSlackUser(deps, body.user.id);
    if (!('id' in person)) return void (await ack({ options: [] }));
    const query = (options.value ?? '').toLowerCase();
    const entries = (await requestableFor(deps, person.record)).filter((e) => e.entitlement.toLowerCase().includes(query) || (e.description ?? '').toLowerCase().includes(query));
    await ack({
      options: entries.slice(0, 100).map((e) => ({
        text: { type: 'plain_text' as const, text: `${e.description ? `${e.description} · ` : ''}${e.entitlement}`.slice(0, 75) },
        value: e.entitlement,
        description: { type: 'plain_text' as const, text: `${e.max_duration ? `up to ${e.max_duration}` : 'no time limit'}${e.auto_approve?.eligible ? `, auto-approved up to ${e.auto_approve.max_duration}` : ''}`.slice(0, 75) },
      })),
    });
  });

  app.action(ACTION.extend, async ({ ack, body, action, respond }) => {
    await ack();
    const requestId = idFrom(action);
    const current = await deps.db.selectFrom('access_requests').select(['id', 'entitlement', 'duration_ms', 'justification', 'requester_slack_id', 'state']).where('id', '=', requestId).executeTakeFirst();
    if (!current || current.requester_slack_id !== body.user.id) return void (await respond({ response_type: 'ephemeral', replace_original: false, text: `You have no request #${requestId} to extend.` }));
    const filed = await fileRequest(deps, { slackUserId: body.user.id, entitlement: current.entitlement, durationMs: current.duration_ms === null ? null : Number(current.duration_ms), justification: current.justification ? `extension of #${current.id}: ${current.justification}` : `extension of #${current.id}`, extending: current.id });
    await respond({ response_type: 'ephemeral', replace_original: false, text: filed.ok ? requesterFiledText({ id: filed.id, entitlement: filed.entitlement, durationMs: filed.durationMs, autoApproved: filed.autoApproved, approvers: filed.firstApprovers }) : filed.message });
  });

  // A contractor's manager asks for their contract to be extended: IT updates end_date in the HRIS.
  app.action(CONTRACTOR_EXTENSION, async ({ ack, body, action, respond }) => {
    await ack();
    const result = await requestContractorExtension(deps, 'value' in action ? String(action.value) : '', body.user.id);
    await respond({ response_type: 'ephemeral', replace_original: false, text: result.ok ? `IT has been asked to extend ${result.email}'s contract. Their access continues once the HR system has the new end date.` : result.message });
  });

  app.action(ACTION.openRequestModal, async ({ ack, body, client }) => {
    await ack();
    await client.views.open({ trigger_id: (body as { trigger_id: string }).trigger_id, view: requestModal({ maxDuration: null }) as never });
  });

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    const person = await personForSlackUser(deps, event.user);
    const grants = 'id' in person ? await heldBy(person.id) : [];
    const requests = 'id' in person ? (await openRequestsOf(person.id)).filter((r) => r.state !== 'active') : [];
    await client.views.publish({ user_id: event.user, view: appHomeView({ grants, requests, approvals: await waitingOn(event.user) }) as never });
  });
}
