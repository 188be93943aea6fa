import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/db/database.js';
import { createMigratedDatabase } from '../helpers/database.js';

describe('audit_log is append-only in the database', () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    ({ handle } = await createMigratedDatabase());
    await handle.db
      .insertInto('audit_log')
      .values({
        at: new Date(),
        actor: 'system',
        action: 'test.inserted',
        detail: '{}',
        prev_hash: '0'.repeat(64),
        hash: 'a'.repeat(64),
      })
      .execute();
  });

  it('accepts inserts', async () => {
    const rows = await handle.db.selectFrom('audit_log').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.action).toBe('test.inserted');
  });

  it('rejects UPDATE', async () => {
    await expect(handle.db.updateTable('audit_log').set({ actor: 'mallory' }).execute()).rejects.toThrow(
      /append-only: UPDATE/,
    );
  });

  it('rejects DELETE', async () => {
    await expect(handle.db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only: DELETE/);
  });

  it('rejects TRUNCATE', async () => {
    await expect(sql`truncate audit_log`.execute(handle.db)).rejects.toThrow(/append-only: TRUNCATE/);
    expect(await handle.db.selectFrom('audit_log').select('actor').execute()).toEqual([{ actor: 'system' }]);
  });
});
