import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { run } from '../helpers/process.js';
import { SECRETS } from './harness.js';

/**
 * Threat: a production deployment that silently provisions nothing (a sandbox standing in for a
 * system whose credentials were forgotten), or runs without its secrets. The real command refuses
 * to start, naming what is wrong, before it listens.
 */
describe('security: production mode', () => {
  it('refuses sandboxed adapters and missing secrets, naming them, and exits 1', async () => {
    const database = await createTestDatabase();
    const sandboxed = await run(process.execPath, ['bin/gatehouse.js', 'serve'], { NODE_ENV: 'production', DATABASE_URL: database.url, PORT: '0', ...SECRETS, SYSTEMS: 'okta,github' });
    expect(sandboxed.code).toBe(1);
    expect(sandboxed.output).toContain('ALLOW_SANDBOX');
    expect(sandboxed.output).toContain('okta, github');
    const unsigned = await run(process.execPath, ['bin/gatehouse.js', 'serve'], { NODE_ENV: 'production', DATABASE_URL: database.url, PORT: '0', ALLOW_SANDBOX: 'true', SYSTEMS: 'okta' });
    expect(unsigned.code).toBe(1);
    for (const variable of ['SLACK_SIGNING_SECRET', 'HRIS_WEBHOOK_SECRET', 'SCIM_TOKEN']) expect(unsigned.output).toContain(variable);
    expect(unsigned.output).not.toMatch(/listening|http:\/\//);
  });
});
