import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Kysely } from 'kysely';
import { type Migration, type MigrationProvider, type MigrationResultSet, Migrator } from 'kysely/migration';

const here = dirname(fileURLToPath(import.meta.url));
/** `migrations/` beside `src/`, both in the source tree and in `dist/`. */
export const MIGRATIONS_DIR = join(here, '..', '..', 'migrations');
const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.(ts|js)$/;

/** Loads every `NNNN_name` file in `migrations/`; kysely runs them in name order. */
class FolderMigrationProvider implements MigrationProvider {
  private readonly folder: string;
  constructor(folder: string) {
    this.folder = folder;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.folder))
      .filter((f) => MIGRATION_FILE.test(f) && f.endsWith(extension))
      .sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const module = (await import(pathToFileURL(join(this.folder, file)).href)) as Migration;
      if (typeof module.up !== 'function') throw new Error(`migration ${file} does not export up()`);
      migrations[file.slice(0, -extension.length)] = module;
    }
    return migrations;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on any schema; migrations are untyped by design
export function createMigrator(db: Kysely<any>, folder = MIGRATIONS_DIR): Migrator {
  // Unordered: migrations written on parallel branches may land with a lower number than one a
  // database already ran; they still run (once), instead of refusing to start.
  return new Migrator({ db, provider: new FolderMigrationProvider(folder), allowUnorderedMigrations: true });
}

export class MigrationError extends Error {
  readonly results: MigrationResultSet['results'];
  constructor(message: string, results: MigrationResultSet['results'], options?: ErrorOptions) {
    super(message, options);
    this.results = results;
    this.name = 'MigrationError';
  }
}

function settle(set: MigrationResultSet, verb: string): string[] {
  if (set.error) {
    const failed = set.results?.find((r) => r.status === 'Error');
    const cause = set.error instanceof Error ? set.error.message : String(set.error);
    throw new MigrationError(
      `${verb} failed${failed ? ` at ${failed.migrationName}` : ''}: ${cause}. Nothing after it ran; fix it and run \`gatehouse migrate\` again.`,
      set.results,
      { cause: set.error },
    );
  }
  return (set.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Applies every pending migration; returns the names applied (empty when up to date). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see createMigrator
export async function migrateToLatest(db: Kysely<any>, folder?: string): Promise<string[]> {
  return settle(await createMigrator(db, folder).migrateToLatest(), 'migration');
}

/** Rolls back the most recent migration; returns its name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see createMigrator
export async function migrateDown(db: Kysely<any>, folder?: string): Promise<string[]> {
  return settle(await createMigrator(db, folder).migrateDown(), 'rollback');
}
