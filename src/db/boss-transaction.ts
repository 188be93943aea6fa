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

/** Errors that mean "the database cannot be reached right now", as opposed to a bad query. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  if (typeof e?.code === 'string' && (/^08/.test(e.code) || ['57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH'].includes(e.code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end|connect ECONNREFUSED/i.test(e?.message ?? '');
}
