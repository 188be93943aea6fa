/**
 * Block Kit for what the orchestrator reports: run summaries, alerts and manual tasks. Pure
 * functions of their input, so tests check the text people read without Slack.
 */
import type { RunSummary } from '../../orchestrator/run-state.js';

export interface Message {
  text: string;
  blocks: unknown[];
}

/** The action id of a manual task's Done button; its value is the task id. */
export const MANUAL_TASK_DONE = 'manual_task_done';

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const section = (text: string) => ({ type: 'section', text: mrkdwn(text) });
const context = (text: string) => ({ type: 'context', elements: [mrkdwn(text)] });

/** Slack's mrkdwn treats &, < and > as markup. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const VERB: Record<string, string> = { joiner: 'Onboarding', rehire: 'Rehire', mover: 'Transfer', leaver: 'Offboarding', drift: 'Drift correction', request: 'Access request' };

export function runSummaryMessage(input: { runId: string; email: string; name: string; summary: RunSummary }): Message {
  const { summary } = input;
  const who = input.name ? `${escapeMrkdwn(input.name)} (${escapeMrkdwn(input.email)})` : escapeMrkdwn(input.email);
  const failed = summary.totals.failed ?? 0;
  const manual = summary.manualPending.length;
  const verb = VERB[summary.reason] ?? `Run (${summary.reason})`;
  const outcome = failed > 0 ? `finished with ${failed} failure${failed === 1 ? '' : 's'}` : manual > 0 ? `done except ${manual} manual task${manual === 1 ? '' : 's'}` : 'complete';
  const icon = failed > 0 ? ':warning:' : manual > 0 ? ':hourglass_flowing_sand:' : ':white_check_mark:';
  const text = `${verb} of ${input.name || input.email} ${outcome} in ${formatDuration(summary.durationMs)}`;
  const systems = Object.entries(summary.bySystem)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([system, states]) => {
      const parts = Object.entries(states)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([state, n]) => `${n} ${state}`);
      return `• *${escapeMrkdwn(system)}*: ${parts.join(', ')}`;
    });
  const blocks: unknown[] = [section(`${icon} *${verb}* of ${who} ${outcome} in ${formatDuration(summary.durationMs)}`), section(systems.join('\n') || '_nothing to change_')];
  if (failed > 0) {
    blocks.push(section(`*Failed*\n${summary.failures.map((f) => `• \`${escapeMrkdwn(f.entitlement)}\`: ${escapeMrkdwn((f.error ?? 'no reason recorded').slice(0, 300))}`).join('\n')}`));
  }
  if (manual > 0) {
    blocks.push(section(`*Waiting on people*\n${summary.manualPending.map((t) => `• ${t.kind === 'grant' ? 'provide' : 'take back'} \`${escapeMrkdwn(t.entitlement)}\`${t.taskId ? ` (task #${t.taskId})` : ''}`).join('\n')}`));
  }
  blocks.push(context(`run ${input.runId} · \`gatehouse access ${escapeMrkdwn(input.email)}\``));
  return { text, blocks };
}

export function alertMessage(alert: { id: number; kind: string; subject: string; message: string; opened_at: Date }, resolved = false): Message {
  if (resolved) {
    const text = alert.kind === 'auth' ? `${alert.subject} accepts Gatehouse's credentials again; its queue has resumed` : `Resolved: ${alert.message}`;
    return { text, blocks: [section(`:large_green_circle: ${escapeMrkdwn(text)}`), context(`alert #${alert.id}`)] };
  }
  const title = alert.kind === 'auth' ? `${alert.subject} refuses Gatehouse's credentials: its queue is paused` : 'A termination is not fully done within the SLA';
  return {
    text: `${title}: ${alert.message}`,
    blocks: [section(`:rotating_light: *${escapeMrkdwn(title)}*`), section(escapeMrkdwn(alert.message)), context(`alert #${alert.id} · opened ${alert.opened_at.toISOString()}`)],
  };
}

export function manualTaskMessage(input: { taskId: number; kind: 'grant' | 'revoke'; entitlement: string; reason: string | null; email: string; name: string; title: string | null; manager: string | null }): Message {
  const who = input.name ? `${input.name} (${input.email})` : input.email;
  const what = `${input.kind === 'grant' ? 'Provide' : 'Take back'} ${input.entitlement}`;
  const text = `Manual task #${input.taskId}: ${what} for ${who}`;
  const details = [`*Who:* ${escapeMrkdwn(who)}${input.title ? `, ${escapeMrkdwn(input.title)}` : ''}`, `*What:* ${input.kind === 'grant' ? 'provide' : 'take back'} \`${escapeMrkdwn(input.entitlement)}\``, `*Why:* ${escapeMrkdwn(input.reason ?? (input.kind === 'revoke' ? 'no longer granted by any policy' : 'policy'))}`];
  if (input.manager) details.push(`*Manager:* ${escapeMrkdwn(input.manager)}`);
  return {
    text,
    blocks: [
      section(`:clipboard: *Manual task #${input.taskId}*\n${details.join('\n')}`),
      {
        type: 'actions',
        block_id: `manual_task_${input.taskId}`,
        elements: [{ type: 'button', action_id: MANUAL_TASK_DONE, text: { type: 'plain_text', text: 'Done' }, style: 'primary', value: String(input.taskId) }],
      },
    ],
  };
}

export function manualTaskDoneMessage(input: { taskId: number; kind: 'grant' | 'revoke'; entitlement: string; email: string; doneBy: string }): Message {
  const text = `Manual task #${input.taskId} done by ${input.doneBy}: ${input.kind === 'grant' ? 'provided' : 'took back'} ${input.entitlement} for ${input.email}`;
  return { text, blocks: [section(`:white_check_mark: ${escapeMrkdwn(text)}`)] };
}
