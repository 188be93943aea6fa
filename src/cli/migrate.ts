import { resolveDatabase } from '../app.js';
import { loadConfig } from '../config.js';
import { createDatabase } from '../db/database.js';
import { migrateDown, migrateToLatest } from '../db/migrate.js';
import { databaseRolesSql } from '../db/roles-sql.js';
import { CliError, EXIT } from './exit.js';
import { createLogger } from '../log.js';

export async function migrate(options: { down?: boolean; printRoles?: boolean; ownerRole: string; appRole: string }): Promise<void> {
  if (options.printRoles) {
    // Only prints: creating roles needs a superuser, which Gatehouse itself never connects as.
    try {
      process.stdout.write(databaseRolesSql({ ownerRole: options.ownerRole, appRole: options.appRole }));
    } catch (error) {
      throw new CliError((error as Error).message, EXIT.usage);
    }
    return;
  }
  const config = loadConfig();
  // Logs go to stderr so stdout carries only the command's result.
  const log = createLogger(config.logLevel, process.stderr);
  const postgres = await resolveDatabase(config, log);
  const database = createDatabase(postgres.url, { max: 2, applicationName: 'gatehouse-migrate' });
  try {
    if (options.down) {
      const [name] = await migrateDown(database.db);
      console.log(name ? `rolled back ${name}` : 'nothing to roll back');
    } else {
      const applied = await migrateToLatest(database.db);
      console.log(applied.length > 0 ? `applied ${applied.join(', ')}` : 'database is up to date');
    }
  } finally {
    await database.destroy();
    await postgres.stop();
  }
}
