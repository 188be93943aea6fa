import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMigratedDatabase } from '../helpers/database.js';
import { run } from '../helpers/process.js';

const HEADER = 'employee_id,email,first_name,last_name,job_title,department,employment_type,start_date';
const rows = {
  a: 'e_a,a@company.com,Ann,Lee,Engineer,Engineering,FTE,2025-01-01',
  b: 'e_b,b@company.com,Bo,Kim,Analyst,Finance,FTE,2025-01-01',
  c: 'e_c,c@company.com,Cy,Ng,Designer,Design,Contractor,2025-01-01',
};

describe('gatehouse import (the command)', () => {
  it('applies a nightly export as events: hires, then only the differences, terminating the missing only with --full', async () => {
    const database = await createMigratedDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'import-'));
    const env = { DATABASE_URL: database.url };
    const importFile = async (name: string, lines: string[], ...flags: string[]) => {
      const file = join(dir, name);
      await writeFile(file, `${HEADER}\n${lines.join('\n')}\n`);
      return run('node', ['bin/gatehouse.js', 'import', file, ...flags], env);
    };
    const people = async () => (await database.handle.db.selectFrom('people').select(['employee_id', 'status']).orderBy('employee_id').execute()).map((p) => `${p.employee_id}:${p.status}`);

    const first = await importFile('day1.csv', [rows.a, rows.b, rows.c]);
    expect(first.code).toBe(0);
    expect(first.output).toContain('3 people in');
    expect(first.output).toContain('3 hires, 0 updates, 0 terminations, 0 unchanged');
    expect(await people()).toEqual(['e_a:active', 'e_b:active', 'e_c:active']);

    // The same file again: nothing changes.
    expect((await importFile('day1.csv', [rows.a, rows.b, rows.c])).output).toContain('0 hires, 0 updates, 0 terminations, 3 unchanged');

    // Day 2: b was promoted, c is missing from a partial export.
    const promoted = rows.b.replace('Analyst', 'Senior Analyst');
    const dry = await importFile('day2.csv', [rows.a, promoted], '--full', '--dry-run');
    expect(dry.output).toContain('update      e_b b@company.com');
    expect(dry.output).toContain('termination e_c c@company.com');
    expect(await people()).toEqual(['e_a:active', 'e_b:active', 'e_c:active']);
    expect((await importFile('day2.csv', [rows.a, promoted])).output).toContain('0 hires, 1 updates, 0 terminations, 1 unchanged');
    expect(await people()).toEqual(['e_a:active', 'e_b:active', 'e_c:active']);
    expect((await importFile('day2.csv', [rows.a, promoted], '--full')).output).toContain('0 hires, 0 updates, 1 terminations, 2 unchanged');
    expect(await people()).toEqual(['e_a:active', 'e_b:active', 'e_c:terminated']);

    // Every change queued a reconcile job; the leaver's first.
    const { rows: jobs } = await database.handle.pool.query("select data->>'reason' as reason, priority from pgboss.job where name = 'reconcile-person' order by priority desc");
    expect(jobs.map((j: { reason: string }) => j.reason)).toEqual(['leaver', 'joiner', 'joiner', 'joiner', 'mover']);
  });

  it('refuses a file with invalid rows, naming each, and imports nothing', async () => {
    const database = await createMigratedDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'import-bad-'));
    const file = join(dir, 'bad.csv');
    await writeFile(file, `${HEADER}\n${rows.a}\ne_x,not-an-email,X,Y,Z,W,Temp,2025-13-01\n`);
    const result = await run('node', ['bin/gatehouse.js', 'import', file], { DATABASE_URL: database.url });
    expect(result.code).toBe(1);
    expect(result.output).toContain('row 3: email: must be an email address');
    expect(result.output).toContain('row 3: employment_type');
    expect(result.output).toContain('nothing was imported');
    expect(await database.handle.db.selectFrom('people').selectAll().execute()).toEqual([]);
  });
});
