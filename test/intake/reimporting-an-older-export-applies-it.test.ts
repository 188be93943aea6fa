import { describe, expect, it } from 'vitest';
import { checkImport, contentDigest, importPeople } from '../../src/intake/import-people.js';
import { parsePeopleText } from '../../src/people/people-file.js';
import { migratedDatabaseWithQueue } from '../helpers/database.js';

/**
 * Regression (found by the import property test): event ids derived from the file alone made an
 * export imported again after a later one changed someone count as "already imported", so the
 * store kept the later data while the summary reported an update.
 */
describe('importing an older export again', () => {
  const env = migratedDatabaseWithQueue();

  const run = (text: string) => importPeople(env.handle.db, env.boss, { records: checkImport(parsePeopleText(text, 'csv', 'x.csv'), 'x.csv'), name: 'x.csv', digest: contentDigest(text) });
  const title = async () => ((await env.handle.db.selectFrom('people').select('data').where('employee_id', '=', 'e_1').executeTakeFirstOrThrow()).data as { job_title: string }).job_title;

  it('applies it: the store ends as the file says', async () => {
    const monday = 'employee_id,email,job_title\ne_1,one@company.com,Engineer\n';
    const tuesday = 'employee_id,email,job_title\ne_1,one@company.com,Manager\n';
    expect((await run(monday)).counts.hire).toBe(1);
    expect((await run(tuesday)).counts.update).toBe(1);
    expect(await title()).toBe('Manager');
    // The promotion is reverted: Monday's file comes again.
    const again = await run(monday);
    expect(again).toMatchObject({ counts: { update: 1 }, duplicates: 0 });
    expect(await title()).toBe('Engineer');
    expect((await run(monday)).plan).toEqual([]);
  });
});
