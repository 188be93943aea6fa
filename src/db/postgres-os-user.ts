import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The OS user embedded Postgres runs as when Gatehouse runs as root: Postgres refuses to run as
 * root. Node starts it with this uid and primary gid only (libuv drops supplementary groups when
 * it switches user), so what it may enter is decided by those two and the "other" bits.
 */
export interface PostgresOsUser {
  name: string;
  uid: number;
  gid: number;
}

const NAME = 'postgres';

async function lookUp(): Promise<PostgresOsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', NAME]), run('id', ['-g', NAME])]);
    return { name: NAME, uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    return undefined;
  }
}

/** The `postgres` OS user, created (as a system user with its own group) on first use. */
export async function postgresOsUser(): Promise<PostgresOsUser> {
  const found = await lookUp();
  if (found) return found;
  try {
    // The group may exist without the user (a removed package); `useradd -g` then joins it.
    const groupExists = await run('getent', ['group', NAME]).then(
      () => true,
      () => false,
    );
    if (!groupExists) await run('groupadd', ['--system', NAME]);
    await run('useradd', ['--system', '-g', NAME, NAME]);
  } catch (error) {
    throw new Error(
      `Running as root, embedded Postgres runs as the OS user ${NAME} (Postgres refuses root), and creating that user failed. ` +
        `Create it yourself (useradd --system --user-group ${NAME}), or set DATABASE_URL to use your own Postgres.`,
      { cause: error },
    );
  }
  const created = await lookUp();
  if (!created) throw new Error(`Created the OS user ${NAME}, but \`id -u ${NAME}\` still does not find it.`);
  return created;
}

function mayEnter(folder: string, user: PostgresOsUser): boolean {
  const { mode, uid, gid } = statSync(folder);
  if (uid === user.uid) return (mode & 0o100) !== 0;
  if (gid === user.gid) return (mode & 0o010) !== 0;
  return (mode & 0o001) !== 0;
}

/**
 * The existing folders on the way to `path` (itself included) that `user` may not pass through,
 * outermost first: the folders `chmod o+x` would have to open. Folders that do not exist yet are
 * not judged; whoever creates them chooses their mode.
 */
export function foldersBlocking(path: string, user: PostgresOsUser): string[] {
  const chain: string[] = [];
  for (let folder = resolve(path); ; folder = dirname(folder)) {
    chain.unshift(folder);
    if (dirname(folder) === folder) break;
  }
  return chain.filter((folder) => existsSync(folder) && !mayEnter(folder, user));
}

/** The sentence an error ends with when `blocking` (from foldersBlocking) stops `user`. */
export function howToOpen(blocking: string[], user: PostgresOsUser): string {
  const modes = blocking.map((f) => `${f} (mode ${(statSync(f).mode & 0o777).toString(8).padStart(4, '0')})`);
  return (
    `The OS user ${user.name}, which runs Postgres when Gatehouse runs as root, cannot enter ${modes.join(', ')}. ` +
    `To let it through without letting it list or read what is there, run \`chmod o+x ${blocking.join(' ')}\`.`
  );
}
