import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/** Postgres gave up on this transaction to let another finish: deadlock_detected, serialization_failure. */
export function isTransientConflict(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === '40P01' || e.code === '40001') return true;
  }
  return false;
}

/**
 * A transaction that is run again (up to `attempts` times, after a short random pause) when
 * Postgres aborts it to break a deadlock or a serialization conflict: the whole transaction was
 * rolled back, so running it again is safe as long as the callback only touches the database.
 * For what people wait on (webhooks, Slack clicks, CLI commands); queue jobs have the queue's retries.
 */
export async function transact<T>(db: Kysely<Database>, fn: (trx: Transaction<Database>) => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(fn);
    } catch (error) {
      if (attempt >= attempts || !isTransientConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40 * attempt));
    }
  }
}
