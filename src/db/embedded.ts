import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from '../log.js';
import { makeSystemDir, postgresBinaries } from './postgres-binaries.js';
import { foldersBlocking, howToOpen, type PostgresOsUser, postgresOsUser } from './postgres-os-user.js';
import { initialiseCluster, type RunningCluster, startCluster } from './postgres-server.js';

/** What a Gatehouse process needs to reach the embedded server: written once, read by every process. */
interface EmbeddedCredentials {
  port: number;
  user: string;
  password: string;
  database: string;
  /**
   * Set when the cluster lives outside the data folder (as root, when the postgres OS user cannot
   * enter it): recorded the first time, so it stays there even if the folder is opened later.
   * Unset means `<dataDir>/postgres`, relative so that a moved checkout keeps its data.
   */
  databaseDir?: string;
}

/**
 * As root, the throwaway server's binaries go where EMBEDDED_PG_SYSTEM_DIR's default puts them
 * (it has no configuration of its own), and its data under /tmp when the folder it was given is
 * one the postgres OS user cannot enter (TMPDIR inside root's home).
 */
const DEFAULT_SYSTEM_DIR = '/var/lib/gatehouse';
const SHARED_TMP_DIR = '/tmp';

export interface EmbeddedPostgres {
  url: string;
  /** True when this process started the server (and so stops it on shutdown). */
  startedHere: boolean;
  stop(): Promise<void>;
}

/** Sends Postgres a fast-shutdown signal if this process exits while the server it started runs. */
function killOnExit(child: RunningCluster['child']): () => void {
  // An 'exit' hook must be synchronous; a process that ends without running its shutdown
  // (an uncaught error) must not leave a postmaster behind on the data directory.
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
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
 * The folder for a new cluster of the data folder `root`. In `root` (as always) unless, as root,
 * the postgres OS user cannot enter it; then under `<systemDir>/data/`, named after the checkout
 * and a hash of `root`, so every checkout keeps its own. Data already in `root` stays there.
 */
function newDatabaseDir(root: string, runAs: PostgresOsUser | undefined, systemDir: string, log: Logger): string {
  const inPlace = join(root, 'postgres');
  if (!runAs || existsSync(join(inPlace, 'PG_VERSION'))) return inPlace;
  if (foldersBlocking(root, runAs).length === 0) return inPlace;
  const name = `${basename(dirname(root)).replace(/[^A-Za-z0-9._-]/g, '_')}-${createHash('sha256').update(root).digest('hex').slice(0, 10)}`;
  const databaseDir = join(resolve(systemDir), 'data', name);
  log.info(
    { dataDir: root, databaseDir },
    `the ${runAs.name} OS user cannot enter the data folder, so embedded Postgres keeps its data in ${databaseDir} (recorded in ${join(root, 'embedded-postgres.json')})`,
  );
  return databaseDir;
}

/**
 * Connects to the embedded Postgres of the data folder `dataDir`, starting it first if no
 * Gatehouse process has. The first process starts the server; the next (the CLI while `serve`
 * runs) finds it by the credentials file and connects instead of starting a second server on the
 * same data. As root, Postgres runs as the `postgres` OS user (Postgres refuses root): its
 * binaries and data must be where that user can reach them, see postgresBinaries and newDatabaseDir.
 */
export async function connectEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  /** EMBEDDED_PG_SYSTEM_DIR: used only as root, when the checkout is out of the postgres user's reach. */
  systemDir: string;
  log: Logger;
  database?: string;
}): Promise<EmbeddedPostgres> {
  const { log } = options;
  const root = resolve(options.dataDir);
  const credentialsFile = join(root, 'embedded-postgres.json');
  const asRoot = process.getuid?.() === 0;
  // As root, Postgres may keep its data in here: 0711 lets its user through without letting it
  // list the folder (the credentials file is 0600).
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
  const writeCredentials = () => writeFile(credentialsFile, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  await writeCredentials();
  const url = urlOf(credentials);

  if (await canConnect(url)) {
    log.info(
      { dataDir: credentials.databaseDir ?? join(root, 'postgres'), port: credentials.port },
      'using the embedded Postgres another Gatehouse process started',
    );
    return { url, startedHere: false, stop: async () => {} };
  }

  const runAs = asRoot ? await postgresOsUser() : undefined;
  const databaseDir = credentials.databaseDir ?? newDatabaseDir(root, runAs, options.systemDir, log);
  if (databaseDir !== join(root, 'postgres') && credentials.databaseDir !== databaseDir) {
    credentials.databaseDir = databaseDir;
    await writeCredentials();
  }
  if (runAs) {
    const blocking = foldersBlocking(databaseDir, runAs);
    if (blocking.length > 0) {
      // Data already there (it worked before the folder was closed): moving it silently would
      // surprise whoever backs it up, so say what to open instead.
      throw new Error(
        `Embedded Postgres keeps its data in ${databaseDir}, and Gatehouse does not move existing data. ${howToOpen(blocking, runAs)} ` +
          'Or set DATABASE_URL to use your own Postgres.',
      );
    }
    if (!existsSync(dirname(databaseDir))) await makeSystemDir(dirname(databaseDir));
  }
  const binaries = await postgresBinaries({ user: runAs, systemDir: options.systemDir, log });
  const cluster = {
    binaries,
    databaseDir,
    runAs,
    onLog: (message: string) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
  };

  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    log.info({ dataDir: databaseDir }, 'creating embedded Postgres (first run only)');
    try {
      await initialiseCluster({ ...cluster, user: credentials.user, password: credentials.password, authMethod: 'scram-sha-256' });
    } catch (error) {
      throw new Error(
        `Could not create embedded Postgres in ${databaseDir}: ${(error as Error).message}. Set DATABASE_URL to use your own Postgres.`,
        { cause: error },
      );
    }
  }
  log.info({ dataDir: databaseDir, port: credentials.port }, 'starting embedded Postgres');
  let server: RunningCluster;
  try {
    server = await startCluster({ ...cluster, port: credentials.port });
  } catch (error) {
    // Another process may have won a race to start the same data directory; use its server.
    for (let i = 0; i < 20; i++) {
      if (await canConnect(url)) return { url, startedHere: false, stop: async () => {} };
      await sleep(250);
    }
    throw new Error(
      `Could not start embedded Postgres on port ${credentials.port} with data in ${databaseDir}: ${(error as Error).message}. ` +
        'If another program uses that port, set EMBEDDED_PG_PORT; or set DATABASE_URL to use your own Postgres.',
      { cause: error },
    );
  }
  const unhook = killOnExit(server.child);
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
 * deleted on stop. As root, when the postgres OS user cannot enter the folder holding
 * `databaseDir`, the data goes to a new folder under /tmp instead (also deleted on stop).
 */
export async function startThrowawayPostgres(options: { databaseDir: string; port: number; systemDir?: string }): Promise<{
  url: string;
  stop(): Promise<void>;
}> {
  const runAs = process.getuid?.() === 0 ? await postgresOsUser() : undefined;
  let databaseDir = resolve(options.databaseDir);
  let ownFolder: string | undefined;
  if (runAs && foldersBlocking(dirname(databaseDir), runAs).length > 0) {
    ownFolder = await mkdtemp(join(SHARED_TMP_DIR, 'gatehouse-pg-'));
    await chmod(ownFolder, 0o755);
    databaseDir = join(ownFolder, 'data');
  }
  const password = randomBytes(12).toString('hex');
  const cluster = {
    binaries: await postgresBinaries({ user: runAs, systemDir: options.systemDir ?? DEFAULT_SYSTEM_DIR }),
    databaseDir,
    runAs,
    onLog: () => {},
  };
  const removeData = async () => {
    await rm(databaseDir, { recursive: true, force: true });
    if (ownFolder) await rm(ownFolder, { recursive: true, force: true });
  };
  let server: RunningCluster;
  try {
    await initialiseCluster({ ...cluster, user: 'postgres', password, authMethod: 'password' });
    server = await startCluster({
      ...cluster,
      port: options.port,
      // Tests create a database per file and run files in parallel: allow plenty of connections,
      // and trade durability for speed, which a throwaway server does not need.
      flags: ['-c', 'max_connections=300', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    });
  } catch (error) {
    await removeData();
    throw error;
  }
  const unhook = killOnExit(server.child);
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${options.port}/postgres`,
    stop: async () => {
      await server.stop();
      unhook();
      await removeData();
    },
  };
}
