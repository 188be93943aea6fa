import { readFile } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import { loadConfig } from '../config.js';
import { checkImport, contentDigest, ImportRejected, importPeople, type MissingLimit } from '../intake/import-people.js';
import { createLogger } from '../log.js';
import { startQueue } from '../orchestrator/queue.js';
import { PeopleFileError, readPeopleFile } from '../people/people-file.js';
import type { PersonRecord } from '../people/person-record.js';
import { CliError, EXIT } from './exit.js';
import { openDatabase } from './open-database.js';

/**
 * `gatehouse import FILE [--full [--max-terminations N|P%] [--allow-mass-termination]] [--dry-run]`
 * (ARCHITECTURE.md → CLI): reads the export, refuses it whole if any row is invalid (exit 1, naming
 * each) or if --full would terminate more people missing from it than the limit (exit 1), then
 * applies the differences with a progress bar on stderr (only on a terminal) and prints a summary.
 */
export async function importCommand(file: string, options: { full?: boolean; dryRun?: boolean; maxTerminations?: string; allowMassTermination?: boolean }): Promise<void> {
  const missingLimit = parseMissingLimit(options);
  let records: PersonRecord[];
  let digest: string;
  try {
    // Validated before the database is opened, so a bad file fails fast even when it is down.
    records = checkImport(await readPeopleFile(file), file);
    digest = contentDigest(await readFile(file));
  } catch (error) {
    if (error instanceof ImportRejected) throw new CliError(error.message, EXIT.failed);
    if (error instanceof PeopleFileError) throw new CliError(`${error.message}; nothing was imported`, EXIT.failed);
    if ((error as NodeJS.ErrnoException).code) throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`, EXIT.failed);
    throw error;
  }

  const config = loadConfig();
  const database = await openDatabase();
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const boss = options.dryRun ? undefined : await startQueue(database.url, log, { schedule: false });
  const bar = process.stderr.isTTY && !options.dryRun ? new SingleBar({ format: 'importing [{bar}] {value}/{total} people', hideCursor: true, stream: process.stderr }) : undefined;
  try {
    const summary = await importPeople(database.handle.db, boss, { records, name: file, digest }, {
      full: options.full,
      missingLimit,
      dryRun: options.dryRun,
      joinerLeadTimeMs: config.joinerLeadTimeMs,
      timeZones: config.timeZones,
      onProgress: (done, total) => (done === 0 ? bar?.start(total, 0) : bar?.update(done)),
    });
    bar?.stop();
    const { hire, update, termination } = summary.counts;
    const line = `${summary.total} people in ${file}: ${hire} hires, ${update} updates, ${termination} terminations, ${summary.unchanged} unchanged`;
    if (options.dryRun) {
      for (const p of summary.plan) console.log(`${p.kind.padEnd(11)} ${p.record.employee_id} ${p.record.email}`);
      console.log(`${line} (dry run: nothing applied)`);
    } else {
      console.log(`${line}${summary.duplicates ? ` (${summary.duplicates} already imported)` : ''}`);
    }
  } catch (error) {
    // The --full limit: refused before anything was applied.
    if (error instanceof ImportRejected) throw new CliError(error.message, EXIT.failed);
    throw error;
  } finally {
    bar?.stop();
    await boss?.stop({ graceful: false });
    await database.close();
  }
}

/** --max-terminations as a count (`25`) or a share (`10%`); --allow-mass-termination lifts it. */
function parseMissingLimit(options: { maxTerminations?: string; allowMassTermination?: boolean }): MissingLimit {
  if (options.allowMassTermination) return null;
  const raw = options.maxTerminations ?? '10%';
  const match = /^(\d{1,9})(%?)$/.exec(raw.trim());
  if (!match || (match[2] && Number(match[1]) > 100)) throw new CliError(`--max-terminations must be a number of people (25) or a share of the active people up to 100% (10%), not ${JSON.stringify(raw)}`, EXIT.usage);
  return match[2] ? { percent: Number(match[1]) } : { count: Number(match[1]) };
}
