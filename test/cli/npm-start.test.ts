import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { start } from '../helpers/process.js';

/**
 * The Quick start command. npm runs the start script through `sh -c`; without `exec` the shell
 * would swallow npm's SIGTERM and orphan the server (a regression seen while building this).
 */
describe('npm start', () => {
  it('passes SIGTERM through to the server, which exits 0', async () => {
    const database = await createTestDatabase();
    const npm = start('npm', ['start', '--silent'], { DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1' });
    try {
      const [, url] = await npm.waitFor(/Gatehouse listening on (http:\/\/\S+) /, 60_000);
      expect((await fetch(`${url!.replace('localhost', '127.0.0.1')}/healthz`)).status).toBe(200);
      npm.child.kill('SIGTERM');
      const { code } = await npm.exited;
      expect(code).toBe(0);
      await npm.waitFor(/"msg":"stopped"/, 10_000);
    } finally {
      npm.child.kill('SIGKILL');
    }
  }, 90_000);
});
