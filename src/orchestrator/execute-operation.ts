import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import { type AccountRef, type Adapter, AdapterError } from '../../adapters/types.js';
import { appendAudit } from '../audit/append-audit.js';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import type { Selectable } from 'kysely';
import type { OperationsTable } from '../db/schema.js';
import type { PersonRecord } from '../people/person-record.js';
import type { AdapterRegistry } from './adapter-registry.js';
import { covers } from '../policy/entitlement.js';
import { activateRequest, requestAccessRemoved, requestGrantFailed, requestIdOf } from '../requests/lifecycle.js';
import { cancelWithDependents } from './cancel-operations.js';
import { openManualTask } from './manual-tasks.js';
import { notify } from './notifications.js';
import { QUEUES } from './queue.js';
import { adapterPerson } from './reconcile-person.js';
import { compensate, releaseDependents, runPriority, settleRun } from './run-state.js';
import { LEAVER_RESERVE_TOKENS, type TokenBucket } from './token-bucket.js';

export interface ExecuteDeps {
  db: Db;
  boss: PgBoss;
  adapters: AdapterRegistry;
  bucket: TokenBucket;
  /** Longest a worker waits for a rate-limit token before re-queueing the operation. */
  maxTokenWaitMs?: number;
  /**
   * When a write the system accepted is read back again while it is not visible yet (eventual
   * consistency); after the last read the operation fails with that reason.
   */
  verifySchedule?: readonly number[];
  /** Exponential backoff with full jitter for retryable failures without a Retry-After. */
  backoff?: { baseMs: number; capMs: number };
  /** How long a system is paused after it refuses our credentials, before one operation tries again. */
  authPauseMs?: number;
  /** Writes (and failed reads) an operation may make before it fails for good. */
  maxAttempts?: number;
  /** Progress checks of an asynchronous write before it is given up. */
  maxProgressChecks?: number;
  /** A claim older than this belongs to a worker that died (SIGKILL, OOM): another may take over. */
  claimTimeoutMs?: number;
  /** For tests: the random source of the jitter. */
  random?: () => number;
}

/** A grant whose account does not exist yet (another operation is making it). */
class AccountNotReady extends AdapterError {}

/** 1 s, 5 s, 30 s, 2 min after the write's first read (ARCHITECTURE.md → verification). */
export const VERIFY_SCHEDULE_MS = [1_000, 5_000, 30_000, 120_000] as const;
export const DEFAULT_BACKOFF = { baseMs: 1_000, capMs: 120_000 } as const;
export const AUTH_PAUSE_MS = 5 * 60_000;
/**
 * A leaver's operation waits in a worker for a token at most this long; one due later is
 * re-queued to come back LEAVER_RETURN_EARLY_MS (the workers' polling interval) before it, so a
 * leaver with many grants on one slow system (Slack's 20/min) does not hold every leavers'
 * worker while the next system's revoke waits for one. Ordinary work cannot take the reserved
 * token it comes back for (token-bucket.ts), so the leaver loses nothing by being away.
 */
export const LEAVER_TOKEN_WAIT_MS = 2_000;
export const LEAVER_RETURN_EARLY_MS = 1_000;

type Operation = Selectable<OperationsTable>;

/** What one step of an operation came to. */
type Step =
  | { kind: 'done'; state: 'verified' | 'applied'; outcome: string }
  | { kind: 'progress'; reference: string; checkAfterMs: number; outcome: string }
  | { kind: 'not-visible'; outcome: string; what: string };

const configured = new Set<string>();

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * The verification read: does the account hold the entitlement now? Access inherited from a
 * parent (a GitLab group's members in its subgroups) satisfies a grant, but does not make a
 * revoke of the direct grant unfinished: it is not ours to take away there.
 */
async function holds(adapter: Adapter, account: AccountRef, entitlement: string, options: { directOnly: boolean }): Promise<'active' | 'pending' | null> {
  const found = adapter.checkGrant ? await adapter.checkGrant(account, entitlement) : (await collect(adapter.listGrants!(account))).find((g) => g.entitlement === entitlement);
  if (!found || (options.directOnly && found.inheritedFrom)) return null;
  return found.state;
}

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in [0, min(cap, base·2^n)). */
export function fullJitter(attempt: number, backoff: { baseMs: number; capMs: number }, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1)));
}

interface Context {
  op: Operation;
  adapter: Adapter;
  email: string;
  who: ReturnType<typeof adapterPerson>;
  known: AccountRef | null;
}

/**
 * Executes one step of an operation: take a rate-limit token, call the adapter, read the result
 * back, record it, and enqueue what was waiting for it. Safe to run twice (pg-boss delivers at
 * least once): a finished operation is a no-op, a claim keeps two deliveries from running at once,
 * and adapters are idempotent, so a step repeated after a crash finds its write already present.
 */
export async function executeOperation(deps: ExecuteDeps, operationId: number): Promise<void> {
  const op = await deps.db.selectFrom('operations').selectAll().where('id', '=', operationId).executeTakeFirst();
  const claimTimeoutMs = deps.claimTimeoutMs ?? QUEUES.operation.expireInSeconds * 1000;
  const stale = (o: Operation) => o.state === 'running' && o.started_at !== null && o.started_at.getTime() < Date.now() - claimTimeoutMs;
  if (!op || !(op.state === 'pending' || op.state === 'running')) return;
  const reason = (await deps.db.selectFrom('runs').select('reason').where('id', '=', op.run_id).executeTakeFirst())?.reason;
  // Re-queued work keeps its run's priority.
  const priority = runPriority(reason);
  const later = (at: Date) => deps.boss.send(QUEUES.operation.name, { operationId }, { startAfter: at, priority });
  if (op.state === 'running' && !stale(op)) {
    // Claimed by a worker that may still be at it, or that died (its job's retry lands here). Come
    // back when the claim is stale: a finished operation is then a no-op; an abandoned one is taken over.
    await later(new Date((op.started_at?.getTime() ?? Date.now()) + claimTimeoutMs + 1_000));
    return;
  }
  if (op.not_before && op.not_before.getTime() > Date.now()) {
    await later(op.not_before);
    return;
  }
  // A newer plan for the same entitlement supersedes this one: an older grant taken over from a
  // dead worker must not undo a leaver's revoke that was planned (and perhaps done) since.
  const newer = await deps.db.selectFrom('operations').select('id').where('person_id', '=', op.person_id).where('entitlement', '=', op.entitlement).where('id', '>', op.id).where('state', '!=', 'cancelled').executeTakeFirst();
  if (newer) {
    // What waited on it in its run is cancelled too, and the person re-planned: the newest plan
    // decides what is still needed, in the right order.
    await deps.db.transaction().execute(async (trx) => {
      const pending = await trx.selectFrom('operations').select(['id', 'run_id', 'key', 'depends_on', 'kind', 'entitlement', 'state', 'phase', 'attempts']).where('person_id', '=', op.person_id).where('state', '=', 'pending').forUpdate().execute();
      const self = await trx.selectFrom('operations').select(['id', 'run_id', 'key', 'depends_on', 'kind', 'entitlement', 'state', 'phase', 'attempts']).where('id', '=', op.id).where('state', 'in', ['pending', 'running']).forUpdate().executeTakeFirst();
      if (!self) return;
      const cancelled = await cancelWithDependents(trx as unknown as Db, { personId: op.person_id, seeds: [self], pending, why: `superseded by operation ${newer.id}`, now: new Date(), seedsOwnGrant: false });
      if (cancelled.length > 1) await reconcileAgain(trx as unknown as Db, deps.boss, op.person_id, reason);
      await settleRun(trx as unknown as Db, deps.boss, op.run_id);
    });
    return;
  }
  if (deps.adapters.manualSystems().includes(op.system)) {
    await openManualTask(deps, op);
    return;
  }
  // One change to an entitlement at a time: a newer run's revoke waits for an older run's grant.
  const busy = await deps.db
    .selectFrom('operations')
    .select('id')
    .where('person_id', '=', op.person_id)
    .where('entitlement', '=', op.entitlement)
    .where('state', '=', 'running')
    .where('id', '!=', op.id)
    .where('started_at', '>', new Date(Date.now() - claimTimeoutMs))
    .executeTakeFirst();
  if (busy) {
    await later(new Date(Date.now() + 2_000));
    return;
  }
  if (!configured.has(op.system)) {
    // Systems made on first use (a sandboxed SCIM app) get their bucket here.
    await deps.bucket.ensure(op.system, deps.adapters.get(op.system).describe().defaultRateLimit);
    configured.add(op.system);
  }
  // Leavers' operations may use the last token in the bucket; everything else leaves one for them.
  const leaver = reason === 'leaver';
  const maxTokenWaitMs = deps.maxTokenWaitMs ?? 5_000;
  const token = await deps.bucket.take(op.system, { maxWaitMs: leaver ? Math.min(maxTokenWaitMs, LEAVER_TOKEN_WAIT_MS) : maxTokenWaitMs, reserve: leaver ? 0 : LEAVER_RESERVE_TOKENS });
  if (!token.granted) {
    // Come back when a token will be there, rather than hold a worker. A leaver's operation comes
    // back a poll early and waits out the rest in a worker, so that it is in line when its token
    // comes; the leavers' workers are kept free for the leaver's other systems meanwhile.
    await later(new Date(Date.now() + (leaver ? Math.max(0, token.waitMs - LEAVER_RETURN_EARLY_MS) : token.waitMs)));
    return;
  }
  // Claim it: of two deliveries of the same operation, one runs. A claim older than the claim
  // timeout belongs to a worker that died, and may be taken over.
  const claimed = await deps.db
    .updateTable('operations')
    .set({ state: 'running', attempts: sql`attempts + ${op.phase === 'write' ? 1 : 0}`, checks: sql`checks + ${op.phase === 'write' ? 0 : 1}`, started_at: new Date() })
    .where('id', '=', op.id)
    .where((eb) => eb.or([eb('state', '=', 'pending'), eb.and([eb('state', '=', 'running'), eb('started_at', '<', new Date(Date.now() - claimTimeoutMs))])]))
    .returningAll()
    .executeTakeFirst();
  if (!claimed) return;

  const person = await deps.db.selectFrom('people').select(['employee_id', 'email', 'data']).where('id', '=', op.person_id).executeTakeFirstOrThrow();
  const stored = await deps.db.selectFrom('accounts').selectAll().where('person_id', '=', op.person_id).where('system', '=', op.system).executeTakeFirst();
  const ctx: Context = {
    op: claimed,
    adapter: deps.adapters.get(op.system),
    email: person.email,
    who: adapterPerson(person.employee_id, person.data as PersonRecord),
    known: stored ? { system: op.system, id: stored.external_id, login: stored.login, email: person.email, status: stored.status as AccountRef['status'] } : null,
  };

  let step: Step;
  try {
    if (claimed.phase === 'write') step = await write(deps, ctx);
    else if (claimed.phase === 'progress') {
      const progress = await ctx.adapter.checkProgress!(claimed.reference!);
      step = progress.state === 'in_progress' ? { kind: 'progress', reference: claimed.reference!, checkAfterMs: progress.checkAfterMs, outcome: claimed.outcome ?? 'applied' } : await read(deps, ctx, claimed.outcome ?? 'applied');
    } else step = await read(deps, ctx, claimed.outcome ?? 'applied');
  } catch (error) {
    await recordFailure(deps, ctx, error, priority);
    return;
  }

  if (step.kind === 'done') {
    await finish(deps, ctx, step.state, step.outcome);
    return;
  }
  if (step.kind === 'progress') {
    const maxChecks = deps.maxProgressChecks ?? 60;
    if (claimed.phase === 'progress' && claimed.checks >= maxChecks) {
      await fail(deps, ctx, `${op.entitlement} for ${person.email}: ${op.system} was still carrying out request ${step.reference} after ${maxChecks} checks`, 'permanent');
      return;
    }
    await requeue(deps, ctx, priority, step.checkAfterMs, { phase: 'progress', reference: step.reference, outcome: step.outcome, ...(claimed.phase === 'progress' ? {} : { checks: 0 }) });
    return;
  }
  // Written, but not visible yet: read again on the schedule, then give up with that reason.
  const schedule = deps.verifySchedule ?? VERIFY_SCHEDULE_MS;
  const reads = claimed.phase === 'verify' ? claimed.checks : 0;
  if (reads >= schedule.length) {
    const when = schedule.map((ms) => (ms < 60_000 ? `${ms / 1000} s` : `${ms / 60_000} min`)).join(', ');
    await fail(deps, ctx, `${step.what}: ${op.system} accepted the change (${step.outcome}) but it never became visible (read back at once and after ${when})`, 'permanent');
    return;
  }
  await requeue(deps, ctx, priority, schedule[reads]!, { phase: 'verify', outcome: step.outcome, ...(claimed.phase === 'verify' ? {} : { checks: 0 }) });
}

/** The write: ensure/suspend the account, or grant/revoke, then the first verification read. */
async function write(deps: ExecuteDeps, ctx: Context): Promise<Step> {
  const { op, adapter } = ctx;
  const isAccount = op.entitlement === `${op.system}:account`;
  if (op.kind === 'grant' && isAccount) {
    const { account, outcome } = await adapter.ensureAccount(ctx.who);
    await deps.db
      .insertInto('accounts')
      .values({ person_id: op.person_id, system: op.system, external_id: account.id, login: account.login ?? null, status: account.status })
      .onConflict((oc) => oc.columns(['person_id', 'system']).doUpdateSet({ external_id: account.id, login: account.login ?? null, status: account.status, updated_at: new Date() }))
      .execute();
    ctx.known = account;
    return read(deps, ctx, outcome);
  }
  if (op.kind === 'revoke' && isAccount) {
    const account = ctx.known ?? (await adapter.findAccount(ctx.who));
    if (!account) return read(deps, ctx, 'already_absent');
    const result = await adapter.suspendAccount(account);
    if (result.state === 'in_progress' && result.reference) return { kind: 'progress', reference: result.reference, checkAfterMs: result.checkAfterMs ?? 5_000, outcome: result.outcome };
    return read(deps, ctx, result.outcome);
  }
  const account = ctx.known ?? (await adapter.findAccount(ctx.who));
  if (!account) {
    if (op.kind === 'revoke') return { kind: 'done', state: 'verified', outcome: 'already_absent' };
    throw new AccountNotReady(`${op.system}: ${ctx.email} has no account to grant ${op.entitlement} to yet`, { kind: 'retryable', system: op.system });
  }
  ctx.known = account;
  const result = op.kind === 'grant' ? await adapter.grant(account, op.entitlement, { expiresAt: op.expires_at?.toISOString() ?? null }) : await adapter.revoke(account, op.entitlement);
  if (result.state === 'in_progress') {
    if (!result.reference || !adapter.checkProgress) throw new AdapterError(`${op.system} answered in_progress for ${op.entitlement} without a way to follow it (reference and checkProgress are required)`, { kind: 'permanent', system: op.system });
    return { kind: 'progress', reference: result.reference, checkAfterMs: result.checkAfterMs ?? 5_000, outcome: result.outcome };
  }
  const step = await read(deps, ctx, result.outcome);
  // A grant the system holds as pending (an invitation) is applied, not verified.
  if (step.kind === 'done' && op.kind === 'grant' && 'state' in result && result.state === 'pending') return { ...step, state: 'applied' };
  return step;
}

/** "A 200 OK is not done": only a read that shows the change makes the operation verified. */
async function read(_deps: ExecuteDeps, ctx: Context, outcome: string): Promise<Step> {
  const { op, adapter } = ctx;
  const isAccount = op.entitlement === `${op.system}:account`;
  if (isAccount) {
    const seen = await adapter.findAccount(ctx.who);
    if (op.kind === 'grant') {
      if (!seen || seen.status === 'suspended') return { kind: 'not-visible', outcome, what: `the ${op.system} account of ${ctx.email} is not active` };
      return { kind: 'done', state: seen.status === 'pending' ? 'applied' : 'verified', outcome };
    }
    // Only an active account is still a way in (an invitation never accepted is not).
    if (seen && seen.status === 'active') return { kind: 'not-visible', outcome, what: `the ${op.system} account of ${ctx.email} is still active after suspension` };
    return { kind: 'done', state: 'verified', outcome };
  }
  const account = ctx.known ?? (await adapter.findAccount(ctx.who));
  if (!account) return op.kind === 'revoke' ? { kind: 'done', state: 'verified', outcome } : { kind: 'not-visible', outcome, what: `${ctx.email} has no ${op.system} account` };
  const seen = await holds(adapter, account, op.entitlement, { directOnly: op.kind === 'revoke' });
  if (op.kind === 'grant') {
    if (!seen) return { kind: 'not-visible', outcome, what: `${op.entitlement} for ${ctx.email} is not visible in ${op.system}` };
    return { kind: 'done', state: seen === 'pending' ? 'applied' : 'verified', outcome };
  }
  if (seen) return { kind: 'not-visible', outcome, what: `${op.entitlement} for ${ctx.email} is still visible in ${op.system} after revoking` };
  return { kind: 'done', state: 'verified', outcome };
}

/** Puts the operation back to pending and schedules its next step, in one transaction (nothing is lost between them). */
async function requeue(deps: ExecuteDeps, ctx: Context, priority: number, delayMs: number, set: Partial<Pick<Operation, 'phase' | 'reference' | 'outcome' | 'checks' | 'attempts' | 'last_error' | 'error_kind'>>): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const moved = await trx.updateTable('operations').set({ state: 'pending', ...set }).where('id', '=', ctx.op.id).where('state', '=', 'running').returning('id').executeTakeFirst();
    if (!moved) return;
    await deps.boss.send(QUEUES.operation.name, { operationId: ctx.op.id }, { db: bossOnTransaction(trx), startAfter: new Date(Date.now() + Math.max(0, delayMs)), priority });
  });
}

async function finish(deps: ExecuteDeps, ctx: Context, state: 'verified' | 'applied', outcome: string): Promise<void> {
  const { op } = ctx;
  await deps.db.transaction().execute(async (trx) => {
    const done = await trx.updateTable('operations').set({ state, outcome, finished_at: new Date(), last_error: null, error_kind: null }).where('id', '=', op.id).where('state', '=', 'running').returning('id').executeTakeFirst();
    if (!done) return;
    const before = await trx.selectFrom('grants').select('status').where('person_id', '=', op.person_id).where('entitlement', '=', op.entitlement).executeTakeFirst();
    const now = new Date();
    const after = op.kind === 'grant' ? state : 'revoked';
    const recorded = op.kind === 'grant' ? { status: state, applied_at: now, ...(state === 'verified' ? { verified_at: now } : {}), last_error: null, updated_at: now } : { status: 'revoked' as const, revoked_at: now, last_error: null, updated_at: now };
    // What the system now has is recorded even if a reconcile dropped the row meanwhile.
    await trx
      .insertInto('grants')
      .values({ person_id: op.person_id, entitlement: op.entitlement, system: op.system, source: op.source, expires_at: op.expires_at, ...recorded })
      .onConflict((oc) => oc.columns(['person_id', 'entitlement']).doUpdateSet(recorded))
      .execute();
    if (op.kind === 'revoke' && op.entitlement === `${op.system}:account`) {
      await trx.updateTable('accounts').set({ status: 'suspended', updated_at: now }).where('person_id', '=', op.person_id).where('system', '=', op.system).execute();
    }
    await appendAudit(trx, {
      actor: op.source ?? 'system',
      action: `operation.${state}`,
      subject: ctx.email,
      entitlement: op.entitlement,
      reason: op.source,
      result: outcome,
      detail: { runId: op.run_id, kind: op.kind, before: before?.status ?? null, after },
    });
    // Requests: a verified grant starts its clock; a verified revoke tells whoever's access ended.
    // Every approved request for it starts, not only the one this operation was planned for
    // (two approved at once plan one grant; the other would wait for ever, and hold the access).
    if (op.kind === 'grant') {
      if (state === 'verified') {
        // And those for a lower level of the same ranked resource, which this one covers.
        const base = op.entitlement.includes('#') ? op.entitlement.slice(0, op.entitlement.indexOf('#')) : op.entitlement;
        const waiting = await trx
          .selectFrom('access_requests')
          .select(['id', 'entitlement'])
          .where('person_id', '=', op.person_id)
          .where((eb) => eb.or([eb('entitlement', '=', op.entitlement), eb('entitlement', 'like', `${base.replace(/[\\%_]/g, '\\$&')}#%`)]))
          .where('state', 'in', ['approved', 'provisioning'])
          .orderBy('id')
          .execute();
        for (const r of waiting) if (r.entitlement === op.entitlement || covers(op.entitlement, r.entitlement)) await activateRequest(trx as unknown as Db, deps.boss, r.id, now);
      }
    } else if (op.kind === 'revoke') await requestAccessRemoved(trx as unknown as Db, deps.boss, op.person_id, op.entitlement, now);
    // The system works again: close its credentials alert, if one is open.
    const resolved = await trx.updateTable('alerts').set({ resolved_at: now }).where('kind', '=', 'auth').where('subject', '=', op.system).where('resolved_at', 'is', null).returning('id').executeTakeFirst();
    if (resolved) {
      await appendAudit(trx, { actor: 'system', action: 'alert.resolved', subject: op.system, reason: 'credentials accepted again', detail: { alertId: resolved.id } });
      await notify(trx as unknown as Db, deps.boss, { type: 'alert-resolved', alertId: resolved.id });
    }
    await releaseDependents(trx as unknown as Db, deps.boss, op.run_id, deps.adapters.manualSystems());
    await settleRun(trx as unknown as Db, deps.boss, op.run_id);
  });
}

/**
 * Retryable failures wait (a vendor's Retry-After, else backoff with full jitter) and go again;
 * an `auth` failure pauses the whole system and alerts IT once; permanent failures, and retryable
 * ones past the last attempt, end the operation, and the rest of the run goes on.
 */
async function recordFailure(deps: ExecuteDeps, ctx: Context, error: unknown, priority: number): Promise<void> {
  const { op } = ctx;
  const message = error instanceof Error ? error.message : String(error);
  const kind = error instanceof AdapterError ? error.kind : 'retryable';
  // Reads count as attempts only when they fail; writes were counted when claimed.
  const attempts = op.phase === 'write' ? op.attempts : op.attempts + 1;

  if (kind === 'auth') {
    const pauseMs = deps.authPauseMs ?? AUTH_PAUSE_MS;
    await deps.bucket.pause(op.system, pauseMs, message);
    await deps.db.transaction().execute(async (trx) => {
      const opened = await sql<{ id: number }>`
        insert into alerts (kind, subject, message) values ('auth', ${op.system}, ${message})
        on conflict (kind, subject) where resolved_at is null do nothing returning id`.execute(trx);
      const alert = opened.rows[0];
      if (alert) {
        await appendAudit(trx, { actor: 'system', action: 'alert.opened', subject: op.system, reason: message.slice(0, 500), detail: { alertId: alert.id, kind: 'auth' } });
        await notify(trx as unknown as Db, deps.boss, { type: 'alert', alertId: alert.id });
      }
    });
    // Not the operation's fault: it keeps its attempts and tries again when the pause ends.
    await requeue(deps, ctx, priority, pauseMs, { attempts: op.phase === 'write' ? op.attempts - 1 : op.attempts, last_error: message, error_kind: kind });
    return;
  }

  if (error instanceof AccountNotReady) {
    // Waiting for the account that another operation is still making is not a failed attempt: it
    // waits for as long as that operation lives (it ends verified, failed or cancelled).
    const making = await deps.db.selectFrom('operations').select('id').where('person_id', '=', op.person_id).where('entitlement', '=', `${op.system}:account`).where('kind', '=', 'grant').where('state', 'in', ['pending', 'running']).executeTakeFirst();
    if (making) {
      await requeue(deps, ctx, priority, 2_000 + Math.floor((deps.random ?? Math.random)() * 3_000), { attempts: op.phase === 'write' ? op.attempts - 1 : op.attempts, last_error: message, error_kind: kind });
      return;
    }
  }
  if (kind === 'retryable' && attempts < (deps.maxAttempts ?? QUEUES.operation.retryLimit)) {
    const vendor = error instanceof AdapterError ? error.retryAfterMs : undefined;
    const delay = vendor ?? fullJitter(attempts, deps.backoff ?? DEFAULT_BACKOFF, deps.random);
    // A 429 slows the whole system, not just this call: every replica waits it out.
    if (error instanceof AdapterError && error.rateLimited) await deps.bucket.pause(op.system, Math.max(delay, 1_000), message);
    await requeue(deps, ctx, priority, delay, { attempts, last_error: message, error_kind: kind });
    return;
  }
  await fail(deps, ctx, kind === 'retryable' ? `${message} (gave up after ${attempts} attempts)` : message, kind, attempts);
}

/** Ends an operation as failed: dead-letter queue, compensation if critical, and the run goes on. */
async function fail(deps: ExecuteDeps, ctx: Context, message: string, kind: string, attempts = ctx.op.attempts): Promise<void> {
  const { op } = ctx;
  await deps.db.transaction().execute(async (trx) => {
    const failed = await trx.updateTable('operations').set({ state: 'failed', finished_at: new Date(), last_error: message, error_kind: kind, attempts }).where('id', '=', op.id).where('state', '=', 'running').returning('id').executeTakeFirst();
    if (!failed) return;
    await trx.updateTable('grants').set({ status: 'failed', last_error: message, updated_at: new Date() }).where('person_id', '=', op.person_id).where('entitlement', '=', op.entitlement).execute();
    await appendAudit(trx, { actor: 'system', action: 'operation.failed', subject: ctx.email, entitlement: op.entitlement, result: kind, reason: message.slice(0, 500), detail: { runId: op.run_id, kind: op.kind, attempts } });
    // The dead-letter queue holds every operation that failed for good, for people to look at.
    await deps.boss.send(QUEUES.deadLetter.name, { operationId: op.id, runId: op.run_id, entitlement: op.entitlement, system: op.system, error: message, kind }, { db: bossOnTransaction(trx) });
    const requestId = requestIdOf(op.source);
    if (op.kind === 'grant' && requestId !== null) await requestGrantFailed(trx as unknown as Db, deps.boss, requestId, message);
    if (op.critical && op.kind === 'grant') await compensate(trx as unknown as Db, deps.boss, op.run_id, op.entitlement, ctx.email);
    await releaseDependents(trx as unknown as Db, deps.boss, op.run_id, deps.adapters.manualSystems());
    await settleRun(trx as unknown as Db, deps.boss, op.run_id);
  });
}

/** The person planned again, at the priority of the run whose work was cancelled. */
async function reconcileAgain(db: Db, boss: PgBoss, personId: string, reason: string | undefined): Promise<void> {
  await boss.send(QUEUES.reconcilePerson.name, { personId, reason: reason ?? 'drift' }, { db: bossOnTransaction(db as never), priority: runPriority(reason) });
}
