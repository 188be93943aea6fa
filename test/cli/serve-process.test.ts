import { connect, createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../global-setup.js';
import { createTestDatabase } from '../helpers/database.js';
import { dockerfileInstruction, run, start } from '../helpers/process.js';

/**
 * Runs the very command the Dockerfile's CMD runs (docker itself is not available here), as a
 * real process, and checks the start-up line, /healthz, the Dockerfile's HEALTHCHECK command and
 * a clean exit on SIGTERM.
 */
describe('the container entry command', () => {
  it('starts, answers /healthz, passes the HEALTHCHECK, and exits 0 within 10 s of SIGTERM', async () => {
    const [command, ...args] = dockerfileInstruction('CMD');
    expect([command, ...args]).toEqual(['node', 'bin/gatehouse.js', 'serve']);
    const database = await createTestDatabase();
    const env = { DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
    const server = start(command!, args, env);
    try {
      const [, url, sandboxed] = await server.waitFor(
        /Gatehouse listening on (http:\/\/\S+) — .*sandboxed: ([^;]+);/,
      );
      expect(sandboxed).toContain('okta');
      const res = await fetch(`${url!.replace('localhost', '127.0.0.1')}/healthz`);
      expect(res.status).toBe(200);

      const [hcCommand, ...hcArgs] = dockerfileInstruction('HEALTHCHECK');
      const port = new URL(url!).port;
      expect((await run(hcCommand!, hcArgs, { PORT: port })).code).toBe(0);

      const stoppedAt = Date.now();
      server.child.kill('SIGTERM');
      const { code } = await server.exited;
      expect(Date.now() - stoppedAt).toBeLessThan(10_000);
      expect(code).toBe(0);
      expect(server.output()).toMatch(/"msg":"stopped"/);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('starting while the database is away: keeps trying (DATABASE_WAIT), and is up once it answers', async () => {
    const database = await createTestDatabase();
    const target = new URL(database.url);
    // A port where "the database" is not listening yet; later, a proxy to the real one.
    const port = await freePort();
    const via = new URL(database.url);
    via.hostname = '127.0.0.1';
    via.port = String(port);
    const server = start('node', ['bin/gatehouse.js', 'serve'], { DATABASE_URL: via.toString(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATABASE_WAIT: '60s' });
    let proxy: Server | undefined;
    try {
      await server.waitFor(/the database is unreachable while starting \(.*\); trying again in/);
      await server.waitFor(/"attempt":2/);
      proxy = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname);
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      await new Promise<void>((resolve) => proxy!.listen(port, '127.0.0.1', resolve));
      const [, url] = await server.waitFor(/Gatehouse listening on (http:\/\/\S+) /, 60_000);
      expect((await fetch(`${url!.replace('localhost', '127.0.0.1')}/readyz`)).status).toBe(200);
      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
      proxy?.close();
    }
  }, 90_000);

  it('with DATABASE_WAIT=0s an unreachable database ends start-up at once: exit 1, saying why', async () => {
    const port = await freePort();
    const { code, output } = await run('node', ['bin/gatehouse.js', 'serve'], { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/x`, PORT: '0', DATABASE_WAIT: '0s' });
    expect(code).toBe(1);
    expect(output).toMatch(/ECONNREFUSED|connect/);
    expect(output).not.toMatch(/trying again/);
  });

  it('fails the HEALTHCHECK when nothing answers', async () => {
    const [hcCommand, ...hcArgs] = dockerfileInstruction('HEALTHCHECK');
    expect((await run(hcCommand!, hcArgs, { PORT: '9' })).code).toBe(1);
  });

  it('refuses to start in production without the secrets, naming each, and exits 1', async () => {
    const { code, output } = await run('node', ['bin/gatehouse.js', 'serve'], {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://127.0.0.1:1/x',
    });
    expect(code).toBe(1);
    for (const name of ['SLACK_SIGNING_SECRET', 'HRIS_WEBHOOK_SECRET', 'SCIM_TOKEN', 'ALLOW_SANDBOX'])
      expect(output).toContain(name);
    expect(output).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  });

  it('answers an unknown command with usage help and exit code 2', async () => {
    const { code, output } = await run('node', ['bin/gatehouse.js', 'frobnicate'], {});
    expect(code).toBe(2);
    expect(output).toMatch(/unknown command/);
  });
});
