import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import { appendAudit } from '../audit/append-audit.js';
import type { Db } from '../db/database.js';
import { formatDuration } from '../slack/messages/orchestrator.js';
import { notify } from './notifications.js';

/**
 * Terminations are the one thing that must not wait: every leaver's run not fully verified within
 * LEAVER_SLA of its start (still running, or settled with failures or tasks still open) is
 * reported to the IT channel, once per run, naming what is still outstanding.
 * Runs every minute (pg-boss schedule); safe on several replicas at once.
 */
export async function checkLeaverSla(deps: { db: Db; boss: PgBoss; leaverSlaMs: number }, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - deps.leaverSlaMs);
  const late = await deps.db
    .selectFrom('runs')
    .innerJoin('people', 'people.id', 'runs.person_id')
    .select(['runs.id', 'runs.started_at', 'people.email'])
    .where('runs.reason', '=', 'leaver')
    .where('runs.sla_alerted_at', 'is', null)
    .where('runs.started_at', '<', cutoff)
    .where((eb) =>
      eb.or([
        eb('runs.status', '=', 'running'),
        eb.exists(eb.selectFrom('operations').select(sql`1`.as('one')).whereRef('operations.run_id', '=', 'runs.id').where('operations.state', 'in', ['failed', 'manual', 'applied'])),
      ]),
    )
    .execute();
  let alerted = 0;
  for (const run of late) {
    await deps.db.transaction().execute(async (trx) => {
      const claimed = await trx.updateTable('runs').set({ sla_alerted_at: now }).where('id', '=', run.id).where('sla_alerted_at', 'is', null).returning('id').executeTakeFirst();
      if (!claimed) return;
      const open = await trx.selectFrom('operations').select(['entitlement', 'state', 'last_error']).where('run_id', '=', run.id).where('state', 'not in', ['verified', 'cancelled']).orderBy('entitlement').execute();
      const outstanding = open.map((o) => `${o.entitlement} (${o.state}${o.last_error ? `: ${o.last_error.slice(0, 120)}` : ''})`);
      const message = `the termination of ${run.email} started ${formatDuration(now.getTime() - run.started_at.getTime())} ago and is not fully verified (LEAVER_SLA ${formatDuration(deps.leaverSlaMs)}); outstanding: ${outstanding.join('; ') || 'none recorded'}`;
      const alert = await sql<{ id: number }>`
        insert into alerts (kind, subject, message) values ('leaver_sla', ${run.id}, ${message})
        on conflict (kind, subject) where resolved_at is null do nothing returning id`.execute(trx);
      const id = alert.rows[0]?.id;
      if (id === undefined) return;
      await appendAudit(trx, { actor: 'system', action: 'alert.opened', subject: run.email, reason: 'leaver SLA missed', result: `${open.length} outstanding`, detail: { alertId: id, runId: run.id, kind: 'leaver_sla' } });
      await notify(trx as unknown as Db, deps.boss, { type: 'alert', alertId: id });
      alerted++;
    });
  }
  return alerted;
}
