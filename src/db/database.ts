import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

// Postgres `bigint`/`bigserial` (int8) arrive as strings by default; counts and sequence numbers we
// use stay far below 2^53, so parse them as numbers rather than sprinkle Number() around.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export interface DatabaseHandle {
  db: Db;
  pool: pg.Pool;
  destroy(): Promise<void>;
}

export function createDatabase(
  connectionString: string,
  options: { max?: number; applicationName?: string } = {},
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'gatehouse',
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that loses its server (Postgres restart) emits 'error' on the pool; without a
  // listener that would crash the process. The next query gets a fresh connection instead.
  pool.on('error', () => {});
  // A client checked out by a transaction when its server goes away emits 'error' on itself,
  // not on the pool; unheard, that crashes the process. The failed query already rejects, and
  // the pool drops the broken client.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let destroyed = false;
  return {
    db,
    pool,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await db.destroy();
    },
  };
}

/** True when a trivial query succeeds within the timeout. Used by /readyz. */
export async function databaseReachable(pool: pg.Pool, timeoutMs = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      pool.query('select 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
