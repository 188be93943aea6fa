import type { PgBoss } from 'pg-boss';
import { appendAudit } from '../audit/append-audit.js';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import { notify } from './notifications.js';
import { QUEUES } from './queue.js';

/** Queue priority of a run's operations: leavers first (ARCHITECTURE.md → rules of the road). */
export const RUN_PRIORITY: Record<string, number> = { leaver: 100, request: 80, joiner: 60, rehire: 60, mover: 40, drift: 20 };

export const runPriority = (reason: string | undefined): number => RUN_PRIORITY[reason ?? ''] ?? 40;

/** What a settled run reports: the summary the IT channel sees. */
export interface RunSummary {
  reason: string;
  /** system → state → count */
  bySystem: Record<string, Record<string, number>>;
  /** state → count, over every system */
  totals: Record<string, number>;
  failures: { entitlement: string; kind: string | null; error: string | null }[];
  manualPending: { taskId: number | null; entitlement: string; kind: 'grant' | 'revoke' }[];
  /** From the run's start to its last operation's end. */
  durationMs: number;
}

/**
 * Enqueues the operations of a run whose dependencies are all done, so that tiers run in
 * parallel. Operations waiting on one that failed are cancelled. A task left to people (`manual`)
 * releases the manual tasks that follow it (all of them are posted at once), but an automated
 * operation waits until someone marks it done.
 */
export async function releaseDependents(db: Db, boss: PgBoss, runId: string, manualSystems: readonly string[]): Promise<void> {
  const run = await db.selectFrom('runs').select('reason').where('id', '=', runId).executeTakeFirst();
  // The next tier keeps the run's priority: a leaver's second tier must not queue behind joiners.
  const priority = runPriority(run?.reason);
  const ops = await db.selectFrom('operations').select(['id', 'key', 'state', 'depends_on', 'system', 'person_id', 'entitlement', 'last_error']).where('run_id', '=', runId).execute();
  const done = new Set(ops.filter((o) => o.state === 'verified' || o.state === 'applied').map((o) => o.key));
  const manual = new Set(ops.filter((o) => o.state === 'manual').map((o) => o.key));
  const failed = new Set(ops.filter((o) => o.state === 'failed' || o.state === 'cancelled').map((o) => o.key));
  for (const o of ops) {
    if (o.state !== 'pending' || o.depends_on.length === 0) continue;
    if (o.depends_on.some((d) => failed.has(d))) {
      await db.updateTable('operations').set({ state: 'cancelled', finished_at: new Date(), last_error: 'a dependency failed' }).where('id', '=', o.id).where('state', '=', 'pending').execute();
      await db.updateTable('grants').set({ status: 'failed', last_error: 'not attempted: an operation it depends on failed', updated_at: new Date() }).where('person_id', '=', o.person_id).where('entitlement', '=', o.entitlement).where('status', '=', 'pending').execute();
      continue;
    }
    const isManual = manualSystems.includes(o.system);
    if (o.depends_on.every((d) => done.has(d) || (isManual && manual.has(d)))) {
      // Idempotent under at-least-once: the singleton key keeps one queued job per operation.
      await boss.send(QUEUES.operation.name, { operationId: o.id }, { singletonKey: `op-${o.id}`, priority, db: bossOnTransaction(db as never) });
    }
  }
}

/**
 * Settles a run once nothing in it is pending or running (tasks left to people do not hold it
 * open: they are listed in the summary), and emits run-completed for the IT channel, in the same
 * transaction. A run that is already settled only has its summary brought up to date (a manual
 * task marked done later).
 */
export async function settleRun(db: Db, boss: PgBoss, runId: string): Promise<void> {
  const ops = await db
    .selectFrom('operations')
    .leftJoin('manual_tasks', 'manual_tasks.operation_id', 'operations.id')
    .select(['operations.state', 'operations.system', 'operations.entitlement', 'operations.kind', 'operations.error_kind', 'operations.last_error', 'operations.finished_at', 'manual_tasks.id as task_id'])
    .where('operations.run_id', '=', runId)
    .execute();
  if (ops.some((o) => o.state === 'pending' || o.state === 'running')) return;
  const run = await db.selectFrom('runs').select(['reason', 'status', 'started_at', 'person_id']).where('id', '=', runId).forUpdate().executeTakeFirst();
  if (!run) return;
  const summary: RunSummary = { reason: run.reason, bySystem: {}, totals: {}, failures: [], manualPending: [], durationMs: 0 };
  let last = run.started_at.getTime();
  for (const o of ops) {
    const system = (summary.bySystem[o.system] ??= {});
    system[o.state] = (system[o.state] ?? 0) + 1;
    summary.totals[o.state] = (summary.totals[o.state] ?? 0) + 1;
    if (o.state === 'failed') summary.failures.push({ entitlement: o.entitlement, kind: o.error_kind, error: o.last_error });
    if (o.state === 'manual') summary.manualPending.push({ taskId: o.task_id === null ? null : Number(o.task_id), entitlement: o.entitlement, kind: o.kind });
    if (o.finished_at && o.finished_at.getTime() > last) last = o.finished_at.getTime();
  }
  summary.durationMs = last - run.started_at.getTime();
  if (run.status === 'settled') {
    await db.updateTable('runs').set({ summary: JSON.stringify(summary) }).where('id', '=', runId).execute();
    return;
  }
  await db.updateTable('runs').set({ status: 'settled', settled_at: new Date(), summary: JSON.stringify(summary) }).where('id', '=', runId).execute();
  // The run-completed event, on the settling transaction: it exists if and only if the run settled.
  await notify(db, boss, { type: 'run-completed', runId });
}

/**
 * A critical grant failed for good: the run undoes what it granted (revoke operations, run like
 * any other) and stops what it had not started, and says why. Everything else in Gatehouse is
 * forward recovery; this is the exception a policy asks for with `critical: true`.
 */
export async function compensate(db: Db, boss: PgBoss, runId: string, failed: string, email: string): Promise<void> {
  const ops = await db.selectFrom('operations').selectAll().where('run_id', '=', runId).execute();
  await db.updateTable('operations').set({ state: 'cancelled', finished_at: new Date(), last_error: `compensating: critical ${failed} failed` }).where('run_id', '=', runId).where('state', '=', 'pending').execute();
  const granted = ops.filter((o) => o.kind === 'grant' && (o.state === 'verified' || o.state === 'applied'));
  for (const o of granted) {
    const row = await db
      .insertInto('operations')
      .values({ run_id: runId, person_id: o.person_id, key: `compensate ${o.entitlement}`, kind: 'revoke', system: o.system, entitlement: o.entitlement, depends_on: [], tier: 0, critical: false, source: `compensation:${failed}`, state: 'pending' })
      .onConflict((oc) => oc.columns(['run_id', 'key']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (row) {
      await db.updateTable('grants').set({ status: 'revoking', updated_at: new Date() }).where('person_id', '=', o.person_id).where('entitlement', '=', o.entitlement).execute();
      await boss.send(QUEUES.operation.name, { operationId: row.id }, { db: bossOnTransaction(db as never), priority: 90 });
    }
  }
  await appendAudit(db as never, { actor: 'system', action: 'run.compensating', subject: email, entitlement: failed, reason: `critical grant ${failed} failed`, result: `${granted.length} grant(s) undone`, detail: { runId } });
}
