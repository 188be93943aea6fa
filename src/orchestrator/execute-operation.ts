import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import { type AccountRef, type Adapter, AdapterError } from '../../adapters/types.js';
import { appendAudit } from '../audit/append-audit.js';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import type { OperationState } from '../db/schema.js';
import type { PersonRecord } from '../people/person-record.js';
import type { AdapterRegistry } from './adapter-registry.js';
import { QUEUES } from './queue.js';
import { adapterPerson, RUN_PRIORITY } from './reconcile-person.js';
import type { TokenBucket } from './token-bucket.js';

export interface ExecuteDeps {
  db: Db;
  boss: PgBoss;
  adapters: AdapterRegistry;
  bucket: TokenBucket;
  /** Longest a worker waits for a rate-limit token before re-queueing the operation. */
  maxTokenWaitMs?: number;
}

/** Thrown to make pg-boss retry with backoff: the write is not visible yet, or the vendor hiccuped. */
export class RetryLater extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RetryLater';
  }
}

const configured = new Set<string>();

const TERMINAL: ReadonlySet<OperationState> = new Set(['verified', 'applied', 'failed', 'manual', 'cancelled']);

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The verification read: does the account hold the entitlement now? */
async function holds(adapter: Adapter, account: AccountRef, entitlement: string): Promise<'active' | 'pending' | null> {
  if (adapter.checkGrant) return (await adapter.checkGrant(account, entitlement))?.state ?? null;
  const found = (await collect(adapter.listGrants!(account))).find((g) => g.entitlement === entitlement);
  return found?.state ?? null;
}

/**
 * Executes one operation: take a rate-limit token, call the adapter, read the result back, record
 * it, and enqueue the operations that were waiting for it. Safe to run twice (pg-boss is
 * at-least-once): a finished operation is a no-op, and adapters are idempotent.
 */
export async function executeOperation(deps: ExecuteDeps, operationId: number): Promise<void> {
  const op = await deps.db.selectFrom('operations').selectAll().where('id', '=', operationId).executeTakeFirst();
  if (!op || TERMINAL.has(op.state)) return;
  const reason = (await deps.db.selectFrom('runs').select('reason').where('id', '=', op.run_id).executeTakeFirst())?.reason ?? '';
  // Re-queued work keeps its run's priority.
  const priority = RUN_PRIORITY[reason] ?? 40;
  if (op.not_before && op.not_before.getTime() > Date.now()) {
    await deps.boss.send(QUEUES.operation.name, { operationId }, { startAfter: op.not_before, priority });
    return;
  }
  if (!configured.has(op.system)) {
    // Systems made on first use (a sandboxed SCIM app) get their bucket here.
    await deps.bucket.ensure(op.system, deps.adapters.get(op.system).describe().defaultRateLimit);
    configured.add(op.system);
  }
  // Leavers' operations may use the last token in the bucket; everything else leaves one for them.
  const token = await deps.bucket.take(op.system, { maxWaitMs: deps.maxTokenWaitMs ?? 5_000, reserve: reason === 'leaver' ? 0 : 1 });
  if (!token.granted) {
    // Come back when a token will be there, rather than hold a worker.
    await deps.boss.send(QUEUES.operation.name, { operationId }, { startAfter: Math.ceil(token.waitMs / 1000), priority });
    return;
  }
  // Claim it: of two deliveries of the same operation, one runs. A claim older than the queue's
  // expiry belongs to a worker that died, and may be taken over.
  const claimed = await deps.db
    .updateTable('operations')
    .set({ state: 'running', attempts: sql`attempts + 1`, started_at: new Date() })
    .where('id', '=', op.id)
    .where((eb) => eb.or([eb('state', '=', 'pending'), eb.and([eb('state', '=', 'running'), eb('started_at', '<', new Date(Date.now() - QUEUES.operation.expireInSeconds * 1000))])]))
    .returning('attempts')
    .executeTakeFirst();
  if (!claimed) return;
  op.attempts = claimed.attempts - 1;

  const person = await deps.db.selectFrom('people').select(['employee_id', 'email', 'data']).where('id', '=', op.person_id).executeTakeFirstOrThrow();
  const who = adapterPerson(person.employee_id, person.data as PersonRecord);
  const adapter = deps.adapters.get(op.system);
  const isAccount = op.entitlement === `${op.system}:account`;

  let state: 'verified' | 'applied';
  let outcome: string;
  try {
    const stored = await deps.db.selectFrom('accounts').selectAll().where('person_id', '=', op.person_id).where('system', '=', op.system).executeTakeFirst();
    const knownAccount: AccountRef | null = stored ? { system: op.system, id: stored.external_id, login: stored.login, email: person.email, status: stored.status as AccountRef['status'] } : null;
    if (op.kind === 'grant' && isAccount) {
      const { account, outcome: o } = await adapter.ensureAccount(who);
      await deps.db
        .insertInto('accounts')
        .values({ person_id: op.person_id, system: op.system, external_id: account.id, login: account.login ?? null, status: account.status })
        .onConflict((oc) => oc.columns(['person_id', 'system']).doUpdateSet({ external_id: account.id, login: account.login ?? null, status: account.status, updated_at: new Date() }))
        .execute();
      const seen = await adapter.findAccount(who);
      if (!seen || seen.status === 'suspended') throw new RetryLater(`${op.system} account of ${person.email} is not visible yet`);
      outcome = o;
      state = seen.status === 'pending' ? 'applied' : 'verified';
    } else if (op.kind === 'revoke' && isAccount) {
      const account = knownAccount ?? (await adapter.findAccount(who));
      outcome = account ? (await adapter.suspendAccount(account)).outcome : 'already_absent';
      const seen = await adapter.findAccount(who);
      if (seen && seen.status !== 'suspended') throw new RetryLater(`${op.system} account of ${person.email} still active after suspension`);
      await deps.db.updateTable('accounts').set({ status: 'suspended', updated_at: new Date() }).where('person_id', '=', op.person_id).where('system', '=', op.system).execute();
      state = 'verified';
    } else {
      const account = knownAccount ?? (await adapter.findAccount(who));
      if (!account) {
        if (op.kind === 'revoke') {
          outcome = 'already_absent';
          state = 'verified';
        } else throw new AdapterError(`${op.system}: ${person.email} has no account to grant ${op.entitlement} to`, { kind: 'retryable', system: op.system });
      } else if (op.kind === 'grant') {
        const result = await adapter.grant(account, op.entitlement, { expiresAt: op.expires_at?.toISOString() ?? null });
        const seen = await holds(adapter, account, op.entitlement);
        // "200 OK is not done": only a read that shows the grant verifies it.
        if (!seen) throw new RetryLater(`${op.entitlement} for ${person.email} is not visible in ${op.system} yet`);
        outcome = result.outcome;
        state = seen === 'pending' || result.state === 'pending' ? 'applied' : 'verified';
      } else {
        outcome = (await adapter.revoke(account, op.entitlement)).outcome;
        if (await holds(adapter, account, op.entitlement)) throw new RetryLater(`${op.entitlement} for ${person.email} still visible in ${op.system} after revoking`);
        state = 'verified';
      }
    }
  } catch (error) {
    await recordFailure(deps, op, person.email, error, priority);
    return;
  }

  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('operations').set({ state, outcome, finished_at: new Date(), last_error: null, error_kind: null }).where('id', '=', op.id).execute();
    const now = new Date();
    await trx
      .updateTable('grants')
      .set(
        op.kind === 'grant'
          ? { status: state, applied_at: now, ...(state === 'verified' ? { verified_at: now } : {}), last_error: null, updated_at: now }
          : { status: 'revoked', revoked_at: now, last_error: null, updated_at: now },
      )
      .where('person_id', '=', op.person_id)
      .where('entitlement', '=', op.entitlement)
      .execute();
    await appendAudit(trx, {
      actor: op.source ?? 'system',
      action: `operation.${state}`,
      subject: person.email,
      entitlement: op.entitlement,
      reason: op.source,
      result: outcome,
      detail: { runId: op.run_id, kind: op.kind },
    });
    await releaseDependents(trx as unknown as Db, deps.boss, op.run_id);
    await settleRun(trx as unknown as Db, op.run_id);
  });
}

/** Enqueues the operations of a run whose dependencies are all done (tiers run in parallel). */
async function releaseDependents(db: Db, boss: PgBoss, runId: string): Promise<void> {
  // The next tier keeps the run's priority: a leaver's second tier must not queue behind joiners.
  const reason = (await db.selectFrom('runs').select('reason').where('id', '=', runId).executeTakeFirst())?.reason ?? '';
  const priority = RUN_PRIORITY[reason] ?? 40;
  const ops = await db.selectFrom('operations').select(['id', 'key', 'state', 'depends_on']).where('run_id', '=', runId).execute();
  const done = new Set(ops.filter((o) => o.state === 'verified' || o.state === 'applied').map((o) => o.key));
  const failed = new Set(ops.filter((o) => o.state === 'failed' || o.state === 'cancelled').map((o) => o.key));
  for (const o of ops) {
    if (o.state !== 'pending' || o.depends_on.length === 0) continue;
    if (o.depends_on.some((d) => failed.has(d))) {
      await db.updateTable('operations').set({ state: 'cancelled', finished_at: new Date(), last_error: 'a dependency failed' }).where('id', '=', o.id).where('state', '=', 'pending').execute();
      continue;
    }
    if (o.depends_on.every((d) => done.has(d))) {
      // Idempotent under at-least-once: the singleton key keeps one queued job per operation.
      await boss.send(QUEUES.operation.name, { operationId: o.id }, { singletonKey: `op-${o.id}`, priority });
    }
  }
}

async function settleRun(db: Db, runId: string): Promise<void> {
  const ops = await db.selectFrom('operations').select(['state', 'system']).where('run_id', '=', runId).execute();
  if (ops.some((o) => o.state === 'pending' || o.state === 'running')) return;
  const summary: Record<string, number> = {};
  for (const o of ops) summary[o.state] = (summary[o.state] ?? 0) + 1;
  await db.updateTable('runs').set({ status: 'settled', settled_at: new Date(), summary: JSON.stringify(summary) }).where('id', '=', runId).where('status', '=', 'running').execute();
}

/**
 * Retryable failures go back to pg-boss (backoff), or wait out a vendor's Retry-After; permanent
 * and auth failures end the operation, and the rest of the run goes on (forward recovery).
 */
async function recordFailure(
  deps: ExecuteDeps,
  op: { id: number; run_id: string; person_id: string; entitlement: string; system: string; attempts: number; critical: boolean; kind: 'grant' | 'revoke' },
  email: string,
  error: unknown,
  priority: number,
): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  const kind = error instanceof AdapterError ? error.kind : error instanceof RetryLater ? 'retryable' : 'permanent';
  if (kind === 'retryable' && op.attempts + 1 < QUEUES.operation.retryLimit) {
    await deps.db.updateTable('operations').set({ state: 'pending', last_error: message, error_kind: kind }).where('id', '=', op.id).execute();
    if (error instanceof AdapterError && error.rateLimited && error.retryAfterMs !== undefined) {
      await deps.bucket.pause(op.system, error.retryAfterMs, message);
      await deps.boss.send(QUEUES.operation.name, { operationId: op.id }, { startAfter: Math.ceil(error.retryAfterMs / 1000), priority });
      return;
    }
    throw new RetryLater(message, { cause: error });
  }
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('operations').set({ state: 'failed', finished_at: new Date(), last_error: message, error_kind: kind }).where('id', '=', op.id).execute();
    await trx.updateTable('grants').set({ status: 'failed', last_error: message, updated_at: new Date() }).where('person_id', '=', op.person_id).where('entitlement', '=', op.entitlement).execute();
    await appendAudit(trx, { actor: 'system', action: 'operation.failed', subject: email, entitlement: op.entitlement, result: kind, reason: message.slice(0, 500), detail: { runId: op.run_id } });
    // The dead-letter queue holds every operation that failed for good, for people to look at.
    await deps.boss.send(QUEUES.deadLetter.name, { operationId: op.id, runId: op.run_id, entitlement: op.entitlement, system: op.system, error: message, kind }, { db: bossOnTransaction(trx) });
    if (op.critical && op.kind === 'grant') await compensate(trx as unknown as Db, deps.boss, op.run_id, op.entitlement, email);
    await releaseDependents(trx as unknown as Db, deps.boss, op.run_id);
    await settleRun(trx as unknown as Db, op.run_id);
  });
}

/**
 * A critical grant failed for good: the run undoes what it granted (revoke operations, run like
 * any other) and stops what it had not started, and says why. Everything else in Gatehouse is
 * forward recovery; this is the exception a policy asks for with `critical: true`.
 */
async function compensate(db: Db, boss: PgBoss, runId: string, failed: string, email: string): Promise<void> {
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
