/**
 * The soak's Slack side: a local fake of the Slack Web API (test/helpers/slack-api-fake.ts) that
 * both serves talk to through SLACK_API_URL, and the people who use `/access`: requesters send
 * signed slash commands to /slack/events, and approvers click the buttons of the DMs Gatehouse
 * sent them (block_actions) or deny with a reason (view_submission). Every request is asked
 * `for 1m`, so its expiry comes due during the run.
 *
 * Payload shapes: api.slack.com/interactivity/slash-commands#app_command_handling and
 * api.slack.com/reference/interaction-payloads (as in test/slack/access-request-flow.test.ts).
 */
import { SlackApiFake } from '../../test/helpers/slack-api-fake.js';
import { slackHeaders } from '../../test/helpers/slack-signing.js';

export const SLACK_SECRET = 'soak-slack-signing-secret';
export const MANAGER_EMAIL = 'lead@company.com';

/** What a person may ask for under the example policies (policies/*.yaml `requestable`), by role. */
export function requestableFor(record: { department?: string; team?: string; job_title?: string; employment_type?: string }): string | null {
  if (record.employment_type === 'Contractor') return 'github:repo:acme/platform-docs#read'; // approvers: manager, owner (@it-team)
  if (record.team === 'Platform' && /Platform Engineer$/.test(record.job_title ?? '')) return 'aws:account-assignment:222222222222#AdministratorAccess'; // manager, then @security-oncall
  if (record.department === 'Sales' && record.job_title !== 'Sales Engineer') return 'salesforce:permission-set:API_Enabled'; // manager
  return null;
}

export const slackIdOf = (employeeId: string) => `U0${employeeId.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;

export interface SlackStats {
  commands: number;
  commandsUnanswered: number;
  approvals: number;
  denials: number;
  deliveryRetries: number;
  /** Answers given again because the first was lost with a killed serve. */
  clicksRepeated: number;
}

export class SoakSlack {
  readonly fake = new SlackApiFake();
  readonly stats: SlackStats = { commands: 0, commandsUnanswered: 0, approvals: 0, denials: 0, deliveryRetries: 0, clicksRepeated: 0 };
  /** When each approval DM (channel, ts) was last answered. */
  readonly #answeredAt = new Map<string, number>();
  #seq = 0;

  readonly ports: () => number[];
  readonly random: () => number;
  constructor(ports: () => number[], random: () => number) {
    this.ports = ports;
    this.random = random;
  }

  async start(people: { employee_id: string; email: string }[]): Promise<this> {
    for (const p of people) this.fake.addUser({ id: slackIdOf(p.employee_id), email: p.email, name: p.employee_id });
    this.fake.addUser({ id: 'U0LEAD', email: MANAGER_EMAIL, name: 'lead' }).addUser({ id: 'U0SEC', email: 'sec@company.com', name: 'sec' }).addUser({ id: 'U0IT', email: 'it@company.com', name: 'it' });
    this.fake.addUsergroup('security-oncall', ['U0SEC']).addUsergroup('it-team', ['U0IT']);
    await this.fake.listen();
    return this;
  }

  /** What the serves need to talk to this Slack. */
  env(): Record<string, string> {
    return { SLACK_SIGNING_SECRET: SLACK_SECRET, SLACK_BOT_TOKEN: 'xoxb-soak', SLACK_API_URL: this.fake.url, IT_ADMINS: '@it-team' };
  }

  /** Posts a signed body to /slack/events of either serve until one answers 200 (a serve may be down). */
  async #post(body: string, contentType: string): Promise<boolean> {
    const ports = this.ports();
    for (let attempt = 0; attempt < 60; attempt++) {
      const port = ports[(this.#seq + attempt) % ports.length]!;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', headers: { 'content-type': contentType, ...slackHeaders(SLACK_SECRET, body) }, body, signal: AbortSignal.timeout(10_000) });
        await res.text();
        if (res.status === 200) return true;
      } catch {
        // that serve is down (or was killed mid-request); Slack would show an error, the user tries again
      }
      this.stats.deliveryRetries++;
      await new Promise((r) => setTimeout(r, 300 + this.random() * 300));
    }
    return false;
  }

  /** `/access <text>` from a person. */
  async command(userId: string, text: string): Promise<void> {
    const seq = ++this.#seq;
    this.stats.commands++;
    const body = new URLSearchParams({ token: 'legacy', team_id: 'T0ACME', team_domain: 'acme', channel_id: 'C0GENERAL', channel_name: 'general', user_id: userId, user_name: userId.toLowerCase(), command: '/access', text, api_app_id: 'A0GATEHOUSE', is_enterprise_install: 'false', response_url: this.fake.responseUrl(`cmd-${seq}`), trigger_id: `${seq}.1.soak` }).toString();
    if (!(await this.#post(body, 'application/x-www-form-urlencoded'))) this.stats.commandsUnanswered++;
  }

  #interaction(payload: Record<string, unknown>): Promise<boolean> {
    return this.#post(new URLSearchParams({ payload: JSON.stringify({ api_app_id: 'A0GATEHOUSE', token: 'legacy', team: { id: 'T0ACME', domain: 'acme' }, is_enterprise_install: false, ...payload }) }).toString(), 'application/x-www-form-urlencoded');
  }

  /**
   * Every approval DM not yet acted on gets its approver's answer: approve, or (denyShare of the
   * time) deny with a reason through the reason modal's view_submission. Returns how many it answered.
   */
  async answerApprovals(denyShare: number): Promise<number> {
    let answered = 0;
    for (const message of [...this.fake.messages]) {
      const blocks = JSON.stringify(message.blocks ?? []);
      if (!message.channel.startsWith('DU') || !blocks.includes('"action_id":"request_approve"')) continue;
      // Still showing its buttons 15 s after an answer: the answer was lost (the serve that took
      // it was killed after acknowledging it, and Slack does not retry), so the approver, seeing
      // no change, clicks again, as a person would.
      const key = `${message.channel} ${message.ts}`;
      const lastAnswer = this.#answeredAt.get(key);
      if (lastAnswer !== undefined && Date.now() - lastAnswer < 15_000) continue;
      if (lastAnswer !== undefined) this.stats.clicksRepeated++;
      const id = approveValue(message.blocks);
      if (!id) continue;
      this.#answeredAt.set(key, Date.now());
      const approver = message.channel.slice(1);
      const user = { id: approver, username: approver.toLowerCase(), name: approver.toLowerCase(), team_id: 'T0ACME' };
      const seq = ++this.#seq;
      let ok: boolean;
      if (this.random() < denyShare) {
        ok = await this.#interaction({
          type: 'view_submission',
          user,
          trigger_id: `${seq}.3.soak`,
          view: { id: `V0DENY${seq}`, team_id: 'T0ACME', type: 'modal', callback_id: 'request_deny_reason', private_metadata: JSON.stringify({ requestId: Number(id), channel: message.channel, ts: message.ts }), state: { values: { reason: { reason: { type: 'plain_text_input', value: 'not during the soak' } } } }, hash: '1.soak' },
          response_urls: [],
        });
        if (ok) this.stats.denials++;
      } else {
        ok = await this.#interaction({
          type: 'block_actions',
          user,
          container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
          trigger_id: `${seq}.2.soak`,
          channel: { id: message.channel, name: 'directmessage' },
          response_url: this.fake.responseUrl(`act-${seq}`),
          actions: [{ action_id: 'request_approve', block_id: `b-${id}`, value: id, type: 'button', action_ts: `${Date.now() / 1000}` }],
        });
        if (ok) this.stats.approvals++;
      }
      if (ok) answered++;
      else this.#answeredAt.delete(key); // try again next round
    }
    return answered;
  }

  /** How the slash commands were answered (through their response_url), grouped: filed, or why not. */
  commandAnswers(): string {
    const counts = new Map<string, number>();
    for (const r of this.fake.responses.filter((x) => x.id.startsWith('cmd-'))) {
      const text = String(r.body.text ?? '');
      const kind = text.startsWith('Request #') ? 'filed' : text.replace(/`[^`]*`|#\d+|<[^>]*>/g, '…').slice(0, 70);
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    return [...counts].map(([k, n]) => `${n}× ${k}`).join('; ');
  }

  /** Broadcast mentions Gatehouse must never send, whatever people typed. */
  broadcasts(): string[] {
    return this.fake.messages.filter((m) => /<!(channel|here|everyone)>/.test(`${m.text} ${JSON.stringify(m.blocks ?? [])}`)).map((m) => `${m.channel}: ${m.text.slice(0, 120)}`);
  }

  stop(): Promise<void> {
    return this.fake.stop();
  }
}

/** The request id on the Approve button of a message's blocks (actions → elements). */
function approveValue(blocks: unknown[] | undefined): string | undefined {
  for (const block of (blocks ?? []) as { elements?: { action_id?: string; value?: string }[] }[]) {
    const button = block.elements?.find((e) => e.action_id === 'request_approve');
    if (button?.value) return button.value;
  }
  return undefined;
}
