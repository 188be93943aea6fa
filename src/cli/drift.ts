import { loadConfig, policiesDirFromEnv } from '../config.js';
import { scanAll } from '../drift/scan.js';
import { createLogger } from '../log.js';
import { createAdapterRegistry } from '../orchestrator/adapter-registry.js';
import { startQueue } from '../orchestrator/queue.js';
import { buildPolicySet, formatPolicyError, loadPolicies } from '../policy/index.js';
import { CliError, EXIT } from './exit.js';
import { openDatabase } from './open-database.js';

/**
 * `gatehouse drift [--system S] [--format json]`: a drift scan now. Missing access is granted
 * again and extra access handled as its policy says, by the workers of a running `serve`; the
 * alert goes to DRIFT_CHANNEL the same way. JSON (ARCHITECTURE.md → CLI):
 * `{"items":[{"class","email","entitlement","action"}]}`.
 */
export async function driftCommand(options: { system?: string; format: string }): Promise<void> {
  if (options.format !== 'table' && options.format !== 'json') throw new CliError(`--format must be table or json, not "${options.format}"`, EXIT.usage);
  const loaded = await loadPolicies(policiesDirFromEnv());
  if (loaded.errors.length > 0) throw new CliError(`the policies have ${loaded.errors.length} error(s):\n${loaded.errors.map(formatPolicyError).join('\n')}`, EXIT.failed);
  const database = await openDatabase();
  const boss = await startQueue(database.url, createLogger('warn', process.stderr), { schedule: false });
  try {
    const adapters = createAdapterRegistry(loadConfig(), { sql: database.handle.pool });
    if (options.system && !adapters.systems().includes(options.system)) throw new CliError(`"${options.system}" is not a managed system; managed: ${adapters.systems().join(', ')}`, EXIT.usage);
    const results = await scanAll({ db: database.handle.db, boss, adapters, policies: buildPolicySet(loaded) }, options.system ? [options.system] : undefined);
    const items = results.flatMap((r) => r.items.map((i) => ({ class: i.class, email: i.email, entitlement: i.entitlement, action: i.action, system: i.system, account_id: i.accountId, ...(i.expected ? { expected: i.expected } : {}) })));
    if (options.format === 'json') {
      console.log(JSON.stringify({ items }, null, 2));
      return;
    }
    for (const r of results) {
      console.log(r.skipped ? `${r.system}: skipped (${r.skipped})` : `${r.system}: ${r.memberships} memberships, ${r.accounts} accounts read; ${r.items.length} item(s)`);
      for (const i of r.items) console.log(`  ${i.class.padEnd(7)} ${i.action.padEnd(9)} ${i.entitlement}  ${i.email ?? i.accountId}${i.expected ? `  (policy: ${i.expected})` : ''}`);
    }
  } finally {
    await boss.stop({ graceful: false });
    await database.close();
  }
}
