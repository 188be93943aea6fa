import { transact } from '../db/transact.js';
import type { Selectable } from 'kysely';
import type { PgBoss } from 'pg-boss';
import { appendAudit } from '../audit/append-audit.js';
import type { Db } from '../db/database.js';
import type { OperationsTable } from '../db/schema.js';
import { systemOf } from '../plan/operation-graph.js';
import type { AdapterRegistry } from './adapter-registry.js';
import { type Authorization, authorizeDecider } from './authorize-decider.js';
import { notify } from './notifications.js';
import { releaseDependents, settleRun } from './run-state.js';

interface TaskDeps {
  db: Db;
  boss: PgBoss;
  adapters: Pick<AdapterRegistry, 'manualSystems'>;
}

/**
 * An operation on a system people handle (`manual:*`, or one in MANUAL_SYSTEMS) becomes a task:
 * the operation is `manual`, the task is posted to the IT channel with a Done button, and it
 * stays open until someone marks it done. Idempotent: a second delivery finds the operation
 * already manual.
 */
export async function openManualTask(deps: TaskDeps, op: Selectable<OperationsTable>): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const moved = await trx.updateTable('operations').set({ state: 'manual', started_at: new Date(), attempts: 1 }).where('id', '=', op.id).where('state', '=', 'pending').returning('id').executeTakeFirst();
    if (!moved) return;
    const task = await trx
      .insertInto('manual_tasks')
      .values({ operation_id: op.id, person_id: op.person_id, kind: op.kind, entitlement: op.entitlement, reason: op.source })
      .onConflict((oc) => oc.column('operation_id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (op.kind === 'grant') {
      await trx.updateTable('grants').set({ status: 'manual', updated_at: new Date() }).where('person_id', '=', op.person_id).where('entitlement', '=', op.entitlement).execute();
    }
    const person = await trx.selectFrom('people').select('email').where('id', '=', op.person_id).executeTakeFirstOrThrow();
    await appendAudit(trx, { actor: op.source ?? 'system', action: 'operation.manual', subject: person.email, entitlement: op.entitlement, reason: op.source, result: `task #${task?.id}`, detail: { runId: op.run_id, kind: op.kind, taskId: task?.id } });
    if (task) await notify(trx as unknown as Db, deps.boss, { type: 'manual-task', taskId: task.id });
    await releaseDependents(trx as unknown as Db, deps.boss, op.run_id, deps.adapters.manualSystems());
    await settleRun(trx as unknown as Db, deps.boss, op.run_id);
  });
}

export interface CompletedTask {
  id: number;
  kind: 'grant' | 'revoke';
  entitlement: string;
  email: string;
  status: 'open' | 'done' | 'cancelled';
  doneBy: string | null;
  slackChannel: string | null;
  slackTs: string | null;
  /** False when it was already done (a second click): nothing changed. */
  changed: boolean;
}

export class TaskNotFoundError extends Error {
  constructor(id: number) {
    super(`there is no manual task #${id}; \`gatehouse tasks\` lists the open ones`);
    this.name = 'TaskNotFoundError';
  }
}

/** The clicker may not mark this task done; nothing changed, and the refusal is audited. */
export class TaskRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskRefusedError';
  }
}

/**
 * Someone did the task: its operation is verified ("verify means someone confirmed it"), the grant
 * recorded, the audit log says who, and what waited for it runs. A second click changes nothing.
 *
 * Only IT (IT_ADMINS) or the owners of the task's system (SYSTEM_OWNERS; tasks have no assignee
 * of their own) may say so, and never the person the task is about: "Done" on a leaver's revoke
 * closes it for good, so whoever could click it could keep the access. A refusal throws
 * TaskRefusedError after auditing `manual_task.done_refused`. The CLI runs on the server and is
 * allowed (authorizeDecider).
 */
export async function completeManualTask(deps: TaskDeps & { authz: Authorization }, taskId: number, actor: string): Promise<CompletedTask> {
  const subject = await deps.db
    .selectFrom('manual_tasks')
    .innerJoin('people', 'people.id', 'manual_tasks.person_id')
    .select(['manual_tasks.id', 'manual_tasks.entitlement', 'manual_tasks.kind', 'people.email', 'people.slack_user_id'])
    .where('manual_tasks.id', '=', taskId)
    .executeTakeFirst();
  if (!subject) throw new TaskNotFoundError(taskId);
  const verdict = await authorizeDecider(deps.authz, { actor, system: systemOf(subject.entitlement), concerned: { emails: [subject.email], slackIds: [subject.slack_user_id] } });
  if (!verdict.ok) {
    await appendAudit(deps.db, { actor, action: 'manual_task.done_refused', subject: subject.email, entitlement: subject.entitlement, reason: `task:${subject.id}`, result: verdict.message, detail: { taskId: subject.id, kind: subject.kind } });
    throw new TaskRefusedError(verdict.message);
  }
  return transact(deps.db, async (trx) => {
    const done = await trx.updateTable('manual_tasks').set({ status: 'done', done_at: new Date(), done_by: actor }).where('id', '=', taskId).where('status', '=', 'open').returningAll().executeTakeFirst();
    const task = done ?? (await trx.selectFrom('manual_tasks').selectAll().where('id', '=', taskId).executeTakeFirst());
    if (!task) throw new TaskNotFoundError(taskId);
    const person = await trx.selectFrom('people').select('email').where('id', '=', task.person_id).executeTakeFirstOrThrow();
    const result: CompletedTask = { id: task.id, kind: task.kind, entitlement: task.entitlement, email: person.email, status: task.status, doneBy: task.done_by, slackChannel: task.slack_channel, slackTs: task.slack_ts, changed: Boolean(done) };
    if (!done) return result;
    const now = new Date();
    const op = await trx.updateTable('operations').set({ state: 'verified', outcome: 'applied', finished_at: now }).where('id', '=', task.operation_id).where('state', '=', 'manual').returning(['run_id', 'person_id']).executeTakeFirst();
    await trx
      .updateTable('grants')
      .set(task.kind === 'grant' ? { status: 'verified', applied_at: now, verified_at: now, last_error: null, updated_at: now } : { status: 'revoked', revoked_at: now, updated_at: now })
      .where('person_id', '=', task.person_id)
      .where('entitlement', '=', task.entitlement)
      .execute();
    await appendAudit(trx, { actor, action: 'manual_task.done', subject: person.email, entitlement: task.entitlement, reason: task.reason, result: task.kind === 'grant' ? 'provided' : 'taken back', detail: { taskId: task.id, before: 'manual', after: task.kind === 'grant' ? 'verified' : 'revoked' } });
    if (op) {
      await releaseDependents(trx as unknown as Db, deps.boss, op.run_id, deps.adapters.manualSystems());
      await settleRun(trx as unknown as Db, deps.boss, op.run_id);
    }
    return result;
  });
}

/** Open tasks, oldest first, for `gatehouse tasks` and the SLA check. */
export async function openTasks(db: Db): Promise<{ id: number; kind: string; entitlement: string; email: string; reason: string | null; createdAt: Date }[]> {
  const rows = await db
    .selectFrom('manual_tasks')
    .innerJoin('people', 'people.id', 'manual_tasks.person_id')
    .select(['manual_tasks.id', 'manual_tasks.kind', 'manual_tasks.entitlement', 'people.email', 'manual_tasks.reason', 'manual_tasks.created_at'])
    .where('manual_tasks.status', '=', 'open')
    .orderBy('manual_tasks.created_at')
    .orderBy('manual_tasks.id')
    .execute();
  return rows.map((r) => ({ id: Number(r.id), kind: r.kind, entitlement: r.entitlement, email: r.email, reason: r.reason, createdAt: r.created_at }));
}
