import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { PolicySet, TimeZoneSettings } from '../policy/index.js';
import type { SlackDirectory } from '../slack/directory.js';
import type { Notifier } from '../slack/notifier.js';
import type { AdapterRegistry } from './adapter-registry.js';
import { type ExecuteDeps, executeOperation } from './execute-operation.js';
import { type SweepSettings, sweepRequests } from '../requests/lifecycle.js';
import { endRequests } from '../requests/service.js';
import { expireDriftExceptions } from '../drift/decisions.js';
import { scanSystem } from '../drift/scan.js';
import { checkLeaverSla } from './leaver-sla.js';
import { publishAuditAnchor } from './publish-audit-anchor.js';
import { deliverNotification, type Notification } from './notifications.js';
import { QUEUES } from './queue.js';
import { reconcilePerson } from './reconcile-person.js';
import type { TokenBucket } from './token-bucket.js';

export interface WorkerDeps {
  db: Db;
  boss: PgBoss;
  policies: PolicySet;
  /** Where people's dates are counted when their record names no time_zone: reconciles and contractor notices. */
  timeZones?: TimeZoneSettings;
  adapters: AdapterRegistry;
  bucket: TokenBucket;
  log: Logger;
  notifier: Notifier;
  itChannel: string;
  leaverSlaMs: number;
  /** Finds managers and new hires in Slack, for their DMs. */
  directory?: SlackDirectory;
  /** DRIFT_CHANNEL, when it differs from the IT channel. */
  driftChannel?: string;
  /** system (or '*') → cron or 'off', for drift scans. */
  driftSchedule?: Record<string, string>;
  /** AUDIT_ANCHOR_SCHEDULE: cron of the audit anchor posted to the IT channel, or 'off' (default daily). */
  auditAnchorSchedule?: string;
  /** Approval reminders and time-outs for the request sweep. */
  requests?: SweepSettings;
  /** General operation workers in this process (each takes batches of 5); leavers also have their own, one per system. */
  concurrency?: number;
  /** Tuning for tests and benchmarks (verification schedule, backoff, pauses). */
  execute?: Partial<Omit<ExecuteDeps, 'db' | 'boss' | 'adapters' | 'bucket'>>;
}

/**
 * The queue workers of a `serve` process. Leavers' operations (priority 100) also have workers
 * of their own that take nothing else, so a backlog of hires never delays a revocation.
 */
export async function startWorkers(deps: WorkerDeps): Promise<void> {
  const log = deps.log.child({ component: 'orchestrator' });
  // NOTIFY wakes workers for new jobs at once; deferred ones (retry backoff, a vendor's
  // Retry-After, a future start date) are found by polling, which pg-boss otherwise does only
  // every 30 s when NOTIFY is on.
  const polling = { pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 };
  // Jobs inserted on the intake's own transaction arrive without a NOTIFY; fetching them in
  // batches keeps a burst of hires from trickling in at one per poll.
  await deps.boss.work<{ personId: string; reason: string }>(QUEUES.reconcilePerson.name, { localConcurrency: 2, batchSize: 25, priority: true, ...polling }, async (jobs) => {
    for (const job of jobs) {
      const result = await reconcilePerson(deps, job.data.personId, job.data.reason);
      log.info({ personId: job.data.personId, reason: job.data.reason, ...result }, 'reconcile planned');
    }
  });
  const executeDeps: ExecuteDeps = { ...deps.execute, db: deps.db, boss: deps.boss, adapters: deps.adapters, bucket: deps.bucket };
  // A batch runs in parallel: one fetch brings several operations (often a whole tier).
  const execute = async (jobs: { data: { operationId: number } }[]) => {
    await Promise.all(jobs.map((job) => executeOperation(executeDeps, job.data.operationId)));
  };
  await deps.boss.work<{ operationId: number }>(QUEUES.operation.name, { localConcurrency: deps.concurrency ?? 4, batchSize: 5, priority: true, ...polling }, execute);
  // The general workers may all be waiting for tokens on behalf of hires, so leavers have workers
  // of their own: one per system (and one for SCIM apps made on first use). A leaver's operations
  // wait for their systems' reserved tokens side by side, so its revoke on one system never queues
  // behind its wait on another while the backlog there takes the tokens (issue 17). Two were not
  // enough: each system's account is suspended after its grants, so a termination has a revoke
  // waiting for a refill on nearly every system at once.
  const leaverWorkers = deps.adapters.systems().length + 1;
  await deps.boss.work<{ operationId: number }>(QUEUES.operation.name, { localConcurrency: leaverWorkers, priority: true, minPriority: 100, ...polling }, execute);

  // Messages for the IT channel: a failed post is retried by pg-boss (Slack down is not lost work).
  // One message per job, so a message Slack refuses is retried alone, and never re-posts others.
  await deps.boss.work<Notification>(QUEUES.notify.name, { localConcurrency: 3, ...polling }, async ([job]) => {
    await deliverNotification({ db: deps.db, notifier: deps.notifier, itChannel: deps.itChannel, driftChannel: deps.driftChannel, log, boss: deps.boss, directory: deps.directory }, job!.data);
  });

  // A time-bound request's timer, and every minute the sweep that catches lost timers.
  await deps.boss.work(QUEUES.requestExpiry.name, polling, async () => {
    await endRequests(deps, { dueBy: new Date() }, 'expired', 'its time ran out', 'system');
  });
  await deps.boss.schedule(QUEUES.requestSweep.name, '* * * * *');
  await deps.boss.work(QUEUES.requestSweep.name, polling, async () => {
    const result = { ...(await sweepRequests(deps, deps.requests ?? { approvalReminderMs: 4 * 3_600_000, approvalTimeoutMs: 3 * 86_400_000 })), driftExceptionsEnded: await expireDriftExceptions(deps) };
    if (Object.values(result).some((n) => n > 0)) log.info(result, 'request sweep');
  });

  // Drift scans: one schedule per system (DRIFT_SCHEDULE), keyed by system on one queue.
  await deps.boss.work<{ system: string }>(QUEUES.driftScan.name, { localConcurrency: 1, ...polling }, async ([job]) => {
    const result = await scanSystem(deps, job!.data.system);
    log.info({ system: result.system, memberships: result.memberships, accounts: result.accounts, items: result.items.length, skipped: result.skipped }, 'drift scan');
  });
  for (const system of deps.adapters.systems()) {
    const cron = deps.driftSchedule?.[system] ?? deps.driftSchedule?.['*'] ?? '0 * * * *';
    if (cron === 'off' || !deps.adapters.get(system).listMembers) await deps.boss.unschedule(QUEUES.driftScan.name, system);
    else await deps.boss.schedule(QUEUES.driftScan.name, cron, { system }, { key: system });
  }

  // Every minute, on whichever replica pg-boss's scheduler picks.
  await deps.boss.schedule(QUEUES.leaverSla.name, '* * * * *');
  await deps.boss.work(QUEUES.leaverSla.name, polling, async () => {
    const alerted = await checkLeaverSla({ db: deps.db, boss: deps.boss, leaverSlaMs: deps.leaverSlaMs });
    if (alerted > 0) log.warn({ alerted }, 'leavers past LEAVER_SLA reported to the IT channel');
  });

  // The audit chain's head, published outside the database so a cut or rewritten log is caught.
  const anchorCron = deps.auditAnchorSchedule ?? '0 6 * * *';
  if (anchorCron === 'off') await deps.boss.unschedule(QUEUES.auditAnchor.name);
  else await deps.boss.schedule(QUEUES.auditAnchor.name, anchorCron);
  await deps.boss.work(QUEUES.auditAnchor.name, polling, async () => {
    await publishAuditAnchor({ db: deps.db, notifier: deps.notifier, itChannel: deps.itChannel });
  });
}
