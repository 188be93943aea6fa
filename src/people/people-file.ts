import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { type FieldError, type PersonRecord, personRecordSchema, toFieldErrors } from './person-record.js';
import { findPrototypeKey, isPrototypeKey, PROTOTYPE_KEY_MESSAGE } from './prototype-keys.js';

/**
 * A people file: CSV whose header row names the webhook's `data` fields (`attributes.<key>` for
 * custom ones), or a JSON array of `data` objects. Used by `gatehouse plan` and `gatehouse import`.
 */
export interface PeopleFile {
  records: PersonRecord[];
  /** Every invalid row, with its line (CSV) or index (JSON); valid rows are still returned. */
  errors: (FieldError & { row: number })[];
}

export class PeopleFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeopleFileError';
  }
}

/** CSV cells are text; these fields are lists when given as `a;b;c` (groups, list attributes). */
const LIST_SEPARATOR = ';';

/**
 * One CSV row as a `data` object. A column named __proto__, constructor or prototype (or
 * attributes.<one of them>) is an error for the row: assigned by key, `attributes.__proto__`
 * would replace the attributes object's prototype instead of adding an attribute (issue 27).
 */
function csvRowToObject(row: Record<string, string>): { value: Record<string, unknown>; errors: FieldError[] } {
  const out: Record<string, unknown> = {};
  const attributes: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [rawKey, rawValue] of Object.entries(row)) {
    const key = rawKey.trim();
    const value = rawValue.trim();
    if (key === '') continue;
    if (key.split('.').some(isPrototypeKey)) {
      errors.push({ path: key, message: PROTOTYPE_KEY_MESSAGE });
      continue;
    }
    // An empty cell means "not given", which the schema treats as absent.
    if (value === '') continue;
    if (key.startsWith('attributes.')) {
      const name = key.slice('attributes.'.length);
      attributes[name] = value.includes(LIST_SEPARATOR)
        ? value
            .split(LIST_SEPARATOR)
            .map((s) => s.trim())
            .filter(Boolean)
        : value;
    } else {
      out[key] = value;
    }
  }
  if (Object.keys(attributes).length > 0) out.attributes = attributes;
  return { value: out, errors };
}

export function parsePeopleText(text: string, format: 'csv' | 'json', name = 'input'): PeopleFile {
  const records: PersonRecord[] = [];
  const errors: PeopleFile['errors'] = [];
  let rows: { row: number; value: unknown; errors: FieldError[] }[];
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new PeopleFileError(`${name}: not valid JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(parsed)) throw new PeopleFileError(`${name}: expected a JSON array of person objects`);
    rows = parsed.map((value, i) => {
      const prototypeKey = findPrototypeKey(value);
      return { row: i, value, errors: prototypeKey ? [{ path: prototypeKey, message: PROTOTYPE_KEY_MESSAGE }] : [] };
    });
  } else {
    let parsed: Record<string, string>[];
    try {
      parsed = parseCsv(text, {
        columns: true,
        skip_empty_lines: true,
        bom: true,
        relax_column_count: false,
        trim: false,
      });
    } catch (error) {
      throw new PeopleFileError(`${name}: not valid CSV (${(error as Error).message})`);
    }
    // Line 1 is the header, so the first record is on line 2 (quoted newlines aside).
    rows = parsed.map((value, i) => ({ row: i + 2, ...csvRowToObject(value) }));
  }
  for (const { row, value, errors: rowErrors } of rows) {
    if (rowErrors.length > 0) {
      // Refused before the schema sees it: zod drops some of these keys silently and keeps others.
      for (const e of rowErrors) errors.push({ ...e, row });
      continue;
    }
    const result = personRecordSchema.safeParse(value);
    if (result.success) records.push(result.data);
    else for (const e of toFieldErrors(result.error)) errors.push({ ...e, row });
  }
  return { records, errors };
}

export async function readPeopleFile(path: string): Promise<PeopleFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PeopleFileError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const ext = extname(path).toLowerCase();
  const format = ext === '.json' || (ext !== '.csv' && text.trimStart().startsWith('[')) ? 'json' : 'csv';
  return parsePeopleText(text, format, path);
}
