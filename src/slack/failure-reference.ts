import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';

/**
 * Logs an unexpected error (at error level) under a short, fresh reference and returns that
 * reference, for the message the Slack user sees instead of the error itself: an error's text can
 * name tables, hosts or a connection string, and the person who typed the command is not who
 * should read it (issue 27). IT finds the whole error by searching the logs for `"ref":"<it>"`.
 */
export function logFailureWithReference(log: Logger, error: unknown, fields: Record<string, unknown>, message: string): string {
  // 24 random bits: short enough to read out, and unique enough among the failures of a day.
  const ref = randomBytes(3).toString('hex');
  log.error({ ...fields, err: error, ref }, message);
  return ref;
}

/**
 * The user's half: what happened, that it is safe to retry, and what to tell IT. `nothingChanged`
 * is false where the failure may have come after a write (a revoke already sent to a system).
 */
export function failureText(what: string, ref: string, options: { nothingChanged?: boolean } = {}): string {
  return `${what}${options.nothingChanged === false ? '.' : '; nothing changed.'} Try again in a minute, or give IT this reference: \`ref ${ref}\`.`;
}
