import { resolveDatabase } from '../app.js';
import { setAuditKey } from '../audit/audit-key.js';
import { loadConfig } from '../config.js';
import { createDatabase, type DatabaseHandle } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { createLogger } from '../log.js';

/**
 * The database for a CLI command: DATABASE_URL, or the embedded server (shared with a running
 * `serve`, or started for the command). Migrated, so a command works on a fresh machine.
 */
export async function openDatabase(): Promise<{ handle: DatabaseHandle; url: string; close(): Promise<void> }> {
  const config = loadConfig();
  // Commands that record or verify audit rows sign and check them with the same key as serve.
  setAuditKey(config.auditKey);
  // Logs go to stderr so stdout carries only the command's output (JSON stays parseable).
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const postgres = await resolveDatabase(config, log);
  const handle = createDatabase(postgres.url, { max: 4, applicationName: 'gatehouse-cli' });
  try {
    await migrateToLatest(handle.db);
  } catch (error) {
    await handle.destroy();
    await postgres.stop();
    throw error;
  }
  return {
    handle,
    url: postgres.url,
    async close() {
      await handle.destroy();
      await postgres.stop();
    },
  };
}
