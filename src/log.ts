import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Paths that may carry a secret anywhere Gatehouse logs an object. pino replaces them before a
 * line is written, so a careless `log.info({ headers })` cannot leak a token.
 */
const REDACT = [
  'token',
  'password',
  'secret',
  'authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'headers["x-slack-signature"]',
  'headers["gatehouse-signature"]',
  '*.headers.authorization',
  'config.env',
  // AUDIT_KEY signs the audit chain: with it, a rewritten log could be signed again.
  'auditKey',
  '*.auditKey',
  'AUDIT_KEY',
  '*.AUDIT_KEY',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream | undefined,
  );
}
