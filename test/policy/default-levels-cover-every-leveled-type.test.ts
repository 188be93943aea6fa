import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GRAMMAR } from '../../src/policy/entitlement.js';
import { ABSTRACT_LEVELS, DEFAULT_LEVELS, loadLevels } from '../../src/policy/levels.js';
import { ROOT } from '../helpers/process.js';

// Issue 17: read/write/admin are promised for every system, so a type that takes levels and has
// no built-in mapping would bring back "no native level … add it to policies/levels.yaml".
describe('DEFAULT_LEVELS', () => {
  it('maps read, write and admin for every system:type that takes a level, to a level it accepts', () => {
    const leveled = Object.entries(GRAMMAR).flatMap(([system, g]) => Object.entries(g.types).filter(([, t]) => t.levels !== null).map(([type, t]) => ({ system, type, levels: t.levels })));
    expect(leveled.map((t) => `${t.system}:${t.type}`).sort()).toEqual(['aws:account-assignment', 'github:repo', 'github:team', 'gitlab:group', 'gitlab:project', 'jira:project']);
    for (const { system, type, levels } of leveled) {
      for (const level of ABSTRACT_LEVELS) {
        const native = DEFAULT_LEVELS[system]?.[type]?.[level];
        expect(native, `${system}:${type}#${level}`).toBeTypeOf('string');
        if (Array.isArray(levels)) expect(levels, `${system}:${type}#${level}`).toContain(native);
      }
    }
    // Nothing else: a default for a type without levels could never be used.
    const mapped = Object.entries(DEFAULT_LEVELS).flatMap(([system, types]) => Object.keys(types).map((type) => `${system}:${type}`));
    expect(mapped.sort()).toEqual(leveled.map((t) => `${t.system}:${t.type}`).sort());
  });
});

describe('policies/levels.yaml', () => {
  it('restates the built-in table, as its header and the READMEs say', async () => {
    expect(parse(await readFile(join(ROOT, 'policies', 'levels.yaml'), 'utf8'))).toEqual(DEFAULT_LEVELS);
    expect(await loadLevels(join(ROOT, 'policies'))).toEqual({ levels: DEFAULT_LEVELS, errors: [] });
  });
});
