import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import { canonicalJson } from '../canonical-json.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { startQueue } from '../orchestrator/queue.js';
import { applyPersonChange } from '../people/apply-change.js';
import { PeopleFileError, readPeopleFile } from '../people/people-file.js';
import type { PersonRecord } from '../people/person-record.js';
import { CliError, EXIT } from './exit.js';
import { openDatabase } from './open-database.js';

type Kind = 'hire' | 'update' | 'termination';

/**
 * `gatehouse import FILE [--full] [--dry-run]`: the nightly-export pattern. The file is compared
 * with the person store and each difference becomes an event through the same path as the
 * webhook. Event ids derive from the file's content, so importing the same file twice changes
 * nothing; people missing from the file are terminated only with --full (a partial export must
 * not fire everyone it left out).
 */
export async function importCommand(file: string, options: { full?: boolean; dryRun?: boolean }): Promise<void> {
  let records: PersonRecord[];
  let content: Buffer;
  try {
    content = await readFile(file);
    const parsed = await readPeopleFile(file);
    if (parsed.errors.length > 0) {
      const lines = parsed.errors.map((e) => `${file}: row ${e.row}: ${e.path}: ${e.message}`);
      throw new CliError(`${lines.join('\n')}\n${parsed.errors.length} invalid value(s) in ${file}; nothing was imported. Fix them and import again.`, EXIT.failed);
    }
    records = parsed.records;
  } catch (error) {
    if (error instanceof PeopleFileError) throw new CliError(error.message, EXIT.failed);
    if ((error as NodeJS.ErrnoException).code) throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`, EXIT.failed);
    throw error;
  }
  const ids = new Set<string>();
  for (const r of records) {
    if (ids.has(r.employee_id)) throw new CliError(`${file}: employee_id ${r.employee_id} appears more than once; nothing was imported`, EXIT.failed);
    ids.add(r.employee_id);
  }

  const config = loadConfig();
  const database = await openDatabase();
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const boss = options.dryRun ? undefined : await startQueue(database.url, log, { schedule: false });
  try {
    const db = database.handle.db;
    const existing = new Map((await db.selectFrom('people').select(['employee_id', 'status', 'data']).execute()).map((p) => [p.employee_id, p]));
    const plan: { kind: Kind; record: PersonRecord }[] = [];
    let unchanged = 0;
    for (const record of records) {
      const current = existing.get(record.employee_id);
      if (!current) plan.push({ kind: record.status === 'terminated' ? 'termination' : 'hire', record });
      else if (canonicalJson(current.data) === canonicalJson(record)) unchanged++;
      else plan.push({ kind: record.status === 'terminated' && current.status !== 'terminated' ? 'termination' : current.status === 'terminated' && record.status !== 'terminated' ? 'hire' : 'update', record });
    }
    if (options.full) {
      for (const [employeeId, current] of existing) {
        if (!ids.has(employeeId) && current.status !== 'terminated') plan.push({ kind: 'termination', record: { ...(current.data as PersonRecord), status: 'terminated' } });
      }
    }
    const counts = { hire: 0, update: 0, termination: 0 };
    for (const p of plan) counts[p.kind]++;
    const summary = `${records.length} people in ${file}: ${counts.hire} hires, ${counts.update} updates, ${counts.termination} terminations, ${unchanged} unchanged`;
    if (options.dryRun) {
      for (const p of plan) console.log(`${p.kind.padEnd(11)} ${p.record.employee_id} ${p.record.email}`);
      console.log(`${summary} (dry run: nothing applied)`);
      return;
    }

    const digest = createHash('sha256').update(content).digest('hex').slice(0, 16);
    const now = new Date();
    const bar = process.stderr.isTTY ? new SingleBar({ format: 'importing [{bar}] {value}/{total} people', hideCursor: true, stream: process.stderr }) : undefined;
    bar?.start(plan.length, 0);
    let duplicates = 0;
    for (const p of plan) {
      const applied = await db.transaction().execute((trx) =>
        applyPersonChange(
          trx,
          boss!,
          {
            source: 'import',
            eventId: `${digest}:${p.kind}:${p.record.employee_id}`,
            eventType: p.kind === 'hire' ? 'employee.hired' : p.kind === 'termination' ? 'employee.terminated' : 'employee.updated',
            occurredAt: now,
            record: p.record,
            payload: { file, kind: p.kind, record: p.record },
            terminates: p.kind === 'termination',
          },
          { now, joinerLeadTimeMs: config.joinerLeadTimeMs },
        ),
      );
      if (applied.duplicate) duplicates++;
      bar?.increment();
    }
    bar?.stop();
    console.log(`${summary}${duplicates ? ` (${duplicates} already imported)` : ''}`);
  } finally {
    await boss?.stop({ graceful: false });
    await database.close();
  }
}
