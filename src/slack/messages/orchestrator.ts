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
  const text = `${verb} of ${escapeMrkdwn(input.name || input.email)} ${outcome} in ${formatDuration(summary.durationMs)}`;
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
    const text = escapeMrkdwn(alert.kind === 'auth' ? `${alert.subject} accepts Gatehouse's credentials again; its queue has resumed` : `Resolved: ${alert.message}`);
    return { text, blocks: [section(`:large_green_circle: ${text}`), context(`alert #${alert.id}`)] };
  }
  const title =
    alert.kind === 'auth' ? `${alert.subject} refuses Gatehouse's credentials: its queue is paused` : alert.kind === 'sod'
        ? 'Access withheld: it would break separation of duties'
        : alert.kind === 'event_order'
          ? 'A termination arrived out of order: check it'
          : 'A termination is not fully done within the SLA';
  return {
    text: escapeMrkdwn(`${title}: ${alert.message}`),
    blocks: [section(`:rotating_light: *${escapeMrkdwn(title)}*`), section(escapeMrkdwn(alert.message)), context(`alert #${alert.id} · opened ${alert.opened_at.toISOString()}`)],
  };
}

export function manualTaskMessage(input: { taskId: number; kind: 'grant' | 'revoke'; entitlement: string; reason: string | null; email: string; name: string; title: string | null; manager: string | null }): Message {
  const who = input.name ? `${input.name} (${input.email})` : input.email;
  const what = `${input.kind === 'grant' ? 'Provide' : 'Take back'} ${input.entitlement}`;
  const text = escapeMrkdwn(`Manual task #${input.taskId}: ${what} for ${who}`);
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
  // doneBy is a mention Gatehouse built (<@U…>); everything else is escaped.
  const text = `Manual task #${input.taskId} done by ${input.doneBy}: ${input.kind === 'grant' ? 'provided' : 'took back'} ${escapeMrkdwn(input.entitlement)} for ${escapeMrkdwn(input.email)}`;
  return { text, blocks: [section(`:white_check_mark: ${text}`)] };
}

/** The thread under a run summary: every operation, its outcome, attempts, time and error. */
export function operationLogMessage(ops: { key: string; state: string; outcome: string | null; attempts: number; last_error: string | null; started_at: Date | null; finished_at: Date | null }[]): Message {
  const lines = ops.map((o) => {
    const took = o.started_at && o.finished_at ? `, ${formatDuration(o.finished_at.getTime() - o.started_at.getTime())}` : '';
    const error = o.last_error && o.state !== 'verified' ? `: ${escapeMrkdwn(o.last_error.slice(0, 200))}` : '';
    return `• \`${escapeMrkdwn(o.key)}\` ${o.state}${o.outcome && o.outcome !== 'applied' ? ` (${o.outcome.replace('_', ' ')})` : ''}, ${o.attempts} attempt${o.attempts === 1 ? '' : 's'}${took}${error}`;
  });
  // A section holds 3,000 characters: long logs are split over several.
  const blocks: unknown[] = [];
  let chunk: string[] = [];
  for (const line of lines) {
    if ([...chunk, line].join('\n').length > 2_900) {
      blocks.push(section(chunk.join('\n')));
      chunk = [];
    }
    chunk.push(line);
  }
  if (chunk.length > 0) blocks.push(section(chunk.join('\n')));
  return { text: `Operation log (${ops.length} operation${ops.length === 1 ? '' : 's'})`, blocks: blocks.slice(0, 50) };
}

/** To the manager, when their new report's access is ready (and what still waits on people). */
export function reportReadyMessage(input: { name: string; email: string; summary: RunSummary }): Message {
  const ready = (input.summary.totals.verified ?? 0) + (input.summary.totals.applied ?? 0);
  const failed = input.summary.totals.failed ?? 0;
  const waiting = input.summary.manualPending.map((t) => `\`${escapeMrkdwn(t.entitlement)}\``);
  const head = `${escapeMrkdwn(input.name)}'s access is ready: ${ready} grant${ready === 1 ? '' : 's'} in place${failed > 0 ? `, ${failed} failed (IT is on it)` : ''}`;
  const text = `${head}${waiting.length > 0 ? `; still with IT: ${input.summary.manualPending.map((t) => escapeMrkdwn(t.entitlement)).join(', ')}` : ''}.`;
  return { text, blocks: [section(`:tada: ${head}${waiting.length > 0 ? `; still with IT: ${waiting.join(', ')}` : ''}.`), context(`\`/access\` lets them ask for more · ${escapeMrkdwn(input.email)}`)] };
}

export function welcomeMessage(input: { firstName: string | null }): Message {
  const text = `Welcome${input.firstName ? `, ${escapeMrkdwn(input.firstName)}` : ''}! Your accounts are set up. Type \`/access mine\` to see what you have, and \`/access\` to ask for more.`;
  return { text, blocks: [section(`:wave: ${text}`)] };
}

/** The action id of the manager's "Request extension" button on a contractor notice; its value is the person id. */
export const CONTRACTOR_EXTENSION = 'contractor_extension';

/**
 * A contractor's notice. `daysLeft` is the calendar days from today to end_date where the
 * contractor is (`timeZone`), not the notice's bucket: added 3 days before the end, they read "in
 * 3 days", not "in 7 days".
 */
export function contractorNoticeMessage(input: { personId: string; name: string; email: string; endDate: string; daysLeft: number; timeZone: string; manager: string | null }, audience: 'contractor' | 'manager' | 'it'): Message {
  const whose = audience === 'contractor' ? 'your' : 'their';
  const when = input.daysLeft <= 0 ? `today is ${whose} last day` : input.daysLeft === 1 ? 'tomorrow, 1 day left' : `in ${input.daysLeft} days`;
  const until = `at the end of that day (${input.timeZone} time)`;
  const name = escapeMrkdwn(input.name);
  const text =
    audience === 'contractor'
      ? `Your contract ends on ${input.endDate} (${when}): your access ends ${until}. If it is being extended, your manager can ask IT to update your end date.`
      : audience === 'manager'
        ? `${name}'s contract ends on ${input.endDate} (${when}); their access ends with it, ${until}. If they are staying on, request an extension.`
        : `Contractor ${name} (${escapeMrkdwn(input.email)}) ends on ${input.endDate} (${when})${input.manager ? `; sponsor ${escapeMrkdwn(input.manager)}` : ''}. Their access is revoked ${until}.`;
  const blocks: unknown[] = [section(`:calendar: ${text}`)];
  if (audience === 'manager') {
    blocks.push({ type: 'actions', block_id: `contractor_${input.personId}`, elements: [{ type: 'button', action_id: CONTRACTOR_EXTENSION, text: { type: 'plain_text', text: 'Request extension' }, value: input.personId }] });
  }
  return { text, blocks };
}
