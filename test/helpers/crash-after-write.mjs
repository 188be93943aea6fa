// Runs one operation the way a worker does, and SIGKILLs this process right after the vendor
// write lands and before Gatehouse records it: the worst moment for a crash. Uses the built code
// (dist/), as `serve` does. Usage: node crash-after-write.mjs (env DATABASE_URL, OPERATION_ID, POLICIES_DIR)
import { createSandboxAdapter } from '../../dist/adapters/sandbox/index.js';
import { loadConfig } from '../../dist/src/config.js';
import { createDatabase } from '../../dist/src/db/database.js';
import { createLogger } from '../../dist/src/log.js';
import { createAdapterRegistry } from '../../dist/src/orchestrator/adapter-registry.js';
import { executeOperation } from '../../dist/src/orchestrator/execute-operation.js';
import { startQueue } from '../../dist/src/orchestrator/queue.js';
import { TokenBucket } from '../../dist/src/orchestrator/token-bucket.js';

const config = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, SYSTEMS: 'jira', POLICIES_DIR: process.env.POLICIES_DIR });
const database = createDatabase(process.env.DATABASE_URL);
const boss = await startQueue(process.env.DATABASE_URL, createLogger('silent'), { schedule: false });
const registry = createAdapterRegistry(config, { sql: database.pool });
const jira = createSandboxAdapter({ system: 'jira', sql: database.pool });
const crashing = {
  ...jira,
  async grant(account, entitlement, options) {
    await jira.grant(account, entitlement, options);
    process.stdout.write('written\n');
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => {});
  },
};
await executeOperation({ db: database.db, boss, adapters: { ...registry, get: (s) => (s === 'jira' ? crashing : registry.get(s)) }, bucket: new TokenBucket(database.db) }, Number(process.env.OPERATION_ID));
process.stdout.write('finished without crashing\n');
process.exit(1);
