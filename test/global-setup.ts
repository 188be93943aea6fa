import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startThrowawayPostgres } from '../src/db/embedded.js';
import { claimTestRun, dropDatabasesOfEndedRuns, newTestRunId } from './helpers/test-run-databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser connection string; each test file creates its own database through it. */
    adminDatabaseUrl: string;
    /** This run's id: its databases are named after it (test/helpers/test-run-databases.ts). */
    testRunId: string;
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
  const runId = newTestRunId();
  if (!url) {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-test-pg-'));
    // Postgres runs as the `postgres` OS user when we are root; let it into the folder. When it
    // still cannot reach it (TMPDIR inside root's 0700 home), the server uses a folder under /tmp.
    await chmod(dir, 0o755);
    const server = await startThrowawayPostgres({ databaseDir: join(dir, 'data'), port: await freePort() });
    url = server.url;
    stop = server.stop;
  }
  // This run's lock lives as long as this connection; with it held, leftovers of runs that ended
  // are dropped, and a run going on beside this one on the same server keeps its databases. Held
  // on the embedded server too: a test that looks for ended runs must see this one as live.
  const runLock = new pg.Client({ connectionString: url });
  await runLock.connect();
  await claimTestRun(runLock, runId);
  if (process.env.TEST_DATABASE_URL) await dropDatabasesOfEndedRuns(runLock);
  project.provide('adminDatabaseUrl', url);
  project.provide('testRunId', runId);
  return async () => {
    // Databases of test files that died before their afterAll ran.
    if (process.env.TEST_DATABASE_URL) {
      const { rows } = await runLock.query<{ datname: string }>('select datname from pg_database where starts_with(datname, $1)', [`gh_test_${runId}_`]);
      for (const { datname } of rows) await runLock.query(`drop database if exists "${datname}" with (force)`).catch(() => {});
    }
    await runLock.end();
    await stop?.();
    if (dir) await rm(dir, { recursive: true, force: true });
  };
}
