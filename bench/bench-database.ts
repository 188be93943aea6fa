/**
 * The database a benchmark runs on: a fresh database on TEST_DATABASE_URL's server when set (a
 * local Postgres, faster), or a throwaway embedded Postgres. Dropped or stopped afterwards.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { startThrowawayPostgres } from '../src/db/embedded.js';

export async function benchDatabase(dir: string, name: string): Promise<{ url: string; kind: 'local server' | 'embedded'; stop(): Promise<void> }> {
  if (process.env.TEST_DATABASE_URL) {
    const db = `gh_bench_${name}_${process.pid}`;
    const admin = async (query: string) => {
      const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(query);
      } finally {
        await client.end();
      }
    };
    await admin(`create database ${db}`);
    const url = new URL(process.env.TEST_DATABASE_URL);
    url.pathname = `/${db}`;
    // BENCH_KEEP=1 keeps the database for a look afterwards (its name is printed).
    const stop = process.env.BENCH_KEEP ? async () => console.error(`BENCH_KEEP: kept database ${db}`) : () => admin(`drop database if exists ${db} with (force)`);
    return { url: url.toString(), kind: 'local server', stop };
  }
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const server = await startThrowawayPostgres({ databaseDir: join(dir, 'pg'), port });
  return { url: server.url, kind: 'embedded', stop: server.stop };
}
