import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { AdapterPerson } from '../../adapters/types.js';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import { PRIORITY, type ReconcilePersonJob } from '../people/apply-change.js';
import type { PersonRecord } from '../people/person-record.js';
import { type ActualGrant, impliedAccounts, planOperations, systemOf } from '../plan/operation-graph.js';
import { rankOfUri } from '../policy/entitlement.js';
import { withholdConflicts, type WithheldGrant } from '../policy/separation-of-duties.js';
import { endOfDayIn, evaluate, type PolicySet, type TimeZoneSettings, timeZoneOf } from '../policy/index.js';
import { appendAudit } from '../audit/append-audit.js';
import type { AdapterRegistry } from './adapter-registry.js';
import { IDENTITY_PROVIDERS } from './adapter-registry.js';
import { QUEUES } from './queue.js';
import { runPriority } from './run-state.js';
import { cancelWithDependents } from './cancel-operations.js';
import { notify } from './notifications.js';
import { activateRequest } from '../requests/lifecycle.js';
import { LIVE_STATES } from '../requests/service.js';
import { stillOffered } from '../requests/still-offered.js';

/** Why a transfer ended a request its new role is not offered (the holder reads it). */
export const NOT_OFFERED_AFTER_MOVE = 'no longer offered to them after a change of role';

export interface ReconcileDeps {
  db: Db;
  boss: PgBoss;
  policies: PolicySet;
  adapters: AdapterRegistry;
  /** Where end dates end for people whose record names no time_zone (config.timeZones); UTC without it. */
  timeZones?: TimeZoneSettings;
  now?: () => Date;
}

export interface ReconcileResult {
  runId: string | null;
  operations: number;
}

/**
 * The person as adapters see them. Usernames in systems where people bring their own account
 * come from custom attributes: `attributes.github_login`, `attributes.gitlab_login`, … (any
 * `<system>_login`).
 */
export function adapterPerson(employeeId: string, record: PersonRecord): AdapterPerson {
  const handles: Record<string, string> = {};
  for (const [key, value] of Object.entries(record.attributes ?? {})) {
    const match = /^([a-z][a-z0-9-]*)_login$/.exec(key);
    if (match && typeof value === 'string' && value) handles[match[1]!] = value;
  }
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

/** Kept for callers that imported it from here. */
export { RUN_PRIORITY } from './run-state.js';

/**
 * reconcile-person: desired (policies, for an active person; nothing otherwise) against actual
 * (the grants Gatehouse recorded and the operations already under way), planned into tiers,
 * stored as one run with its operations, and the first tier enqueued, all in one transaction
 * under a per-person lock. Work already queued that still agrees with the new desired state is
 * left alone (so two reconciles at once plan it once); queued work that contradicts it (a grant
 * no longer wanted, a revoke of something wanted again) is cancelled.
 */
export async function reconcilePerson(deps: ReconcileDeps, personId: string, reason: string): Promise<ReconcileResult> {
  const now = deps.now?.() ?? new Date();
  return deps.db.transaction().execute(async (trx) => {
    // One reconcile per person at a time, across replicas.
    await sql`select pg_advisory_xact_lock(hashtext(${personId}))`.execute(trx);
    const person = await trx.selectFrom('people').selectAll().where('id', '=', personId).executeTakeFirst();
    if (!person) return { runId: null, operations: 0 };
    const record = person.data as PersonRecord;
    const active = person.status !== 'terminated';
    const plan = evaluate(deps.policies, { ...record, status: active ? 'active' : 'terminated' }, { now, timeZones: deps.timeZones });
    if (active && !plan.active && person.status === 'active') {
      // Their end_date has passed: the record says so too, for `gatehouse access` and the audit log.
      await trx.updateTable('people').set({ status: 'terminated', updated_at: now }).where('id', '=', personId).execute();
      await appendAudit(trx, { actor: 'system', action: 'person.ended', subject: person.email, reason: `end_date ${record.end_date ?? ''} has passed`, detail: { personId } });
    }
    if (reason === 'leaver' && plan.active && record.end_date) {
      // An end-date job that came before the end where the person is (it was scheduled under
      // another zone: LOCATION_TIME_ZONES or DEFAULT_TIME_ZONE changed since, or Gatehouse counted
      // in UTC then). Nothing else would end their access, so the job is due again at the end.
      const endsAt = endOfDayIn(record.end_date, timeZoneOf(record, deps.timeZones));
      const job: ReconcilePersonJob = { personId, reason: 'leaver', eventId: `end_date:${record.end_date}`, source: 'end-date' };
      if (endsAt > now) await deps.boss.send(QUEUES.reconcilePerson.name, job, { db: bossOnTransaction(trx), singletonKey: personId, priority: PRIORITY.leaver, startAfter: endsAt });
    }
    if (!plan.active) {
      // A leaver's requests end with them: waiting ones are withdrawn, granted ones revoked, so a
      // rehire starts from their policies and does not get last year's approval back.
      const open = [];
      for (const [from, to] of [[['pending'], 'cancelled'], [LIVE_STATES, 'revoked']] as const) {
        const ended = await trx.updateTable('access_requests').set({ state: to, ended_at: now, end_reason: 'the person left' }).where('person_id', '=', personId).where('state', 'in', from).returning(['id', 'entitlement', 'state']).execute();
        open.push(...ended);
      }
      for (const r of open) await appendAudit(trx, { actor: 'system', action: `request.${r.state}`, subject: person.email, entitlement: r.entitlement, reason: 'the person left', detail: { requestId: r.id } });
    }
    const dependencies = deps.adapters.dependencies();
    const desired = plan.grants
      .filter((g) => deps.adapters.manages(systemOf(g.entitlement)))
      .map((g) => ({ entitlement: g.entitlement, source: `policy:${g.policy}`, expiresAt: g.expires_at, critical: g.critical }));
    // Approved requests, until they end (their clock starts when verified, so expires_at may be null yet).
    const requests = plan.active
      ? await trx.selectFrom('access_requests').select(['id', 'entitlement', 'state', 'expires_at']).where('person_id', '=', personId).where('state', 'in', LIVE_STATES).execute()
      : [];
    // A request holds only while a policy still offers it to the person: after a transfer (or a
    // policy change) it ends like a leaver's, and its grant is revoked below. The final approval
    // checks the same, so this catches what was approved or granted before the change.
    for (let i = requests.length - 1; i >= 0; i--) {
      const r = requests[i]!;
      if (stillOffered(plan, r.entitlement)) continue;
      requests.splice(i, 1);
      const why = reason === 'mover' ? NOT_OFFERED_AFTER_MOVE : 'no longer offered to them by any policy';
      await trx.updateTable('access_requests').set({ state: 'revoked', ended_at: now, end_reason: why }).where('id', '=', r.id).execute();
      await appendAudit(trx, { actor: 'system', action: 'request.revoked', subject: person.email, entitlement: r.entitlement, reason: why, detail: { requestId: r.id } });
      // Nothing in place to revoke (approved, not granted yet): the holder hears now rather than
      // when a revoke is verified.
      const inPlace = await trx.selectFrom('grants').select('id').where('person_id', '=', personId).where('entitlement', '=', r.entitlement).where('status', '!=', 'revoked').executeTakeFirst();
      if (!inPlace) {
        await trx.updateTable('access_requests').set({ holder_notified_at: now }).where('id', '=', r.id).execute();
        await notify(trx as unknown as Db, deps.boss, { type: 'request-ended', requestId: r.id });
      }
    }
    // Drift exceptions people accepted ("keep as exception"), until they expire.
    if (plan.active) {
      const exceptions = await trx.selectFrom('drift_exceptions').select(['id', 'entitlement', 'expires_at']).where('person_id', '=', personId).where('ended_at', 'is', null).where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])).execute();
      for (const e of exceptions) {
        if (e.entitlement === `${systemOf(e.entitlement)}:account` || !deps.adapters.manages(systemOf(e.entitlement))) continue;
        desired.push({ entitlement: e.entitlement, source: `exception:${e.id}`, expiresAt: e.expires_at?.toISOString() ?? null, critical: false });
      }
    }
    for (const r of requests) {
      if (r.expires_at && r.expires_at <= now) continue;
      if (!deps.adapters.manages(systemOf(r.entitlement))) continue;
      desired.push({ entitlement: r.entitlement, source: `request:${r.id}`, expiresAt: r.expires_at?.toISOString() ?? null, critical: false });
    }
    // One level per ranked resource (a repository has one permission): when policies, requests and
    // exceptions name several levels of one, the highest stands and covers the lower ones (granting
    // a lower one as well would replace the higher in the system, and revoking it remove both).
    const highest = new Map<string, { rank: number; entitlement: string }>();
    for (const d of desired) {
      const r = rankOfUri(d.entitlement);
      if (r && (highest.get(r.key)?.rank ?? -1) < r.rank) highest.set(r.key, { rank: r.rank, entitlement: d.entitlement });
    }
    const coveredBy = new Map<string, string>();
    for (let i = desired.length - 1; i >= 0; i--) {
      const r = rankOfUri(desired[i]!.entitlement);
      const top = r ? highest.get(r.key) : undefined;
      if (top && top.entitlement !== desired[i]!.entitlement) {
        coveredBy.set(desired[i]!.entitlement, top.entitlement);
        desired.splice(i, 1);
      }
    }
    // Separation of duties, the last line (filing and the final approval check first): a grant that
    // would complete a conflict rule is not applied; IT is alerted, once per person and rule.
    if (plan.active && deps.policies.conflicts.length > 0) {
      const held = await trx.selectFrom('grants').select('entitlement').where('person_id', '=', personId).where('status', 'in', ['applied', 'verified', 'pending']).execute();
      const { keep, withheld } = withholdConflicts(deps.policies, desired, held.map((g) => g.entitlement));
      desired.splice(0, desired.length, ...keep);
      await raiseSodAlerts(trx as unknown as Db, deps.boss, { personId, email: person.email, withheld, now });
    }
    const wanted = new Set(plan.active ? [...desired.map((d) => d.entitlement), ...impliedAccounts(desired.map((d) => d.entitlement), dependencies, ['manual'])] : []);

    // Work already under way. Queued operations that contradict the new desired state are
    // cancelled; the rest stand, and the plan below does not repeat them.
    // Locked, so a worker cannot claim one of them between this read and its cancellation.
    const inflight = await trx.selectFrom('operations').select(['id', 'run_id', 'key', 'depends_on', 'kind', 'entitlement', 'state', 'not_before', 'phase', 'attempts']).where('person_id', '=', personId).where('state', 'in', ['pending', 'running', 'manual']).forUpdate().execute();
    // A leaver's access does not wait out a transfer's overlap: deferred revokes are re-planned now.
    const deferred = (o: (typeof inflight)[number]) => !plan.active && o.kind === 'revoke' && o.not_before !== null && o.not_before > now;
    const seeds = inflight.filter((o) => o.state !== 'running' && (deferred(o) || (o.kind === 'grant' ? !wanted.has(o.entitlement) : wanted.has(o.entitlement))));
    const contradicted = seeds.length === 0 ? [] : await cancelWithDependents(trx as unknown as Db, { personId, seeds, pending: inflight, why: `superseded by a newer reconcile (${reason})`, now, seedsOwnGrant: true });
    const standing = inflight.filter((o) => !contradicted.some((c) => c.id === o.id));
    const granting = new Set(standing.filter((o) => o.kind === 'grant').map((o) => o.entitlement));
    const revoking = new Set(standing.filter((o) => o.kind === 'revoke').map((o) => o.entitlement));
    const actual: ActualGrant[] = [];
    for (const g of await trx.selectFrom('grants').select(['entitlement', 'status', 'source']).where('person_id', '=', personId).execute()) {
      // Being revoked by standing work: as good as gone. Being granted: as good as there.
      if (revoking.has(g.entitlement)) continue;
      if (g.status === 'pending' && !granting.has(g.entitlement)) continue;
      actual.push({ entitlement: g.entitlement, status: g.status === 'revoking' ? 'verified' : g.status });
    }

    const ops = planOperations({
      active: plan.active,
      desired,
      actual,
      systemDependencies: dependencies,
      identityProviders: IDENTITY_PROVIDERS.filter((s) => deps.adapters.manages(s)),
      accountless: ['manual'],
    });
    // An approved request for access the person already holds (verified) has nothing to wait for.
    const held = new Set(actual.filter((a) => a.status === 'verified' || a.status === 'applied').map((a) => a.entitlement));
    for (const r of requests) {
      const holding = held.has(r.entitlement) || held.has(coveredBy.get(r.entitlement) ?? '');
      if (['approved', 'provisioning'].includes(r.state) && holding && !ops.some((o) => o.entitlement === r.entitlement || o.entitlement === coveredBy.get(r.entitlement))) await activateRequest(trx as unknown as Db, deps.boss, r.id, now);
    }
    if (ops.length === 0) return { runId: null, operations: 0 };

    // A transfer keeps old access for the overlap its policy asks (mover_overlap), so work in
    // progress is not cut off mid-handover.
    if (plan.active && reason === 'mover') {
      const sources = new Map((await trx.selectFrom('grants').select(['entitlement', 'source']).where('person_id', '=', personId).execute()).map((g) => [g.entitlement, g.source]));
      for (const op of ops) {
        if (op.kind !== 'revoke') continue;
        const policy = sources.get(op.entitlement)?.replace(/^policy:/, '');
        const overlap = deps.policies.policies.find((p) => p.name === policy)?.moverOverlapMs ?? 0;
        if (overlap > 0) op.notBefore = new Date(now.getTime() + overlap).toISOString();
      }
    }
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
      .returning(['id', 'key', 'depends_on', 'kind', 'entitlement', 'system', 'source', 'expires_at', 'not_before'])
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
    // Requests now being granted are provisioning; one whose access is already in place starts its clock.
    const grantingNow = new Set(rows.filter((r) => r.kind === 'grant').map((r) => r.entitlement));
    for (const r of requests) {
      if (r.state !== 'approved') continue;
      if (grantingNow.has(r.entitlement)) await trx.updateTable('access_requests').set({ state: 'provisioning' }).where('id', '=', r.id).where('state', '=', 'approved').execute();
    }
    const priority = runPriority(reason);
    for (const row of rows.filter((r) => r.depends_on.length === 0)) {
      await deps.boss.send(QUEUES.operation.name, { operationId: row.id }, { db: bossOnTransaction(trx), priority, ...(row.not_before ? { startAfter: row.not_before } : {}) });
    }
    return { runId: run.id, operations: rows.length };
  });
}

/**
 * One open `sod` alert per (person, rule) while reconcile withholds a grant for it, posted to IT;
 * resolved (and said so) once nothing is withheld for that rule any more.
 */
async function raiseSodAlerts(db: Db, boss: PgBoss, input: { personId: string; email: string; withheld: WithheldGrant[]; now: Date }): Promise<void> {
  const rules = new Map<string, WithheldGrant[]>();
  for (const w of input.withheld) rules.set(w.rule, [...(rules.get(w.rule) ?? []), w]);
  for (const [rule, grants] of rules) {
    const what = grants.map((g) => `${g.entitlement} (${g.source.replace(':', ' ')})`).join(', ');
    const message = `${input.email}: Gatehouse did not grant ${what}: with ${grants[0]!.held.length > 0 ? grants[0]!.held.join(', ') : 'the rest of what they are due'} it would break separation of duties (${rule}: ${grants[0]!.reason}). Decide which side they keep (end the request, or change the policy); nothing is granted until then.`;
    const opened = await db
      .insertInto('alerts')
      .values({ kind: 'sod', subject: `${input.personId}:${rule}`, message })
      .onConflict((oc) => oc.columns(['kind', 'subject']).where('resolved_at', 'is', null).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!opened) continue;
    await appendAudit(db, { actor: 'system', action: 'sod.withheld', subject: input.email, entitlement: grants[0]!.entitlement, reason: message, detail: { rule, withheld: grants.map((g) => g.entitlement), alertId: opened.id } });
    await notify(db, boss, { type: 'alert', alertId: opened.id });
  }
  const stale = await db
    .updateTable('alerts')
    .set({ resolved_at: input.now })
    .where('kind', '=', 'sod')
    .where('resolved_at', 'is', null)
    .where('subject', 'like', `${input.personId}:%`)
    .where('subject', 'not in', [...rules.keys()].map((r) => `${input.personId}:${r}`).concat(['']))
    .returning('id')
    .execute();
  for (const a of stale) await notify(db, boss, { type: 'alert-resolved', alertId: a.id });
}
