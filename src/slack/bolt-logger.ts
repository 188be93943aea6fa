import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from '../log.js';

/** Bolt's Logger interface over our pino logger, so Slack's own messages land in the same stream. */
export function boltLogger(log: Logger): SlackLogger {
  const child = log.child({ component: 'bolt' });
  const toText = (msg: unknown[]) =>
    msg
      .map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m)))
      .join(' ');
  return {
    debug: (...msg: unknown[]) => child.debug(toText(msg)),
    info: (...msg: unknown[]) => child.info(toText(msg)),
    warn: (...msg: unknown[]) => child.warn(toText(msg)),
    error: (...msg: unknown[]) => child.error(toText(msg)),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}
