import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { GRAMMAR, type ParsedEntitlement } from './entitlement.js';

export const ABSTRACT_LEVELS = ['read', 'write', 'admin'] as const;
export type AbstractLevel = (typeof ABSTRACT_LEVELS)[number];

/** system → type → abstract level → native level. */
export type LevelTable = Record<string, Record<string, Partial<Record<AbstractLevel, string>>>>;

const levelTableSchema = z.record(z.string(), z.record(z.string(), z.object({ read: z.string(), write: z.string(), admin: z.string() }).partial()));

export const LEVELS_FILE = 'levels.yaml';

export class LevelsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LevelsError';
  }
}

/** Reads `levels.yaml` from the policies folder; a missing file means no abstract levels. */
export async function loadLevels(dir: string): Promise<LevelTable> {
  let text: string;
  try {
    text = await readFile(join(dir, LEVELS_FILE), 'utf8');
  } catch {
    return {};
  }
  const parsed = levelTableSchema.safeParse(parse(text) ?? {});
  if (!parsed.success) {
    throw new LevelsError(`${join(dir, LEVELS_FILE)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  for (const [system, types] of Object.entries(parsed.data)) {
    for (const [type, map] of Object.entries(types)) {
      const grammar = GRAMMAR[system]?.types[type];
      if (!grammar) throw new LevelsError(`${join(dir, LEVELS_FILE)}: ${system}:${type} is not an entitlement type`);
      for (const native of Object.values(map)) {
        if (Array.isArray(grammar.levels) && !grammar.levels.includes(native!)) {
          throw new LevelsError(`${join(dir, LEVELS_FILE)}: "${native}" is not a ${system} ${type} level (${grammar.levels.join(', ')})`);
        }
      }
    }
  }
  return parsed.data;
}

/**
 * The native form of a parsed entitlement: an abstract level is replaced using the table; a
 * native level passes through. Returns an error message when an abstract level has no mapping.
 */
export function translateLevel(e: ParsedEntitlement, table: LevelTable): { uri: string } | { error: string } {
  if (e.level === null || !(ABSTRACT_LEVELS as readonly string[]).includes(e.level)) return { uri: e.uri };
  const grammar = e.system === 'scim' || e.system === 'manual' ? undefined : GRAMMAR[e.system]?.types[e.type];
  // A level that is both abstract and native (github repo "read") needs no table.
  if (grammar && Array.isArray(grammar.levels) && grammar.levels.includes(e.level) && !table[e.system]?.[e.type]?.[e.level as AbstractLevel]) {
    return { uri: e.uri };
  }
  const native = table[e.system]?.[e.type]?.[e.level as AbstractLevel];
  if (!native) return { error: `"${e.uri}": no native level for "${e.level}" on ${e.system}:${e.type}; add it to policies/${LEVELS_FILE} or write a native level` };
  return { uri: `${e.uri.slice(0, e.uri.lastIndexOf('#'))}#${native}` };
}
