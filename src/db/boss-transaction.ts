import { CompiledQuery, type Transaction } from 'kysely';
import type { Database } from './schema.js';

/**
 * pg-boss's `db` option over a kysely transaction: a job sent with it is inserted in that
 * transaction, so the change that caused it and the job commit together or not at all
 * (a transactional outbox).
 */
export function bossOnTransaction(trx: Transaction<Database>): { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> } {
  return {
    async executeSql(text, values = []) {
      const result = await trx.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as unknown[] };
    },
  };
}

/**
 * Errors that mean "the database cannot be reached right now", as opposed to a bad query: connect
 * failures, server shutdown codes (class 08 and 57P0x), and what node-postgres says about a client
 * whose connection died mid-transaction (the rollback that follows fails with "not queryable").
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && (/^08/.test(e.code) || ['57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE'].includes(e.code))) return true;
    if (typeof e.message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end|connect ECONNREFUSED|not queryable|Connection closed/i.test(e.message)) return true;
  }
  return false;
}
