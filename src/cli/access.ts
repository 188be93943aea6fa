import { sql } from 'kysely';
import { CliError, EXIT } from './exit.js';
import { openDatabase } from './open-database.js';

/**
 * `gatehouse access EMAIL [--format json]`: a person's grants as Gatehouse recorded them
 * (ARCHITECTURE.md → CLI): entitlement, source, status and expiry.
 */
export async function accessCommand(email: string, options: { format: string }): Promise<void> {
  if (options.format !== 'table' && options.format !== 'json') throw new CliError(`--format must be table or json, not "${options.format}"`, EXIT.usage);
  const database = await openDatabase();
  try {
    const db = database.handle.db;
    const person = await db.selectFrom('people').select(['id', 'email', 'status']).where(sql`lower(email)`, '=', email.toLowerCase()).orderBy('updated_at', 'desc').executeTakeFirst();
    if (!person) throw new CliError(`no person with email ${email}`, EXIT.failed);
    const grants = await db.selectFrom('grants').select(['entitlement', 'source', 'status', 'expires_at']).where('person_id', '=', person.id).orderBy('entitlement').execute();
    const rows = grants.map((g) => ({ entitlement: g.entitlement, source: g.source ?? 'policy:unknown', status: g.status, expires_at: g.expires_at ? g.expires_at.toISOString() : null }));
    if (options.format === 'json') {
      console.log(JSON.stringify({ email: person.email, status: person.status, grants: rows }, null, 2));
      return;
    }
    console.log(`${person.email} (${person.status})`);
    if (rows.length === 0) console.log('  no grants');
    const width = Math.max(11, ...rows.map((r) => r.entitlement.length));
    for (const r of rows) console.log(`  ${r.entitlement.padEnd(width)}  ${r.status.padEnd(9)}  ${r.source}${r.expires_at ? `  until ${r.expires_at.slice(0, 16).replace('T', ' ')}` : ''}`);
  } finally {
    await database.close();
  }
}
