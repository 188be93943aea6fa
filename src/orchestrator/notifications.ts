import type { PgBoss } from 'pg-boss';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { PersonRecord } from '../people/person-record.js';
import type { SlackDirectory } from '../slack/directory.js';
import { alertMessage, contractorNoticeMessage, escapeMrkdwn, manualTaskMessage, operationLogMessage, reportReadyMessage, runSummaryMessage, welcomeMessage } from '../slack/messages/orchestrator.js';
import type { Notifier } from '../slack/notifier.js';
import { deliverDriftAlert } from '../drift/alert.js';
import { deliverRequestNotification, REQUEST_NOTIFICATIONS, type RequestNotification } from '../requests/notifications.js';
import { QUEUES } from './queue.js';
import type { RunSummary } from './run-state.js';

/** What the orchestrator tells people about, through the `it-notify` queue. */
export type Notification =
  | { type: 'run-completed'; runId: string }
  | { type: 'alert'; alertId: number }
  | { type: 'alert-resolved'; alertId: number }
  | { type: 'manual-task'; taskId: number }
  | { type: 'report-ready'; runId: string }
  | { type: 'welcome'; personId: string }
  /** daysBefore is the notice (30, 7, 1), for dedupe; daysLeft the calendar days really left in timeZone, for the text (absent in notices queued before it existed). */
  | { type: 'contractor-notice'; personId: string; daysBefore: number; endDate: string; daysLeft?: number; timeZone?: string }
  | { type: 'drift-alert'; scanId: number }
  | { type: 'contractor-extension'; personId: string; requestedBy: string }
  | RequestNotification;

/**
 * Queues a notification on the caller's transaction (an outbox): the message exists if and only if
 * the change it reports committed, and a Slack outage delays it rather than losing it.
 */
export async function notify(db: Db, boss: PgBoss, notification: Notification): Promise<void> {
  const key =
    notification.type === 'run-completed'
      ? `run-${notification.runId}`
      : notification.type === 'manual-task'
        ? `task-${notification.taskId}`
        : notification.type === 'report-ready'
          ? `report-ready-${notification.runId}`
          : notification.type === 'welcome'
            ? `welcome-${notification.personId}`
            : notification.type === 'contractor-extension'
              ? `contractor-extension-${notification.personId}-${notification.requestedBy}`
            : notification.type === 'drift-alert'
              ? `drift-alert-${notification.scanId}`
              : notification.type === 'contractor-notice'
              ? `contractor-${notification.personId}-${notification.endDate}-${notification.daysBefore}`
        : 'alertId' in notification
          ? `${notification.type}-${notification.alertId}`
          : `${notification.type}-${notification.requestId}${'step' in notification ? `-${notification.step}${'escalate' in notification && notification.escalate ? '-escalated' : ''}` : ''}`;
  await boss.send(QUEUES.notify.name, notification, { db: bossOnTransaction(db as never), singletonKey: key });
}

export interface NotificationDeps {
  db: Db;
  notifier: Notifier;
  itChannel: string;
  log: Logger;
  /** To queue the follow-up messages of a run (manager, new hire); without it they are skipped. */
  boss?: PgBoss;
  /** Where drift alerts go (DRIFT_CHANNEL); IT_CHANNEL when unset. */
  driftChannel?: string;
  /** Finds managers and new hires in Slack by email; without it, DMs to them are skipped. */
  directory?: SlackDirectory;
}

const personName = (data: unknown) => [(data as PersonRecord).first_name, (data as PersonRecord).last_name].filter(Boolean).join(' ');

/** Renders one notification from the database as it is now, and posts it. */
export async function deliverNotification(deps: NotificationDeps, notification: Notification): Promise<void> {
  if (REQUEST_NOTIFICATIONS.has(notification.type)) {
    await deliverRequestNotification(deps, notification as RequestNotification);
    return;
  }
  if (notification.type === 'run-completed') {
    const run = await deps.db
      .selectFrom('runs')
      .innerJoin('people', 'people.id', 'runs.person_id')
      .select(['runs.id', 'runs.reason', 'runs.summary', 'runs.summary_channel', 'runs.summary_ts', 'runs.person_id', 'people.email', 'people.data'])
      .where('runs.id', '=', notification.runId)
      .executeTakeFirst();
    if (!run?.summary) return;
    const summary = run.summary as unknown as RunSummary;
    let { summary_channel: channel, summary_ts: ts } = run;
    // Posted once: a retry after the summary went out only completes what follows it.
    if (!ts) {
      const posted = await deps.notifier.post({ channel: deps.itChannel, ...runSummaryMessage({ runId: run.id, email: run.email, name: personName(run.data), summary }) });
      channel = posted.channel;
      ts = posted.ts ?? null;
      if (ts) await deps.db.updateTable('runs').set({ summary_channel: channel, summary_ts: ts }).where('id', '=', run.id).execute();
    }
    // The full operation log, in the summary's thread.
    const ops = await deps.db.selectFrom('operations').select(['key', 'state', 'outcome', 'attempts', 'last_error', 'started_at', 'finished_at']).where('run_id', '=', run.id).orderBy('tier').orderBy('key').execute();
    if (ts && channel) await deps.notifier.post({ channel, thread_ts: ts, ...operationLogMessage(ops) });
    if ((run.reason === 'joiner' || run.reason === 'rehire') && deps.boss) {
      await deps.boss.send(QUEUES.notify.name, { type: 'report-ready', runId: run.id }, { singletonKey: `report-ready-${run.id}` });
      await deps.boss.send(QUEUES.notify.name, { type: 'welcome', personId: run.person_id }, { singletonKey: `welcome-${run.person_id}` });
    }
    return;
  }
  if (notification.type === 'contractor-extension') {
    const person = await personById(deps.db, notification.personId);
    if (!person) return;
    const endDate = (person.data as PersonRecord).end_date ?? 'their end date';
    await deps.notifier.post({ channel: deps.itChannel, text: `<@${notification.requestedBy}> asks to extend ${escapeMrkdwn(person.email)}'s contract beyond ${endDate}. Update end_date in the HRIS and Gatehouse keeps their access.` });
    return;
  }
  if (notification.type === 'drift-alert') {
    await deliverDriftAlert({ db: deps.db, notifier: deps.notifier, channel: deps.driftChannel ?? deps.itChannel });
    return;
  }
  if (notification.type === 'contractor-notice') {
    const person = await personById(deps.db, notification.personId);
    if (!person || person.status !== 'active') return;
    const data = person.data as PersonRecord;
    const input = { personId: person.id, name: personName(data) || person.email, email: person.email, endDate: notification.endDate, daysLeft: notification.daysLeft ?? notification.daysBefore, timeZone: notification.timeZone ?? 'UTC', manager: data.manager_email ?? null };
    await deps.notifier.post({ channel: deps.itChannel, ...contractorNoticeMessage(input, 'it') });
    if (!deps.directory) return;
    const contractorId = await deps.directory.idForEmail(person.email);
    if (contractorId) await deps.notifier.post({ channel: contractorId, ...contractorNoticeMessage(input, 'contractor') });
    const managerId = data.manager_email ? await deps.directory.idForEmail(data.manager_email) : null;
    if (managerId) await deps.notifier.post({ channel: managerId, ...contractorNoticeMessage(input, 'manager') });
    return;
  }
  if (notification.type === 'report-ready' || notification.type === 'welcome') {
    if (!deps.directory) return;
    if (notification.type === 'report-ready') {
      const run = await deps.db.selectFrom('runs').innerJoin('people', 'people.id', 'runs.person_id').select(['runs.summary', 'people.email', 'people.data']).where('runs.id', '=', notification.runId).executeTakeFirst();
      const manager = (run?.data as PersonRecord | undefined)?.manager_email;
      if (!run?.summary || !manager) return;
      const managerId = await deps.directory.idForEmail(manager);
      if (managerId) await deps.notifier.post({ channel: managerId, ...reportReadyMessage({ name: personName(run.data) || run.email, email: run.email, summary: run.summary as unknown as RunSummary }) });
      return;
    }
    const person = await personById(deps.db, notification.personId);
    if (!person || person.status === 'terminated') return;
    // Only once their Slack account exists: Slack finds them by email.
    const userId = await deps.directory.idForEmail(person.email);
    if (userId) await deps.notifier.post({ channel: userId, ...welcomeMessage({ firstName: (person.data as PersonRecord).first_name ?? null }) });
    return;
  }
  if (notification.type === 'alert' || notification.type === 'alert-resolved') {
    const alert = await deps.db.selectFrom('alerts').selectAll().where('id', '=', notification.alertId).executeTakeFirst();
    if (!alert) return;
    await deps.notifier.post({ channel: deps.itChannel, ...alertMessage(alert, notification.type === 'alert-resolved') });
    return;
  }
  if (notification.type !== 'manual-task') return;
  const task = await deps.db
    .selectFrom('manual_tasks')
    .innerJoin('people', 'people.id', 'manual_tasks.person_id')
    .select(['manual_tasks.id', 'manual_tasks.kind', 'manual_tasks.entitlement', 'manual_tasks.reason', 'manual_tasks.status', 'manual_tasks.slack_ts', 'people.email', 'people.data'])
    .where('manual_tasks.id', '=', notification.taskId)
    .executeTakeFirst();
  // Posted once: a retried delivery after the post went through must not post it again.
  if (!task || task.status !== 'open' || task.slack_ts) return;
  const data = task.data as { first_name?: string; last_name?: string; manager_email?: string | null; job_title?: string | null };
  const posted = await deps.notifier.post({
    channel: deps.itChannel,
    ...manualTaskMessage({ taskId: task.id, kind: task.kind, entitlement: task.entitlement, reason: task.reason, email: task.email, name: [data.first_name, data.last_name].filter(Boolean).join(' '), title: data.job_title ?? null, manager: data.manager_email ?? null }),
  });
  if (posted.ts) await deps.db.updateTable('manual_tasks').set({ slack_channel: posted.channel, slack_ts: posted.ts }).where('id', '=', task.id).execute();
}

/** The person a notification is about, or undefined when they are gone (a notification never fails for that). */
function personById(db: NotificationDeps['db'], id: string) {
  return db.selectFrom('people').select(['id', 'email', 'data', 'status']).where('id', '=', id).executeTakeFirst();
}
