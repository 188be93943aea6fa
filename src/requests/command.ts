/**
 * The text after `/access`, parsed. Pure and total: any string gives a command or an error that
 * says how to write it (Slack sends whatever the user typed, up to 4,000 characters).
 */
import { DURATION_MS } from '../policy/schema.js';

export type AccessCommand =
  | { kind: 'modal' }
  | { kind: 'help' }
  | { kind: 'mine' }
  | { kind: 'pending' }
  | { kind: 'request'; entitlement: string; durationMs: number | null; duration: string | null; reason: string | null }
  | { kind: 'release'; entitlement: string }
  | { kind: 'cancel'; requestId: number }
  | { kind: 'audit'; slackUserId: string | null; email: string | null }
  | { kind: 'error'; message: string };

export const USAGE = [
  '`/access` — pick something to request from a list',
  '`/access request <entitlement> [for <duration>] [because <reason>]` — e.g. `/access request aws:account-assignment:222222222222#AdministratorAccess for 4h because INC-1234`',
  '`/access mine` — what you hold, where it comes from, when it ends',
  '`/access pending` — requests waiting on your approval',
  '`/access release <entitlement>` — give time-bound access up now',
  '`/access cancel <request number>` — withdraw a request still waiting for approval',
  '`/access audit @person` — (IT) the recent history of one person',
  '`/access help` — this list',
].join('\n');

const DURATION = /^([1-9]\d{0,5})\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?)$/i;

/** `4h`, `30m`, `2 days`, `1 week` → milliseconds; null when it is not a duration. */
export function parseDuration(text: string): { ms: number; canonical: string } | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  const unit = match[2]!.toLowerCase()[0] as keyof typeof DURATION_MS;
  const n = Number(match[1]);
  return { ms: n * DURATION_MS[unit], canonical: `${n}${unit}` };
}

/**
 * Slack escapes what it sends when the command asks it to (should_escape): mentions become
 * `<@U123|name>`, channels `<#C123|name>`, and &, <, > are entities. Channels and entities are
 * turned back into what the person typed; user mentions are kept for `audit`.
 */
function unescapeSlack(text: string): string {
  return text
    .replace(/<#[A-Z0-9]+\|([^>]*)>/g, '#$1')
    .replace(/<(https?:[^>|]+)(?:\|[^>]*)?>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export function parseAccessCommand(raw: string): AccessCommand {
  // NUL cannot be stored in Postgres text, and no one types it on purpose.
  const text = unescapeSlack(raw.replaceAll('\u0000', '').replace(/\s+/g, ' ').trim());
  if (text === '') return { kind: 'modal' };
  const [first = '', ...rest] = text.split(' ');
  const verb = first.toLowerCase();
  const args = rest.join(' ');
  if (verb === 'help' || verb === '?') return { kind: 'help' };
  if (verb === 'mine' || verb === 'list') return rest.length === 0 ? { kind: 'mine' } : { kind: 'error', message: '`/access mine` takes nothing after it' };
  if (verb === 'pending') return rest.length === 0 ? { kind: 'pending' } : { kind: 'error', message: '`/access pending` takes nothing after it' };
  if (verb === 'release') {
    if (rest.length !== 1) return { kind: 'error', message: 'say which grant to release: `/access release <entitlement>` (see `/access mine`)' };
    return { kind: 'release', entitlement: rest[0]! };
  }
  if (verb === 'cancel') {
    const id = /^#?(\d{1,12})$/.exec(args);
    return id ? { kind: 'cancel', requestId: Number(id[1]) } : { kind: 'error', message: 'say which request to cancel: `/access cancel <request number>`, e.g. `/access cancel 42`' };
  }
  if (verb === 'audit') {
    const mention = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/.exec(args);
    if (mention) return { kind: 'audit', slackUserId: mention[1]!, email: null };
    if (/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(args)) return { kind: 'audit', slackUserId: null, email: args.toLowerCase() };
    return { kind: 'error', message: 'say whose history to show: `/access audit @person` or `/access audit person@company.com`' };
  }
  if (verb !== 'request') {
    return { kind: 'error', message: `"${first.slice(0, 40)}" is not an /access command. Try one of these:\n${USAGE}` };
  }
  if (args === '') return { kind: 'error', message: 'say what to request: `/access request <entitlement> [for <duration>] [because <reason>]`, or `/access` alone to pick from a list' };
  // `because` starts the reason (everything after it); `for <duration>` may come before it.
  const because = /(?:^|\s)because(?:\s+|$)/i.exec(args);
  const head = because ? args.slice(0, because.index) : args;
  const reason = because ? args.slice(because.index + because[0].length).trim() : null;
  if (because && !reason) return { kind: 'error', message: 'nothing follows "because": say why you need it' };
  const words = head.split(' ').filter(Boolean);
  if (words.length === 0) return { kind: 'error', message: 'say what to request before "because"' };
  const entitlement = words[0]!;
  let duration: { ms: number; canonical: string } | null = null;
  if (words.length > 1) {
    if (words[1]!.toLowerCase() !== 'for' || words.length < 3) {
      return { kind: 'error', message: `did not understand "${words.slice(1).join(' ').slice(0, 60)}": write \`for <duration>\` (e.g. \`for 4h\`) and \`because <reason>\`` };
    }
    duration = parseDuration(words.slice(2).join(' '));
    if (!duration) return { kind: 'error', message: `"${words.slice(2).join(' ').slice(0, 40)}" is not a duration: write it as 30m, 4h, 2d or 1w` };
  }
  return { kind: 'request', entitlement, durationMs: duration?.ms ?? null, duration: duration?.canonical ?? null, reason: reason ? reason.slice(0, 3000) : null };
}
