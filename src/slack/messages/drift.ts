/** Block Kit for drift alerts and the keep-as-exception modal. Pure; snapshot-tested. */
import { escapeMrkdwn, type Message } from './orchestrator.js';

export const DRIFT_ACTION = { revoke: 'drift_revoke', keep: 'drift_keep' } as const;
export const DRIFT_VIEW = 'drift_keep_exception';

export interface DriftAlertItem {
  id: number;
  system: string;
  class: 'missing' | 'extra' | 'orphan' | 'level';
  entitlement: string;
  email: string | null;
  accountId: string;
  login: string | null;
  expected: string | null;
  firstSeen: Date;
}

const TOP = 10;

function describeItem(i: DriftAlertItem): string {
  const who = escapeMrkdwn(i.email ?? i.login ?? i.accountId);
  if (i.class === 'orphan') return `*orphan account* ${who} in ${escapeMrkdwn(i.system)}: no active person in the HR system owns it`;
  if (i.class === 'level') return `*level* ${who} holds \`${escapeMrkdwn(i.entitlement)}\` where policy says \`${escapeMrkdwn(i.expected ?? '?')}\``;
  if (i.class === 'missing') return `*missing* ${who} lacks \`${escapeMrkdwn(i.entitlement)}\` (granted again)`;
  return `*extra* ${who} holds \`${escapeMrkdwn(i.entitlement)}\`, which no policy, request or exception justifies`;
}

export function driftAlertMessage(items: DriftAlertItem[], at: Date): Message {
  if (items.length === 0) return { text: 'Drift: nothing left to decide', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:white_check_mark: Drift: every item is decided or fixed (as of ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC).` } }] };
  const bySystem = new Map<string, Map<string, number>>();
  for (const i of items) {
    const classes = bySystem.get(i.system) ?? new Map<string, number>();
    classes.set(i.class, (classes.get(i.class) ?? 0) + 1);
    bySystem.set(i.system, classes);
  }
  const counts = [...bySystem.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([system, classes]) => `• *${escapeMrkdwn(system)}*: ${[...classes.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([c, n]) => `${n} ${c}`).join(', ')}`)
    .join('\n');
  const text = `Drift: ${items.length} item${items.length === 1 ? '' : 's'} changed outside Gatehouse need${items.length === 1 ? 's' : ''} a decision`;
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `:mag: *${text}*\n${counts}` } },
  ];
  for (const i of items.slice(0, TOP)) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `${describeItem(i)} · #${i.id}` } });
    blocks.push({
      type: 'actions',
      block_id: `drift_${i.id}`,
      elements: [
        { type: 'button', action_id: DRIFT_ACTION.revoke, text: { type: 'plain_text', text: i.class === 'orphan' ? 'Suspend' : i.class === 'level' ? 'Set to policy level' : 'Revoke' }, style: 'danger', value: String(i.id) },
        { type: 'button', action_id: DRIFT_ACTION.keep, text: { type: 'plain_text', text: 'Keep as exception' }, value: String(i.id) },
      ],
    });
  }
  if (items.length > TOP) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `and ${items.length - TOP} more: \`gatehouse drift --format json\` lists them all` }] });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `updated ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC` }] });
  return { text, blocks };
}

export function keepExceptionModal(itemId: number, item: { entitlement: string; who: string }): unknown {
  return {
    type: 'modal',
    callback_id: DRIFT_VIEW,
    private_metadata: JSON.stringify({ itemId }),
    title: { type: 'plain_text', text: 'Keep as exception' },
    submit: { type: 'plain_text', text: 'Keep' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${escapeMrkdwn(item.who)} keeps \`${escapeMrkdwn(item.entitlement)}\`.` } },
      { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Why may it stay?' }, element: { type: 'plain_text_input', action_id: 'reason', multiline: true } },
      { type: 'input', block_id: 'expiry', optional: true, label: { type: 'plain_text', text: 'For how long?' }, hint: { type: 'plain_text', text: 'e.g. 7d or 2w; empty keeps it until someone removes the exception' }, element: { type: 'plain_text_input', action_id: 'expiry' } },
    ],
  };
}
