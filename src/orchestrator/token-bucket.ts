import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface RateLimit {
  /** Sustained rate the vendor allows this tenant. */
  requestsPerMinute: number;
  /**
   * How many calls may go out at once after an idle spell; defaults to one second's worth. The
   * bucket holds at least 1 + LEAVER_RESERVE_TOKENS whatever this says (see bucketCapacity).
   */
  burst?: number;
}

/** Tokens an ordinary operation leaves in its system's bucket, for leavers' operations alone. */
export const LEAVER_RESERVE_TOKENS = 1;

/**
 * Leavers outrank everything (ARCHITECTURE.md), on every system. A bucket of one second's worth
 * is under two tokens for Slack (20/min), a SCIM app (60/min), GitHub (80/min) and Salesforce
 * (69/min): a reserve of one token there would leave ordinary work nothing (tryTake caps it at
 * capacity − 1, which is none), and a leaver's revoke would draw lots with the backlog for every
 * token. So every bucket holds at least one token ordinary work may take plus the leavers' one.
 *
 * This keeps within the vendor's limit: the refill stays requestsPerMinute, and every call,
 * ordinary or a leaver's, spends a token from that one refill, so the sustained rate is the
 * vendor's whatever the capacity. Ordinary work never takes the reserved token, so on its own it
 * bursts exactly as before (one call on these systems; capacity − 1 on the others, which are
 * unchanged); the only addition is that a leaver's call may go out right after an ordinary one
 * (a burst of one call more, only when a leaver comes), instead of waiting behind the backlog.
 */
export function bucketCapacity(limit: RateLimit): number {
  return Math.max(1 + LEAVER_RESERVE_TOKENS, limit.burst ?? limit.requestsPerMinute / 60);
}

export type TakeResult = { granted: true } | { granted: false; waitMs: number; reason: 'empty' | 'paused' };

/**
 * A token bucket per system, kept in Postgres so that every replica draws from the same budget.
 * Taking a token is one UPDATE on the system's row: the row lock serialises concurrent takers,
 * and the refill is computed from the database clock, so replicas with skewed clocks agree.
 */
export class TokenBucket {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Creates or re-sizes a system's bucket (keeps its current tokens and any pause). */
  async configure(system: string, limit: RateLimit): Promise<void> {
    const refill = limit.requestsPerMinute / 60;
    const capacity = bucketCapacity(limit);
    await this.#db
      .insertInto('rate_limits')
      .values({ system, capacity, refill_per_second: refill, tokens: capacity })
      .onConflict((oc) =>
        oc.column('system').doUpdateSet({
          capacity,
          refill_per_second: refill,
          tokens: sql<number>`least(rate_limits.tokens, ${capacity})`,
        }),
      )
      .execute();
  }

  /** Creates a bucket for a system that has none (a sandboxed SCIM app made on first use); leaves an existing one alone. */
  async ensure(system: string, limit: RateLimit): Promise<void> {
    const refill = limit.requestsPerMinute / 60;
    const capacity = bucketCapacity(limit);
    await this.#db
      .insertInto('rate_limits')
      .values({ system, capacity, refill_per_second: refill, tokens: capacity })
      .onConflict((oc) => oc.column('system').doNothing())
      .execute();
  }

  /**
   * Takes one token if the bucket has one; otherwise says how long until it will. `reserve`
   * tokens are left for priority work: an ordinary operation (LEAVER_RESERVE_TOKENS) takes only
   * when more than that is in the bucket, so a leaver's operation (reserve 0) gets the next token
   * under a backlog. A reserve is capped at capacity − 1, so ordinary work is never shut out.
   */
  async tryTake(system: string, reserve = 0): Promise<TakeResult> {
    const taken = await sql<{ tokens: number }>`
      update rate_limits
         set tokens = least(capacity, tokens + extract(epoch from clock_timestamp() - updated_at) * refill_per_second) - 1,
             updated_at = clock_timestamp()
       where system = ${system}
         and (paused_until is null or paused_until <= clock_timestamp())
         and least(capacity, tokens + extract(epoch from clock_timestamp() - updated_at) * refill_per_second) >= 1 + least(${reserve}::float8, capacity - 1)
      returning tokens`.execute(this.#db);
    if (taken.rows.length > 0) return { granted: true };

    const { rows } = await sql<{ paused_ms: number | null; empty_ms: number | null }>`
      select extract(epoch from paused_until - clock_timestamp()) * 1000 as paused_ms,
             (1 + least(${reserve}::float8, capacity - 1) - least(capacity, tokens + extract(epoch from clock_timestamp() - updated_at) * refill_per_second))
               / refill_per_second * 1000 as empty_ms
        from rate_limits where system = ${system}`.execute(this.#db);
    const row = rows[0];
    if (!row) throw new Error(`no rate limit configured for system "${system}"; call configure() at start-up`);
    const pausedMs = Number(row.paused_ms ?? 0);
    if (pausedMs > 0) return { granted: false, waitMs: Math.ceil(pausedMs), reason: 'paused' };
    return { granted: false, waitMs: Math.max(1, Math.ceil(Number(row.empty_ms ?? 0))), reason: 'empty' };
  }

  /**
   * Waits for a token up to `maxWaitMs`. Returns the wait still needed when the budget runs out,
   * so a job can be re-queued for later instead of holding a worker.
   */
  async take(system: string, options: { maxWaitMs: number; signal?: AbortSignal; reserve?: number }): Promise<TakeResult> {
    const deadline = Date.now() + options.maxWaitMs;
    for (;;) {
      const result = await this.tryTake(system, options.reserve ?? 0);
      if (result.granted) return result;
      const left = deadline - Date.now();
      if (result.waitMs > left || options.signal?.aborted) return result;
      await new Promise((resolve) => setTimeout(resolve, result.waitMs));
    }
  }

  /**
   * Honours a vendor's 429: nobody calls `system` until `retryAfterMs` from now, and the bucket
   * restarts empty so the calls that resume ramp up at the sustained rate instead of bursting.
   */
  async pause(system: string, retryAfterMs: number, reason: string): Promise<void> {
    await sql`
      update rate_limits
         set paused_until = greatest(coalesce(paused_until, clock_timestamp()), clock_timestamp() + ${retryAfterMs} * interval '1 millisecond'),
             pause_reason = ${reason},
             tokens = 0
       where system = ${system}`.execute(this.#db);
    // Refill counts from the end of the pause, not from now.
    await sql`update rate_limits set updated_at = paused_until where system = ${system}`.execute(this.#db);
  }
}
