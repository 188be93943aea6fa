import { describe, expect, it } from 'vitest';
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
