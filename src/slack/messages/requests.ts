/**
 * Block Kit for access requests: the approver's DM (and its decided form), what the requester is
 * told, `/access mine` and `/access pending`, the request modal and App Home. Pure functions;
 * snapshot-tested.
 */
import { escapeMrkdwn, type Message } from './orchestrator.js';

export const ACTION = {
  approve: 'request_approve',
  deny: 'request_deny',
  extend: 'request_extend',
  openRequestModal: 'request_open_modal',
} as const;
export const VIEW = { request: 'access_request_modal', denyReason: 'request_deny_reason' } as const;
export const BLOCK = { entitlement: 'entitlement', duration: 'duration', justification: 'justification', reason: 'reason' } as const;

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const section = (text: string) => ({ type: 'section', text: mrkdwn(text) });
const context = (text: string) => ({ type: 'context', elements: [mrkdwn(text)] });
const plain = (text: string) => ({ type: 'plain_text', text, emoji: true });

export function durationText(ms: number | null): string {
  if (ms === null) return 'until revoked';
  const units: [number, string][] = [
    [604_800_000, 'week'],
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
  ];
  for (const [size, name] of units) if (ms % size === 0) return `${ms / size} ${name}${ms / size === 1 ? '' : 's'}`;
  return `${Math.round(ms / 60_000)} minutes`;
}

/** "for 4 hours", or "with no end date". */
export function forDuration(ms: number | null): string {
  return ms === null ? 'with no end date' : `for ${durationText(ms)}`;
}

/** What an approver should notice before clicking: production and administrator access. */
export function riskFlags(entitlement: string, description: string | null = null): string[] {
  const flags: string[] = [];
  const text = `${entitlement} ${description ?? ''}`.toLowerCase();
  if (/\bprod(uction)?\b|[:/#-]prod/.test(text)) flags.push('production');
  const level = entitlement.includes('#') ? entitlement.slice(entitlement.lastIndexOf('#') + 1).toLowerCase() : '';
  if (/admin|owner|^maintain$|poweruser/.test(level) || /admin/.test(entitlement.toLowerCase())) flags.push('administrator level');
  return flags;
}

export interface RequestView {
  id: number;
  requester: string;
  requesterEmail: string;
  entitlement: string;
  policy: string;
  durationMs: number | null;
  justification: string | null;
  description?: string | null;
  step: number;
  steps: number;
}

export function approvalRequestMessage(r: RequestView): Message {
  const flags = riskFlags(r.entitlement, r.description ?? null);
  const text = `<@${r.requester}> asks for ${r.entitlement} ${forDuration(r.durationMs)} (request #${r.id})`;
  const lines = [
    `*<@${r.requester}>* (${escapeMrkdwn(r.requesterEmail)}) asks for access`,
    `*What:* \`${escapeMrkdwn(r.entitlement)}\`${r.description ? ` — ${escapeMrkdwn(r.description)}` : ''}`,
    `*For:* ${durationText(r.durationMs)}`,
    `*Why:* ${r.justification ? escapeMrkdwn(r.justification) : '_no reason given_'}`,
    `*Allowed by:* policy ${escapeMrkdwn(r.policy)}${r.steps > 1 ? ` · approval step ${r.step + 1} of ${r.steps}` : ''}`,
  ];
  if (flags.length > 0) lines.push(`:warning: *${flags.join(', ')}*`);
  return {
    text,
    blocks: [
      section(lines.join('\n')),
      {
        type: 'actions',
        block_id: `request_${r.id}`,
        elements: [
          { type: 'button', action_id: ACTION.approve, text: plain('Approve'), style: 'primary', value: String(r.id) },
          { type: 'button', action_id: ACTION.deny, text: plain('Deny'), style: 'danger', value: String(r.id) },
        ],
      },
      context(`request #${r.id}`),
    ],
  };
}

/** The approver's DM once the step is decided: who decided and when, and no buttons. */
export function approvalDecidedMessage(r: RequestView, outcome: { state: string; by: string | null; at: Date; reason: string | null }): Message {
  const verb = outcome.state === 'pending' || outcome.state === 'approved' || outcome.state === 'provisioning' || outcome.state === 'active' ? 'Approved' : outcome.state === 'denied' ? 'Denied' : outcome.state === 'cancelled' ? 'Cancelled by the requester' : outcome.state === 'timed_out' ? 'Timed out' : outcome.state;
  const by = outcome.by ? ` by <@${outcome.by}>` : '';
  const when = `${outcome.at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const text = `${verb}${by}: ${r.entitlement} for <@${r.requester}> (request #${r.id})`;
  return {
    text,
    blocks: [
      section(`*<@${r.requester}>* asked for \`${escapeMrkdwn(r.entitlement)}\` ${forDuration(r.durationMs)}`),
      section(`${verb === 'Approved' ? ':white_check_mark:' : ':no_entry_sign:'} *${verb}*${by} at ${when}${outcome.reason ? `\n>${escapeMrkdwn(outcome.reason)}` : ''}`),
      context(`request #${r.id}`),
    ],
  };
}

export function requesterFiledText(input: { id: number; entitlement: string; durationMs: number | null; autoApproved: boolean; approvers: string[] }): string {
  if (input.autoApproved) return `Request #${input.id}: \`${input.entitlement}\` ${forDuration(input.durationMs)} was approved automatically by policy. Gatehouse is granting it now and will tell you when it works${input.durationMs === null ? '' : `; the ${durationText(input.durationMs)} start then`}.`;
  return `Request #${input.id} for \`${input.entitlement}\` (${durationText(input.durationMs)}) is waiting for ${input.approvers.map((a) => (a.startsWith('U') || a.startsWith('W') ? `<@${a}>` : a)).join(' or ')}. You will hear back here.`;
}

export function requesterNotice(kind: 'denied' | 'refused' | 'not_offered' | 'active' | 'ended' | 'failed' | 'timed_out' | 'expiring', r: { id: number; entitlement: string; expiresAt?: Date | null; reason?: string | null; by?: string | null }): Message {
  const until = r.expiresAt ? ` until ${r.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';
  // Mentions are built here from ids; every text that came from people is escaped.
  const entitlement = escapeMrkdwn(r.entitlement);
  const reason = r.reason ? escapeMrkdwn(r.reason) : null;
  const texts = {
    denied: `Request #${r.id} for ${entitlement} was denied${r.by ? ` by <@${r.by}>` : ''}${reason ? `: ${reason}` : ''}.`,
    refused: `Request #${r.id} for ${entitlement} was approved, but Gatehouse did not grant it: ${reason ?? 'it would break separation of duties'}. Nothing changed; ask IT if you need both.`,
    not_offered: `Request #${r.id} for ${entitlement} was approved, but Gatehouse did not grant it: ${reason ?? 'no policy offers it to you any more'}. Nothing changed; \`/access\` lists what your role offers now.`,
    active: `Your access to ${entitlement} works now${until} (request #${r.id}).`,
    ended: `Your access to ${entitlement} has ended and is removed (request #${r.id}${reason ? `, ${reason}` : ''}).`,
    failed: `Gatehouse could not grant ${entitlement} (request #${r.id}): ${reason ?? 'the system refused it'}. IT has been told.`,
    timed_out: `Request #${r.id} for ${entitlement} timed out with no decision; file it again if you still need it.`,
    expiring: `Your access to ${entitlement} ends at ${r.expiresAt ? `${r.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : 'its end time'} (request #${r.id}). Need longer? Extend asks your approvers again.`,
  } as const;
  const text = texts[kind];
  const blocks: unknown[] = [section(text)];
  if (kind === 'expiring') {
    blocks.push({ type: 'actions', block_id: `extend_${r.id}`, elements: [{ type: 'button', action_id: ACTION.extend, text: plain('Extend'), value: String(r.id) }] });
  }
  return { text, blocks };
}

export interface HeldGrant {
  entitlement: string;
  source: string;
  status: string;
  expiresAt: Date | null;
}

export function mineText(grants: HeldGrant[], pending: { id: number; entitlement: string; state: string }[]): string {
  const lines = grants.length === 0 ? ['You hold nothing Gatehouse manages yet.'] : ['*What you hold*', ...grants.map((g) => `• \`${g.entitlement}\` — ${g.source.startsWith('request:') ? `request #${g.source.slice(8)}` : g.source.replace(/^policy:/, 'policy ')}, ${g.status}${g.expiresAt ? `, until ${g.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : ''}`)];
  if (pending.length > 0) lines.push('*Your open requests*', ...pending.map((p) => `• #${p.id} \`${p.entitlement}\` — ${p.state}`));
  return lines.join('\n');
}

export function pendingText(waiting: { id: number; requester: string; entitlement: string; durationMs: number | null; createdAt: Date }[]): string {
  if (waiting.length === 0) return 'Nothing is waiting for your approval.';
  return ['*Waiting for your approval*', ...waiting.map((w) => `• #${w.id} <@${w.requester}> asks for \`${w.entitlement}\` ${forDuration(w.durationMs)} (since ${w.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC) — the DM has the buttons`)].join('\n');
}

/** The `/access` modal: a searchable list of what this person may request, a duration, a reason. */
export function requestModal(input: { maxDuration: string | null }): unknown {
  return {
    type: 'modal',
    callback_id: VIEW.request,
    title: plain('Request access'),
    submit: plain('Request'),
    close: plain('Cancel'),
    blocks: [
      {
        type: 'input',
        block_id: BLOCK.entitlement,
        label: plain('What do you need?'),
        element: { type: 'external_select', action_id: BLOCK.entitlement, placeholder: plain('Search what you may request'), min_query_length: 0 },
      },
      {
        type: 'input',
        block_id: BLOCK.duration,
        optional: true,
        label: plain('For how long?'),
        hint: plain(input.maxDuration ? `At most ${input.maxDuration}` : 'e.g. 30m, 4h, 2d; empty for the longest the policy allows'),
        element: { type: 'plain_text_input', action_id: BLOCK.duration, placeholder: plain('4h') },
      },
      {
        type: 'input',
        block_id: BLOCK.justification,
        optional: true,
        label: plain('Why?'),
        element: { type: 'plain_text_input', action_id: BLOCK.justification, multiline: true, placeholder: plain('An incident or ticket number helps your approvers') },
      },
    ],
  };
}

export function denyReasonModal(requestId: number, meta: { channel: string | null; ts: string | null }): unknown {
  return {
    type: 'modal',
    callback_id: VIEW.denyReason,
    private_metadata: JSON.stringify({ requestId, ...meta }),
    title: plain('Deny request'),
    submit: plain('Deny'),
    close: plain('Back'),
    blocks: [
      { type: 'input', block_id: BLOCK.reason, label: plain('Why? The requester sees this.'), element: { type: 'plain_text_input', action_id: BLOCK.reason, multiline: true } },
    ],
  };
}

export function appHomeView(input: { grants: HeldGrant[]; requests: { id: number; entitlement: string; state: string }[]; approvals: { id: number; requester: string; entitlement: string; durationMs: number | null; createdAt: Date }[] }): unknown {
  return {
    type: 'home',
    blocks: [
      { type: 'header', text: plain('My access') },
      section(mineText(input.grants, []).replace('*What you hold*\n', '')),
      { type: 'actions', elements: [{ type: 'button', action_id: ACTION.openRequestModal, text: plain('Request more'), style: 'primary' }] },
      { type: 'divider' },
      { type: 'header', text: plain('My requests') },
      section(input.requests.length === 0 ? 'No open requests.' : input.requests.map((r) => `• #${r.id} \`${r.entitlement}\` — ${r.state}`).join('\n')),
      { type: 'divider' },
      { type: 'header', text: plain('Waiting on me') },
      section(pendingText(input.approvals).replace('*Waiting for your approval*\n', '')),
    ],
  };
}

/** `/access audit`: one person's recent history from the audit log, newest first. */
export function historyText(email: string, rows: { at: Date; actor: string; action: string; entitlement: string | null; reason: string | null; result: string | null }[]): string {
  if (rows.length === 0) return `The audit log has nothing about ${email}.`;
  const by = (actor: string) => (actor.startsWith('slack:') ? `<@${actor.slice(6)}>` : escapeMrkdwn(actor));
  return [
    `*Recent history of ${escapeMrkdwn(email)}* (newest first; \`gatehouse audit export\` has everything)`,
    ...rows.map((r) => `• ${r.at.toISOString().slice(0, 16).replace('T', ' ')} UTC — ${escapeMrkdwn(r.action)}${r.entitlement ? ` \`${escapeMrkdwn(r.entitlement)}\`` : ''}${r.result ? ` → ${escapeMrkdwn(r.result.slice(0, 80))}` : ''}, by ${by(r.actor)}${r.reason ? ` (${escapeMrkdwn(r.reason.slice(0, 80))})` : ''}`),
  ].join('\n');
}
