import { PgBoss, type Queue } from 'pg-boss';
import type { Logger } from '../log.js';

/**
 * Every queue Gatehouse uses, with its delivery options. Created at start-up by every process
 * (createQueue is idempotent), so a new replica never works a queue that does not exist yet.
 * `notify` makes pg-boss NOTIFY on insert, so a worker starts a job within milliseconds rather
 * than at its next poll.
 */
export const QUEUES = {
  reconcilePerson: {
    name: 'reconcile-person',
    retryLimit: 8,
    retryBackoff: true,
    retryDelay: 2,
    retryDelayMax: 300,
    // A reconcile takes well under a second; a worker killed mid-way is retried after this.
    expireInSeconds: 120,
    notify: true,
    deadLetter: 'dead-letter',
  },
  /** One operation of a run: an adapter call, then its verification read. */
  operation: {
    name: 'operation',
    retryLimit: 8,
    retryBackoff: true,
    retryDelay: 1,
    retryDelayMax: 120,
    // An adapter call times out in seconds; a claim older than this belongs to a dead worker and is
    // taken over (execute-operation's claim timeout), so a SIGKILL stalls an operation ~2 minutes.
    expireInSeconds: 120,
    notify: true,
    deadLetter: 'dead-letter',
  },
  deadLetter: { name: 'dead-letter', notify: false, retentionSeconds: 60 * 60 * 24 * 30 },
  /** Messages for the IT channel (run summaries, alerts, manual tasks): retried while Slack is down. */
  notify: { name: 'it-notify', retryLimit: 10, retryBackoff: true, retryDelay: 5, retryDelayMax: 600, expireInSeconds: 60, notify: true },
  /** A time-bound request's end, at its expires_at (the per-minute sweep is the backstop). */
  requestExpiry: { name: 'request-expiry', retryLimit: 5, retryBackoff: true, retryDelay: 5, expireInSeconds: 60, notify: false },
  /** Once a minute: expiries, approval reminders and time-outs. */
  requestSweep: { name: 'request-sweep', retryLimit: 0, expireInSeconds: 60, notify: false },
  /** A drift scan of one system ({ system }), on its cron (DRIFT_SCHEDULE) or `gatehouse drift`. */
  driftScan: { name: 'drift-scan', retryLimit: 2, retryBackoff: true, retryDelay: 60, expireInSeconds: 3600, notify: true },
  /** Once a minute: leavers' runs that have missed LEAVER_SLA. */
  leaverSla: { name: 'leaver-sla', retryLimit: 0, expireInSeconds: 60, notify: false },
  /** On AUDIT_ANCHOR_SCHEDULE: the audit chain's head, recorded and posted to the IT channel (retried while Slack is down). */
  auditAnchor: { name: 'audit-anchor', retryLimit: 5, retryBackoff: true, retryDelay: 60, expireInSeconds: 60, notify: false },
} as const satisfies Record<string, Queue>;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES]['name'];

export async function startQueue(
  connectionString: string,
  log: Logger,
  options: { schedule?: boolean } = {},
): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString,
    application_name: 'gatehouse-queue',
    useListenNotify: true,
    schedule: options.schedule ?? true,
    max: 10,
  });
  // pg-boss reports database trouble (a Postgres restart, say) as 'error' events and keeps
  // going; without a listener an EventEmitter 'error' would crash the process.
  boss.on('error', (error) => log.error({ err: error }, 'queue error'));
  boss.on('warning', (warning) => log.warn({ warning }, 'queue warning'));
  await boss.start();
  // Dead-letter queues must exist before a queue naming them is created.
  const queues: Queue[] = Object.values(QUEUES);
  const ordered = [...queues.filter((q) => !q.deadLetter), ...queues.filter((q) => q.deadLetter)];
  for (const { name, ...queueOptions } of ordered) {
    await boss.createQueue(name, queueOptions);
  }
  return boss;
}
