import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isNode, isPair, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';
import { GRAMMAR, type ParsedEntitlement } from './entitlement.js';

export const ABSTRACT_LEVELS = ['read', 'write', 'admin'] as const;
export type AbstractLevel = (typeof ABSTRACT_LEVELS)[number];

/** system → type → abstract level → native level. */
export type LevelTable = Record<string, Record<string, Partial<Record<AbstractLevel, string>>>>;

/**
 * The built-in translation, for every system:type that takes a level (README → Policies → Levels).
 * Policies may write read/write/admin everywhere without a levels.yaml; the file only overrides.
 * A test keeps this in step with GRAMMAR, so a new leveled type cannot ship without defaults.
 */
export const DEFAULT_LEVELS: LevelTable = {
  github: {
    repo: { read: 'read', write: 'write', admin: 'admin' },
    // A team has no read-only membership: read and write are both plain membership.
    team: { read: 'member', write: 'member', admin: 'maintainer' },
  },
  gitlab: {
    group: { read: 'reporter', write: 'developer', admin: 'maintainer' },
    project: { read: 'reporter', write: 'developer', admin: 'maintainer' },
  },
  jira: {
    project: { read: 'Viewers', write: 'Developers', admin: 'Administrators' },
  },
  aws: {
    // IAM Identity Center's predefined permission sets.
    'account-assignment': { read: 'ReadOnlyAccess', write: 'PowerUserAccess', admin: 'AdministratorAccess' },
  },
};

// Strict: a misspelt abstract level ("reed: guest") would otherwise be dropped without a word.
const levelTableSchema = z.record(z.string(), z.record(z.string(), z.strictObject({ read: z.string(), write: z.string(), admin: z.string() }).partial()));

export const LEVELS_FILE = 'levels.yaml';

/** A problem in levels.yaml, positioned like a policy error (`file:line:col message`). */
export interface LevelsProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/**
 * `overrides` on top of `base`, per system, per type and level by level: overriding gitlab group
 * read leaves gitlab group write/admin, gitlab project and every other system as they were.
 */
export function mergeLevels(base: LevelTable, overrides: LevelTable): LevelTable {
  const out: LevelTable = {};
  for (const [system, types] of [...Object.entries(base), ...Object.entries(overrides)]) {
    out[system] ??= {};
    for (const [type, map] of Object.entries(types)) out[system][type] = { ...out[system][type], ...map };
  }
  return out;
}

/** The key (or value) node at `path` in levels.yaml, else the closest map on the way there. */
function nodeAt(root: Node | null, path: readonly PropertyKey[], want: 'key' | 'value'): Node | null {
  let node = root;
  for (const [i, segment] of path.entries()) {
    if (!isMap(node)) return node;
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
    if (!pair) return node;
    if (i === path.length - 1 && want === 'key' && isNode(pair.key)) return pair.key;
    if (!isNode(pair.value)) return isNode(pair.key) ? pair.key : node;
    node = pair.value;
  }
  return node;
}

/**
 * The level table for a policies folder: DEFAULT_LEVELS with the folder's `levels.yaml`, if any,
 * merged over it (mergeLevels). Problems in the file come back positioned; the table then holds
 * the defaults and the file's valid entries, so the policy files can still be checked.
 */
export async function loadLevels(dir: string): Promise<{ levels: LevelTable; errors: LevelsProblem[] }> {
  const file = join(dir, LEVELS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    // No file is the ordinary case (a folder of one's own); any other failure is worth saying.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { levels: DEFAULT_LEVELS, errors: [] };
    return { levels: DEFAULT_LEVELS, errors: [{ file, line: 1, col: 1, message: `cannot read ${LEVELS_FILE}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors: LevelsProblem[] = [];
  const at = (node: Node | null, message: string) => {
    const { line, col } = lines.linePos(node?.range?.[0] ?? 0);
    errors.push({ file, line, col, message });
  };
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const { line, col } = lines.linePos(e.pos[0]);
      errors.push({ file, line, col, message: `YAML: ${e.message.split('\n')[0]}` });
    }
    return { levels: DEFAULT_LEVELS, errors };
  }
  const root = doc.contents as Node | null;
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    at(root, `YAML: ${(error as Error).message}`);
    return { levels: DEFAULT_LEVELS, errors };
  }
  // Systems and types are looked up and assigned by name (GRAMMAR[system], overrides[system][type]):
  // these names would reach a prototype instead (issue 27), and zod drops "__proto__" unseen.
  const reserved = /^(__proto__|constructor|prototype)$/i;
  let named = false;
  if (data && typeof data === 'object') {
    for (const [system, types] of Object.entries(data)) {
      if (reserved.test(system)) {
        named = true;
        at(nodeAt(root, [system], 'key'), `"${system}" is not a system`);
      } else if (types && typeof types === 'object') {
        for (const type of Object.keys(types)) if (reserved.test(type)) {
          named = true;
          at(nodeAt(root, [system, type], 'key'), `"${type}" is not an entitlement type`);
        }
      }
    }
  }
  if (named) return { levels: DEFAULT_LEVELS, errors };
  const parsed = levelTableSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) at(nodeAt(root, [...issue.path, key], 'key'), `unknown level "${key}"; ${LEVELS_FILE} maps ${ABSTRACT_LEVELS.join(', ')}`);
      } else {
        at(nodeAt(root, issue.path, 'value'), `${issue.message}; ${LEVELS_FILE} is system → type → { read, write, admin: native level }`);
      }
    }
    return { levels: DEFAULT_LEVELS, errors };
  }
  const overrides: LevelTable = {};
  for (const [system, types] of Object.entries(parsed.data)) {
    for (const [type, map] of Object.entries(types)) {
      // Own entries only: "toString" must not find Object.prototype's.
      const systemGrammar = system === 'scim' || system === 'manual' || !Object.hasOwn(GRAMMAR, system) ? undefined : GRAMMAR[system];
      const grammar = systemGrammar && Object.hasOwn(systemGrammar.types, type) ? systemGrammar.types[type] : undefined;
      if (!grammar) {
        at(nodeAt(root, GRAMMAR[system] ? [system, type] : [system], 'key'), `${system}:${type} is not an entitlement type that takes a level`);
        continue;
      }
      if (grammar.levels === null) {
        // parseEntitlement refuses any level here, so an entry could never be used.
        at(nodeAt(root, [system, type], 'key'), `${system}:${type} has no levels, so it takes no ${ABSTRACT_LEVELS.join('/')}`);
        continue;
      }
      const valid: Partial<Record<AbstractLevel, string>> = {};
      for (const [abstract, native] of Object.entries(map) as [AbstractLevel, string][]) {
        if (Array.isArray(grammar.levels) && !grammar.levels.includes(native)) {
          at(nodeAt(root, [system, type, abstract], 'value'), `"${native}" is not a ${system} ${type} level (${grammar.levels.join(', ')})`);
        } else {
          valid[abstract] = native;
        }
      }
      (overrides[system] ??= {})[type] = valid;
    }
  }
  return { levels: mergeLevels(DEFAULT_LEVELS, overrides), errors };
}

/**
 * The native form of a parsed entitlement: an abstract level is replaced using the table (the
 * defaults merged with levels.yaml, from loadLevels); a native level passes through. Returns an
 * error message when the table has no mapping for an abstract level.
 */
export function translateLevel(e: ParsedEntitlement, table: LevelTable): { uri: string } | { error: string } {
  if (e.level === null || !(ABSTRACT_LEVELS as readonly string[]).includes(e.level)) return { uri: e.uri };
  const grammar = e.system === 'scim' || e.system === 'manual' ? undefined : GRAMMAR[e.system]?.types[e.type];
  // A level that is both abstract and native (github repo "read") needs no table.
  if (grammar && Array.isArray(grammar.levels) && grammar.levels.includes(e.level) && !table[e.system]?.[e.type]?.[e.level as AbstractLevel]) {
    return { uri: e.uri };
  }
  const native = table[e.system]?.[e.type]?.[e.level as AbstractLevel];
  if (!native) return { error: `"${e.uri}": no native level for "${e.level}" on ${e.system}:${e.type}; add it to ${LEVELS_FILE} in the policies folder or write a native level` };
  return { uri: `${e.uri.slice(0, e.uri.lastIndexOf('#'))}#${native}` };
}
