import { loadConfig } from '../config.js';
import { createAdapterRegistry } from '../orchestrator/adapter-registry.js';
import { systemOf } from '../plan/operation-graph.js';
import { CliError, EXIT } from './exit.js';
import { openDatabase } from './open-database.js';

/**
 * `gatehouse sandbox grant|revoke EMAIL ENTITLEMENT`: changes a sandboxed system behind
 * Gatehouse's back, as an admin clicking in that system would: for demos and drift drills.
 */
export async function sandboxCommand(action: 'grant' | 'revoke', email: string, entitlement: string): Promise<void> {
  const config = loadConfig();
  const system = systemOf(entitlement);
  if (config.systems[system.split(':')[0] as keyof typeof config.systems] === 'live') {
    throw new CliError(`${system} is live, not sandboxed: change it in ${system} itself`, EXIT.failed);
  }
  const database = await openDatabase();
  try {
    const registry = createAdapterRegistry(config, { sql: database.handle.pool });
    let adapter: ReturnType<typeof registry.get>;
    try {
      adapter = registry.get(system);
      adapter.validateEntitlement(entitlement);
    } catch (error) {
      throw new CliError((error as Error).message, EXIT.failed);
    }
    // An admin works on an existing account; with none, the grant creates it, as inviting would.
    const person = { employeeId: `sandbox:${email.toLowerCase()}`, email };
    const account = (await adapter.findAccount(person)) ?? (action === 'grant' ? (await adapter.ensureAccount(person)).account : null);
    if (!account) {
      console.log(`${email} has no ${system} account: nothing to revoke`);
      return;
    }
    const result = action === 'grant' ? await adapter.grant(account, entitlement) : await adapter.revoke(account, entitlement);
    console.log(`${action} ${entitlement} for ${email} in sandboxed ${system}: ${result.outcome.replace('_', ' ')}`);
  } finally {
    await database.close();
  }
}
