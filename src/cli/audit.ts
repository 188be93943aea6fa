import { verifyAudit } from '../audit/verify-audit.js';
import { CliError, EXIT } from './exit.js';
import { openDatabase } from './open-database.js';

/** `gatehouse audit verify`: recompute the hash chain; exit 1 at the first broken row. */
export async function auditVerify(options: { format?: string }): Promise<void> {
  const database = await openDatabase();
  try {
    const result = await verifyAudit(database.handle.db);
    if (options.format === 'json') console.log(JSON.stringify(result));
    else if (result.ok) console.log(`audit log verified: ${result.rows} rows, chain intact (last hash ${result.lastHash.slice(0, 16)}…)`);
    if (!result.ok) {
      if (options.format === 'json') throw new CliError('', EXIT.failed);
      throw new CliError(`audit log BROKEN at row ${result.brokenAt}: ${result.reason} (${result.rows} rows before it verified)`, EXIT.failed);
    }
  } finally {
    await database.close();
  }
}
