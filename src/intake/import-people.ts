import { transact } from '../db/transact.js';
import { createHash } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.js';
import { applyPersonChange } from '../people/apply-change.js';
import type { PeopleFile } from '../people/people-file.js';
import { type PersonRecord, personContent } from '../people/person-record.js';
import type { TimeZoneSettings } from '../policy/index.js';

export type ImportKind = 'hire' | 'update' | 'termination';

export interface ImportItem {
  kind: ImportKind;
  record: PersonRecord;
  /** The stored state this change was planned against (a digest, or `new`); part of its event id. */
  basis: string;
  /** A termination only because `--full` and the file leaves the person out. */
  missing?: boolean;
}

/**
 * How many people `--full` may terminate for being missing from the file: a count, or a share of
 * the active people (rounded down, at least one). `null`: no limit (--allow-mass-termination).
 */
export type MissingLimit = { count: number } | { percent: number } | null;

/** Without --max-terminations: an export missing more than a tenth of the company is more likely cut short than a layoff. */
export const DEFAULT_MISSING_LIMIT: MissingLimit = { percent: 10 };

export interface ImportSummary {
  /** People in the file. */
  total: number;
  counts: Record<ImportKind, number>;
  unchanged: number;
  /** Changes of this file that an earlier run of the same file had already applied. */
  duplicates: number;
  plan: ImportItem[];
}

/** The file cannot be imported; `message` names every bad row. Nothing was applied. */
export class ImportRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportRejected';
  }
}

/** SCIM users without an employeeNumber get a placeholder id no HR export can list. */
const SCIM_PLACEHOLDER = 'scim-';

/**
 * Accepts a parsed export (readPeopleFile / parsePeopleText) only when every row is valid, or
 * refuses the whole file with each invalid row named: a nightly import that applied half a file
 * would be worse than none.
 */
export function checkImport(parsed: PeopleFile, name: string): PersonRecord[] {
  if (parsed.errors.length > 0) {
    const lines = parsed.errors.map((e) => `${name}: row ${e.row}: ${e.path}: ${e.message}`);
    throw new ImportRejected(`${lines.join('\n')}\n${parsed.errors.length} invalid value(s) in ${name}; nothing was imported. Fix them and import again.`);
  }
  if (parsed.records.length === 0) throw new ImportRejected(`${name} lists nobody; nothing was imported`);
  const seen = new Set<string>();
  for (const r of parsed.records) {
    if (seen.has(r.employee_id)) throw new ImportRejected(`${name}: employee_id ${r.employee_id} appears more than once; nothing was imported`);
    seen.add(r.employee_id);
  }
  return parsed.records;
}

/**
 * Compares the export with the store: new people are hires, changed ones updates (a status flip is
 * a hire or a termination), and with `full` every active person the file leaves out is terminated.
 * People only SCIM knows (placeholder ids) are never terminated by a file that cannot list them.
 */
export async function planImport(db: Db, records: PersonRecord[], options: { full?: boolean } = {}): Promise<{ plan: ImportItem[]; unchanged: number }> {
  const existing = new Map((await db.selectFrom('people').select(['employee_id', 'status', 'data', 'updated_at']).execute()).map((p) => [p.employee_id, p]));
  // Event ids name the file and the state each change was planned against: the same file over
  // the same store is a duplicate (two runs at once apply once), but yesterday's file imported
  // again after today's changed someone is a new change, not "already imported".
  // The row's updated_at moves with every applied change, even one that restores older content.
  const basisOf = (current: { updated_at: Date } | undefined) => (current ? current.updated_at.getTime().toString(36) : 'new');
  const plan: ImportItem[] = [];
  let unchanged = 0;
  for (const record of records) {
    const current = existing.get(record.employee_id);
    const basis = basisOf(current);
    if (!current) plan.push({ kind: record.status === 'terminated' ? 'termination' : 'hire', record, basis });
    else if (personContent(current.data) === personContent(record)) unchanged++;
    else if (record.status === 'terminated' && current.status !== 'terminated') plan.push({ kind: 'termination', record, basis });
    else if (record.status !== 'terminated' && current.status === 'terminated') plan.push({ kind: 'hire', record, basis });
    else plan.push({ kind: 'update', record, basis });
  }
  if (options.full) {
    const listed = new Set(records.map((r) => r.employee_id));
    for (const [employeeId, current] of existing) {
      if (listed.has(employeeId) || current.status === 'terminated' || employeeId.startsWith(SCIM_PLACEHOLDER)) continue;
      plan.push({ kind: 'termination', record: { ...(current.data as PersonRecord), status: 'terminated' }, basis: basisOf(current), missing: true });
    }
  }
  return { plan, unchanged };
}

/**
 * Refuses a `--full` plan that would terminate more people for being missing than the limit
 * allows (issue 27): a truncated export (a failed download, a report's page limit) would otherwise
 * terminate most of the company. Checked before anything is applied, so a refusal changes nothing.
 * People terminated by the file itself (status terminated) do not count: the file says so.
 */
export function checkMissingTerminations(plan: ImportItem[], counts: { listed: number; active: number }, limit: MissingLimit, name: string): void {
  if (limit === null) return;
  const missing = plan.filter((p) => p.missing).length;
  const allowed = 'count' in limit ? limit.count : Math.max(1, Math.floor((counts.active * limit.percent) / 100));
  if (missing <= allowed) return;
  const rule = 'count' in limit ? `at most ${limit.count}` : `at most ${limit.percent}%, ${allowed} people`;
  throw new ImportRejected(
    `${name} lists ${counts.listed} people and leaves out ${missing} of ${counts.active} active people: --full would terminate them all, over its limit (${rule}), so the file may be cut short; nothing was imported. ` +
      `If they really left, run again with --allow-mass-termination (or --max-terminations ${missing}); add --dry-run to see who first.`,
  );
}

const EVENT_TYPES: Record<ImportKind, string> = { hire: 'employee.hired', update: 'employee.updated', termination: 'employee.terminated' };

/**
 * `gatehouse import`: the nightly-export pattern. Each difference becomes an event through the same
 * path as the webhook, one transaction per person (with its reconcile job). Importing the same file
 * twice changes nothing: the second run finds no differences, and a run racing the first gets the
 * same event ids, which the store keeps once.
 */
export async function importPeople(
  db: Db,
  boss: PgBoss | undefined,
  input: { records: PersonRecord[]; name: string; /** Identifies the file's content: event ids derive from it. */ digest: string },
  options: { full?: boolean; /** For --full: how many may be terminated for being missing (DEFAULT_MISSING_LIMIT). */ missingLimit?: MissingLimit; dryRun?: boolean; now?: Date; joinerLeadTimeMs?: number; timeZones?: TimeZoneSettings; onProgress?: (done: number, total: number) => void } = {},
): Promise<ImportSummary> {
  const { plan, unchanged } = await planImport(db, input.records, options);
  if (options.full) {
    const active = await db.selectFrom('people').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '<>', 'terminated').where('employee_id', 'not like', `${SCIM_PLACEHOLDER}%`).executeTakeFirstOrThrow();
    checkMissingTerminations(plan, { listed: input.records.length, active: Number(active.n) }, options.missingLimit === undefined ? DEFAULT_MISSING_LIMIT : options.missingLimit, input.name);
  }
  const counts: Record<ImportKind, number> = { hire: 0, update: 0, termination: 0 };
  for (const p of plan) counts[p.kind]++;
  const summary: ImportSummary = { total: input.records.length, counts, unchanged, duplicates: 0, plan };
  if (options.dryRun) return summary;
  if (!boss) throw new Error('importPeople needs the queue unless dryRun is set');

  const now = options.now ?? new Date();
  options.onProgress?.(0, plan.length);
  for (const [i, p] of plan.entries()) {
    const applied = await transact(db, (trx) =>
      applyPersonChange(
        trx,
        boss,
        {
          source: 'import',
          eventId: `${input.digest}:${p.basis}:${p.kind}:${p.record.employee_id}`,
          eventType: EVENT_TYPES[p.kind],
          occurredAt: now,
          record: p.record,
          payload: { file: input.name, kind: p.kind, record: p.record },
          terminates: p.kind === 'termination',
        },
        { now, joinerLeadTimeMs: options.joinerLeadTimeMs, timeZones: options.timeZones },
      ),
    );
    if (applied.duplicate) summary.duplicates++;
    options.onProgress?.(i + 1, plan.length);
  }
  return summary;
}

/** The digest that names a file's content in its event ids. */
export function contentDigest(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}
