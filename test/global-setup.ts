import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startThrowawayPostgres } from '../src/db/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser connection string; each test file creates its own database through it. */
    adminDatabaseUrl: string;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * One Postgres for the whole run: TEST_DATABASE_URL when set (fast local runs), otherwise an
 * embedded server in a temporary folder, so a fresh machine with no database server passes too.
 */
export default async function setup(project: TestProject) {
  let url = process.env.TEST_DATABASE_URL;
  let stop: (() => Promise<void>) | undefined;
  let dir: string | undefined;
  if (!url) {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-test-pg-'));
    // Postgres runs as the `postgres` OS user when we are root; it must be able to enter the folder.
    await chmod(dir, 0o755);
    const server = await startThrowawayPostgres({ databaseDir: join(dir, 'data'), port: await freePort() });
    url = server.url;
    stop = server.stop;
  } else {
    // Databases left behind by an interrupted earlier run on the same server.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ datname: string }>(
      "select datname from pg_database where datname like 'gh\\_test\\_%' and pg_database.oid not in (select datid from pg_stat_activity where datid is not null)",
    );
    for (const { datname } of rows)
      await client.query(`drop database if exists "${datname}" with (force)`).catch(() => {});
    await client.end();
  }
  project.provide('adminDatabaseUrl', url);
  return async () => {
    await stop?.();
    if (dir) await rm(dir, { recursive: true, force: true });
  };
}
