import type { Db } from '../db/database.js';
import type { Notifier } from '../slack/notifier.js';
import { approvalDecidedMessage, approvalRequestMessage, type RequestView, requesterNotice } from '../slack/messages/requests.js';

export type RequestNotification =
  | { type: 'approval-requested'; requestId: number; step: number; escalate?: boolean }
  | { type: 'request-decided'; requestId: number; step: number }
  /**
   * The last approval came, but Gatehouse did not grant it (`reason` says why): it would break
   * separation of duties, or (`why: 'no-longer-offered'`) no policy offers it to the person any more.
   */
  | { type: 'request-refused'; requestId: number; step: number; reason: string; why?: 'separation-of-duties' | 'no-longer-offered' }
  | { type: 'request-active'; requestId: number }
  | { type: 'request-ended'; requestId: number }
  | { type: 'request-failed'; requestId: number; error: string }
  | { type: 'request-expiring'; requestId: number }
  | { type: 'request-timed-out'; requestId: number };

export const REQUEST_NOTIFICATIONS: ReadonlySet<string> = new Set(['approval-requested', 'request-decided', 'request-refused', 'request-active', 'request-ended', 'request-failed', 'request-expiring', 'request-timed-out']);

async function load(db: Db, requestId: number) {
  return db
    .selectFrom('access_requests')
    .innerJoin('people', 'people.id', 'access_requests.person_id')
    .selectAll('access_requests')
    .select(['people.email'])
    .where('access_requests.id', '=', requestId)
    .executeTakeFirst();
}

const viewOf = (r: NonNullable<Awaited<ReturnType<typeof load>>>, step: number): RequestView => ({
  id: r.id,
  requester: r.requester_slack_id ?? '',
  requesterEmail: r.email,
  entitlement: r.entitlement,
  policy: r.policy,
  durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
  justification: r.justification,
  description: r.description,
  step,
  steps: r.steps.length,
});

/**
 * Sends what a request's change means to people: approvers' DMs (one per approver, remembered so
 * a retried delivery does not DM twice, and updated in place once decided), and the requester's
 * notices. Reads the request as it is now.
 */
export async function deliverRequestNotification(deps: { db: Db; notifier: Notifier }, n: RequestNotification): Promise<void> {
  const r = await load(deps.db, n.requestId);
  if (!r) return;
  const dm = (channel: string, message: { text: string; blocks: unknown[] }) => deps.notifier.post({ channel, ...message });

  if (n.type === 'approval-requested') {
    if (r.state !== 'pending' || r.current_step !== n.step) return;
    const step = r.steps[n.step]!;
    // `any`: the first approver first, the next ones when escalated; `all`: everyone at once.
    const entries = step.mode === 'all' ? step.approvers : step.approvers.slice(0, n.escalate ? step.approvers.length : 1);
    const sent = new Set((await deps.db.selectFrom('request_messages').select('approver_slack_id').where('request_id', '=', r.id).where('step', '=', n.step).execute()).map((m) => m.approver_slack_id));
    const message = approvalRequestMessage(viewOf(r, n.step));
    for (const user of new Set(entries.flatMap((e) => e.users))) {
      if (sent.has(user)) {
        // Escalation reminds whoever was asked already, in the DM that has the buttons.
        const first = await deps.db.selectFrom('request_messages').select(['channel', 'ts']).where('request_id', '=', r.id).where('step', '=', n.step).where('approver_slack_id', '=', user).executeTakeFirst();
        if (n.escalate && first) await deps.notifier.post({ channel: first.channel, thread_ts: first.ts, text: `Reminder: request #${r.id} from <@${r.requester_slack_id}> still waits for your decision.` });
        continue;
      }
      const posted = await dm(user, message);
      if (posted.ts) await deps.db.insertInto('request_messages').values({ request_id: r.id, step: n.step, approver_slack_id: user, channel: posted.channel, ts: posted.ts }).onConflict((oc) => oc.doNothing()).execute();
    }
    return;
  }
  if (n.type === 'request-decided') {
    const last = await deps.db.selectFrom('request_decisions').select(['approver_slack_id', 'decision', 'reason', 'decided_at']).where('request_id', '=', r.id).where('step', '=', n.step).orderBy('decided_at', 'desc').executeTakeFirst();
    const decided = approvalDecidedMessage(viewOf(r, n.step), { state: last?.decision === 'denied' ? 'denied' : r.state, by: r.state === 'cancelled' || r.state === 'timed_out' ? null : (last?.approver_slack_id ?? null), at: last?.decided_at ?? r.ended_at ?? new Date(), reason: last?.reason ?? (r.state === 'cancelled' ? null : null) });
    const messages = await deps.db.selectFrom('request_messages').selectAll().where('request_id', '=', r.id).where('step', '=', n.step).execute();
    for (const m of messages) await deps.notifier.update?.({ channel: m.channel, ts: m.ts, ...decided });
    if (r.state === 'denied' && r.requester_slack_id) await dm(r.requester_slack_id, requesterNotice('denied', { id: r.id, entitlement: r.entitlement, reason: last?.reason ?? null, by: last?.approver_slack_id ?? null }));
    return;
  }
  if (n.type === 'request-refused') {
    // The approvers' DMs lose their buttons and say why nothing was granted; the requester is told too.
    const notOffered = n.why === 'no-longer-offered';
    const refused = approvalDecidedMessage(viewOf(r, n.step), { state: notOffered ? 'Refused (no longer offered to them)' : 'Refused (separation of duties)', by: null, at: r.decided_at ?? new Date(), reason: n.reason });
    const messages = await deps.db.selectFrom('request_messages').selectAll().where('request_id', '=', r.id).where('step', '=', n.step).execute();
    for (const m of messages) await deps.notifier.update?.({ channel: m.channel, ts: m.ts, ...refused });
    if (r.requester_slack_id) await dm(r.requester_slack_id, requesterNotice(notOffered ? 'not_offered' : 'refused', { id: r.id, entitlement: r.entitlement, reason: n.reason }));
    return;
  }
  if (!r.requester_slack_id) return;
  const kind = ({ 'request-active': 'active', 'request-ended': 'ended', 'request-failed': 'failed', 'request-expiring': 'expiring', 'request-timed-out': 'timed_out' } as const)[n.type];
  await dm(r.requester_slack_id, requesterNotice(kind, { id: r.id, entitlement: r.entitlement, expiresAt: r.expires_at, reason: n.type === 'request-failed' ? n.error : n.type === 'request-ended' ? r.end_reason : null }));
}
