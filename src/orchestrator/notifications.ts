import type { PgBoss } from 'pg-boss';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { alertMessage, manualTaskMessage, runSummaryMessage } from '../slack/messages/orchestrator.js';
import type { Notifier } from '../slack/notifier.js';
import { deliverRequestNotification, REQUEST_NOTIFICATIONS, type RequestNotification } from '../requests/notifications.js';
import { QUEUES } from './queue.js';
import type { RunSummary } from './run-state.js';

/** What the orchestrator tells people about, through the `it-notify` queue. */
export type Notification =
  | { type: 'run-completed'; runId: string }
  | { type: 'alert'; alertId: number }
  | { type: 'alert-resolved'; alertId: number }
  | { type: 'manual-task'; taskId: number }
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
}

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
      .select(['runs.id', 'runs.reason', 'runs.summary', 'people.email', 'people.data'])
      .where('runs.id', '=', notification.runId)
      .executeTakeFirst();
    if (!run?.summary) return;
    const name = [(run.data as { first_name?: string }).first_name, (run.data as { last_name?: string }).last_name].filter(Boolean).join(' ');
    await deps.notifier.post({ channel: deps.itChannel, ...runSummaryMessage({ runId: run.id, email: run.email, name, summary: run.summary as unknown as RunSummary }) });
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
