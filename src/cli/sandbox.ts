import { AdapterError, type Adapter } from '../../adapters/types.js';
import { loadConfig, SYSTEM_NAMES, type SystemName } from '../config.js';
import { createAdapterRegistry } from '../orchestrator/adapter-registry.js';
import { systemOf } from '../plan/operation-graph.js';
import { parseEntitlement } from '../policy/index.js';
import { CliError, EXIT } from './exit.js';
import { openDatabase } from './open-database.js';

/**
 * `gatehouse sandbox grant|revoke EMAIL ENTITLEMENT`: changes a sandboxed system behind
 * Gatehouse's back, as an admin clicking in that system would: for demos and drift drills.
 * Granting `<system>:account` makes (or re-enables) the account; revoking it suspends it.
 * Everything is checked before the database is opened, so bad input changes nothing.
 */
export async function sandboxCommand(action: 'grant' | 'revoke', email: string, entitlement: string): Promise<void> {
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new CliError(`"${email}" is not an email address; the command is: gatehouse sandbox ${action} EMAIL ENTITLEMENT`, EXIT.usage);
  // The policy grammar knows every system, with "did you mean" for typos.
  const parsed = parseEntitlement(entitlement);
  if (!parsed.ok) throw new CliError(`cannot ${action} ${parsed.message}`, EXIT.failed);
  const config = loadConfig();
  const system = systemOf(parsed.value.uri);
  const family = system.split(':')[0] as SystemName;
  if (!SYSTEM_NAMES.includes(family)) throw new CliError(`"${entitlement}" names no system Gatehouse manages`, EXIT.failed);
  const mode = config.systems[family];
  if (mode === 'live') {
    throw new CliError(
      family === 'manual'
        ? `${entitlement} is a manual task: a person does it and marks it done; there is no sandboxed system to change`
        : `${system} is live, not sandboxed: Gatehouse manages the real ${system}, so make this change in ${system} itself (or unset ${family}'s credentials to sandbox it)`,
      EXIT.failed,
    );
  }
  if (mode === 'disabled') throw new CliError(`${system} is not managed here (SYSTEMS leaves it out), so it has no sandbox to change`, EXIT.failed);

  const database = await openDatabase();
  try {
    const registry = createAdapterRegistry(config, { sql: database.handle.pool });
    let adapter: Adapter;
    try {
      adapter = registry.get(system);
      // The sandbox refuses what the real system would (a level GitHub does not have).
      adapter.parseEntitlement(parsed.value.uri);
    } catch (error) {
      throw new CliError(`cannot ${action}: ${(error as Error).message}`, EXIT.failed);
    }
    // An admin works on the person's existing account; with none, granting makes one, as an
    // invitation would. The sandbox knows people by email alone here.
    const person = { employeeId: `sandbox:${email.toLowerCase()}`, email };
    const isAccount = parsed.value.type === 'account';
    const account = await adapter.findAccount(person);
    let outcome: string;
    if (action === 'grant') {
      const held = account && account.status !== 'suspended' ? account : (await adapter.ensureAccount(person)).account;
      outcome = isAccount ? (account && account.status !== 'suspended' ? 'already_present' : 'applied') : (await adapter.grant(held, parsed.value.uri)).outcome;
    } else if (!account) {
      console.log(`${email} has no ${system} account: nothing to revoke`);
      return;
    } else outcome = isAccount ? (await adapter.suspendAccount(account)).outcome : (await adapter.revoke(account, parsed.value.uri)).outcome;
    console.log(`${action} ${parsed.value.uri} for ${email} in sandboxed ${system}: ${outcome.replace('_', ' ')}`);
  } catch (error) {
    if (error instanceof AdapterError) throw new CliError(`sandboxed ${system} refused to ${action} ${entitlement} for ${email}: ${error.message}`, EXIT.failed);
    throw error;
  } finally {
    await database.close();
  }
}
