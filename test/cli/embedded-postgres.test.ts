import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../global-setup.js';
import { run, start } from '../helpers/process.js';

/** Checked from a separate process: inside the test worker nock's interceptors fake socket connects. */
const portOpen = async (port: number) => {
  const probe = `require('net').connect(${port}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
  return (await run('node', ['-e', probe], {})).code === 0;
};

/**
 * The Quick start path: no DATABASE_URL, so `serve` starts embedded Postgres under the data
 * folder; a second process (the CLI) finds it running and connects instead of starting another.
 */
describe('embedded Postgres (no DATABASE_URL)', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serve starts it, the CLI shares it, and SIGTERM stops both cleanly', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-embedded-'));
    await chmod(dir, 0o755);
    const pgPort = await freePort();
    const env = {
      GATEHOUSE_DATA_DIR: join(dir, '.gatehouse'),
      EMBEDDED_PG_PORT: String(pgPort),
      PORT: '0',
      HOST: '127.0.0.1',
    };

    const server = start('node', ['bin/gatehouse.js', 'serve'], env);
    try {
      const [, url] = await server.waitFor(/Gatehouse listening on (http:\/\/\S+) /, 60_000);
      expect(server.output()).toContain('starting embedded Postgres');
      expect((await fetch(`${url!.replace('localhost', '127.0.0.1')}/readyz`)).status).toBe(200);

      const migrate = await run('node', ['bin/gatehouse.js', 'migrate'], { ...env, LOG_LEVEL: 'info' });
      expect(migrate.code).toBe(0);
      expect(migrate.output).toContain('database is up to date');
      expect(migrate.output).toContain('using the embedded Postgres another Gatehouse process started');
      expect(migrate.output).not.toContain('starting embedded Postgres');
      // The CLI leaves the server it did not start running.
      expect(await portOpen(pgPort)).toBe(true);

      server.child.kill('SIGTERM');
      const { code } = await server.exited;
      expect(code).toBe(0);
      // The process that started the server stopped it.
      expect(await portOpen(pgPort)).toBe(false);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
