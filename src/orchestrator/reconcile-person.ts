import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { AdapterPerson } from '../../adapters/types.js';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import type { PersonRecord } from '../people/person-record.js';
import { type ActualGrant, planOperations, systemOf } from '../plan/operation-graph.js';
import { evaluate, type PolicySet } from '../policy/index.js';
import { appendAudit } from '../audit/append-audit.js';
import type { AdapterRegistry } from './adapter-registry.js';
import { IDENTITY_PROVIDERS } from './adapter-registry.js';
import { QUEUES } from './queue.js';

export interface ReconcileDeps {
  db: Db;
  boss: PgBoss;
  policies: PolicySet;
  adapters: AdapterRegistry;
  now?: () => Date;
}

export interface ReconcileResult {
  runId: string | null;
  operations: number;
}

/** The person as adapters see them; the GitHub login comes from `attributes.github_login`. */
export function adapterPerson(employeeId: string, record: PersonRecord): AdapterPerson {
  const handles: Record<string, string> = {};
  const github = record.attributes?.github_login;
  if (typeof github === 'string' && github) handles.github = github;
  return {
    employeeId,
    email: record.email,
    firstName: record.first_name ?? null,
    lastName: record.last_name ?? null,
    title: record.job_title ?? null,
    department: record.department ?? null,
    managerEmail: record.manager_email ?? null,
    handles,
  };
}

/** Queue priority of a run's operations: leavers first (ARCHITECTURE.md → rules of the road). */
export const RUN_PRIORITY: Record<string, number> = { leaver: 100, request: 80, joiner: 60, rehire: 60, mover: 40, drift: 20 };

/**
 * reconcile-person: desired (policies, for an active person; nothing otherwise) against actual
 * (the grants Gatehouse recorded), planned into tiers, stored as one run with its operations, and
 * the first tier enqueued, all in one transaction. A run for the same person still pending is
 * superseded: its unstarted operations are cancelled, since the new plan covers them.
 */
export async function reconcilePerson(deps: ReconcileDeps, personId: string, reason: string): Promise<ReconcileResult> {
  const now = deps.now?.() ?? new Date();
  return deps.db.transaction().execute(async (trx) => {
    // One reconcile per person at a time, across replicas.
    await sql`select pg_advisory_xact_lock(hashtext(${personId}))`.execute(trx);
    const person = await trx.selectFrom('people').selectAll().where('id', '=', personId).executeTakeFirst();
    if (!person) return { runId: null, operations: 0 };
    const record = person.data as PersonRecord;
    const plan = evaluate(deps.policies, { ...record, status: person.status === 'terminated' ? 'terminated' : 'active' }, { now });
    const managed = new Set(deps.adapters.systems());
    const desired = plan.grants
      .filter((g) => managed.has(systemOf(g.entitlement)))
      .map((g) => ({ entitlement: g.entitlement, source: `policy:${g.policy}`, expiresAt: g.expires_at, critical: g.critical }));
    const actual: ActualGrant[] = (await trx.selectFrom('grants').select(['entitlement', 'status']).where('person_id', '=', personId).execute()).map((g) => ({ entitlement: g.entitlement, status: g.status }));

    await trx
      .updateTable('operations')
      .set({ state: 'cancelled', finished_at: now, last_error: 'superseded by a newer reconcile' })
      .where('person_id', '=', personId)
      .where('state', '=', 'pending')
      .execute();

    const dependencies = deps.adapters.dependencies();
    const ops = planOperations({
      active: plan.active,
      desired,
      actual,
      systemDependencies: dependencies,
      identityProviders: IDENTITY_PROVIDERS.filter((s) => managed.has(s)),
      revokeNotBefore: null,
    });
    if (ops.length === 0) return { runId: null, operations: 0 };

    const run = await trx.insertInto('runs').values({ person_id: personId, reason, status: 'running' }).returning('id').executeTakeFirstOrThrow();
    const rows = await trx
      .insertInto('operations')
      .values(
        ops.map((op) => ({
          run_id: run.id,
          person_id: personId,
          key: op.key,
          kind: op.kind,
          system: op.system,
          entitlement: op.entitlement,
          depends_on: op.dependsOn,
          tier: op.tier,
          critical: op.critical,
          source: op.source,
          expires_at: op.expiresAt,
          not_before: op.notBefore,
          state: 'pending' as const,
        })),
      )
      .returning(['id', 'key', 'depends_on', 'kind', 'entitlement', 'system', 'source', 'expires_at'])
      .execute();

    // What we are about to change is visible at once in `gatehouse access`.
    for (const row of rows) {
      await trx
        .insertInto('grants')
        .values({ person_id: personId, entitlement: row.entitlement, system: row.system, status: row.kind === 'grant' ? 'pending' : 'revoking', source: row.source, expires_at: row.expires_at })
        .onConflict((oc) =>
          oc.columns(['person_id', 'entitlement']).doUpdateSet({
            status: row.kind === 'grant' ? 'pending' : 'revoking',
            ...(row.kind === 'grant' ? { source: row.source, expires_at: row.expires_at } : {}),
            updated_at: now,
          }),
        )
        .execute();
    }
    await appendAudit(trx, {
      actor: 'system',
      action: 'run.planned',
      subject: person.email,
      reason,
      result: `${rows.length} operation(s)`,
      detail: { runId: run.id, operations: rows.map((r) => r.key) },
    });
    const priority = RUN_PRIORITY[reason] ?? 40;
    for (const row of rows.filter((r) => r.depends_on.length === 0)) {
      await deps.boss.send(QUEUES.operation.name, { operationId: row.id }, { db: bossOnTransaction(trx), priority });
    }
    return { runId: run.id, operations: rows.length };
  });
}
