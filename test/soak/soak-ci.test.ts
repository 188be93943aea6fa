import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ROOT, run } from '../helpers/process.js';

/**
 * The fault-injection soak (bench/soak.ts, `npm run soak`) in a small profile: two serves on one
 * database, sandbox faults, 3 SIGKILLs, one loss of every database connection, a short credential
 * outage, `/access` requests approved and denied through Slack and expiring a minute later; then
 * every end-state check must pass. Runs the built dist/bench/soak.js (pretest builds).
 */
describe('soak (small profile)', () => {
  it('converges under kills, a database outage and vendor faults, and every check passes', async () => {
    const { code, output } = await run(process.execPath, [join(ROOT, 'dist', 'bench', 'soak.js')], {
      // The suite's Postgres server: the soak makes its own database on it and drops it after.
      TEST_DATABASE_URL: inject('adminDatabaseUrl'),
      SOAK_PEOPLE: '40',
      SOAK_EVENTS: '150',
      SOAK_KILLS: '3',
      SOAK_SECONDS: '30',
      SOAK_REQUESTS: '16',
      SOAK_DRAIN_SECONDS: '180',
      SOAK_SEED: '1',
    });
    const summary = output.slice(output.indexOf('==== soak summary'));
    expect(summary, output).toMatch(/^SOAK RESULT: PASS \(13\/13 checks\)/m);
    expect(code, output).toBe(0);
  }, 360_000);
});
