import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMigratedDatabase } from '../helpers/database.js';
import { run } from '../helpers/process.js';

/**
 * Issue 27 (Low): `gatehouse import FILE --full` terminated every active person the file left out,
 * so an export cut short (a failed download, a report with a page limit) terminated most of the
 * company. Now --full refuses, changing nothing, when it would terminate more than 10% of the
 * active people for being missing, unless told otherwise.
 */
describe('gatehouse import --full with a truncated file', () => {
  const HEADER = 'employee_id,email,first_name,last_name,department,start_date';
  const row = (i: number) => `e_${String(i).padStart(2, '0')},p${i}@company.com,P,${i},Sales,2025-01-01`;
  const everyone = Array.from({ length: 20 }, (_, i) => row(i));

  it('refuses with the counts and the override; nothing changes; the override applies it', async () => {
    const database = await createMigratedDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'import-truncated-'));
    const env = { DATABASE_URL: database.url };
    const importFile = async (name: string, lines: string[], ...flags: string[]) => {
      const file = join(dir, name);
      await writeFile(file, `${HEADER}\n${lines.join('\n')}\n`);
      return run('node', ['bin/gatehouse.js', 'import', file, ...flags], env);
    };
    const statuses = async () => {
      const people = await database.handle.db.selectFrom('people').select('status').execute();
      return { active: people.filter((p) => p.status === 'active').length, terminated: people.filter((p) => p.status === 'terminated').length };
    };
    const events = async () => (await database.handle.db.selectFrom('person_events').select('id').execute()).length;

    expect((await importFile('all.csv', everyone)).code).toBe(0);
    expect(await statuses()).toEqual({ active: 20, terminated: 0 });
    const before = await events();

    // The export stopped after 5 rows: 15 of 20 active people would be terminated.
    const truncated = await importFile('truncated.csv', everyone.slice(0, 5), '--full');
    expect(truncated.code).toBe(1);
    expect(truncated.output).toContain('15 of 20 active people');
    expect(truncated.output).toContain('--allow-mass-termination');
    expect(truncated.output).toContain('nothing was imported');
    expect(await statuses()).toEqual({ active: 20, terminated: 0 });
    expect(await events()).toBe(before);
    // A dry run is refused the same way (it would not be the plan that runs).
    expect((await importFile('truncated.csv', everyone.slice(0, 5), '--full', '--dry-run')).code).toBe(1);

    // 2 of 20 missing (10%) is within the default limit: they are terminated.
    const twoLeft = await importFile('two-left.csv', everyone.slice(0, 18), '--full');
    expect(twoLeft.code).toBe(0);
    expect(twoLeft.output).toContain('2 terminations');
    expect(await statuses()).toEqual({ active: 18, terminated: 2 });

    // The limit can be set as a count or a share; over it is still refused.
    expect((await importFile('half.csv', everyone.slice(0, 9), '--full', '--max-terminations', '8')).code).toBe(1);
    expect((await importFile('half.csv', everyone.slice(0, 9), '--full', '--max-terminations', '40%')).code).toBe(1);
    expect((await importFile('half.csv', everyone.slice(0, 9), '--full', '--max-terminations', 'lots')).code).toBe(2);
    expect(await statuses()).toEqual({ active: 18, terminated: 2 });
    const half = await importFile('half.csv', everyone.slice(0, 9), '--full', '--max-terminations', '50%');
    expect(half.code).toBe(0);
    expect(await statuses()).toEqual({ active: 9, terminated: 11 });

    // When the company really did shrink that much, the override applies the file.
    const layoff = await importFile('layoff.csv', everyone.slice(0, 2), '--full', '--allow-mass-termination');
    expect(layoff.code).toBe(0);
    expect(layoff.output).toContain('7 terminations');
    expect(await statuses()).toEqual({ active: 2, terminated: 18 });
  });
});
