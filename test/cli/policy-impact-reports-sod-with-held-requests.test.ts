import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMigratedDatabase } from '../helpers/database.js';
import { run } from '../helpers/process.js';

// Issue 17: a policy change that makes a birthright conflict with a request someone holds was
// invisible to `policy impact` (it compared birthright grants only), so the pull request that made
// Sales approve discounts looked harmless while a salesperson held Create_Quotes by request.
const QUOTES = 'salesforce:permission-set:Create_Quotes';
const DISCOUNTS = 'salesforce:permission-set:Approve_Discounts';

function folder(grantsDiscounts: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-impact-sod-'));
  writeFileSync(
    join(dir, 'sales.yaml'),
    `name: sales\ndescription: Sales.\nowner: "@sales"\nwhen: { department: Sales }\ngrants:\n  - okta:group:sales\n${grantsDiscounts ? `  - ${DISCOUNTS}\n` : ''}requestable:\n  - entitlement: ${QUOTES}\n    approvers: [manager]\n`,
  );
  writeFileSync(join(dir, 'sod.yaml'), `conflicts:\n  - name: quote-to-discount\n    entitlements: [${QUOTES}, ${DISCOUNTS}]\n    reason: Whoever writes a quote must not approve its discount.\n`);
  return dir;
}

describe('gatehouse policy impact --requests', () => {
  it("reports a birthright the change adds that breaks separation of duties with a person's held request", async () => {
    const database = await createMigratedDatabase();
    const db = database.handle.db;
    const people = join(mkdtempSync(join(tmpdir(), 'gh-impact-people-')), 'people.json');
    writeFileSync(people, JSON.stringify([{ employee_id: 'emp_1', email: 'Sam@company.com', department: 'Sales' }, { employee_id: 'emp_2', email: 'kim@company.com', department: 'Sales' }]));
    const sam = await db.insertInto('people').values({ employee_id: 'emp_1', email: 'sam@company.com', status: 'active', updated_at: new Date(), data: JSON.stringify({ employee_id: 'emp_1', email: 'sam@company.com', department: 'Sales' }) as never }).returning('id').executeTakeFirstOrThrow();
    const request = await db
      .insertInto('access_requests')
      .values({ person_id: sam.id, requester_slack_id: 'U0SAM', entitlement: QUOTES, policy: 'sales', description: null, duration_ms: null, justification: null, state: 'active', steps: '[]', auto_approved: false, created_at: new Date(), step_started_at: new Date() })
      .returning('id')
      .executeTakeFirstOrThrow();
    const env = { DATABASE_URL: database.url };
    const args = ['bin/gatehouse.js', 'policy', 'impact', '--base', folder(false), '--policies', folder(true), '--people', people];

    const json = await run('node', [...args, '--requests', '--format', 'json'], env);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.output) as { people: { email: string; gain: string[]; conflicts?: unknown[] }[] };
    expect(out.people.find((p) => p.email === 'Sam@company.com')).toEqual({
      email: 'Sam@company.com',
      gain: [DISCOUNTS],
      lose: [],
      conflicts: [{ rule: 'quote-to-discount', reason: 'Whoever writes a quote must not approve its discount.', entitlements: [DISCOUNTS, QUOTES], request: { id: Number(request.id), entitlement: QUOTES, state: 'active' } }],
    });
    // Kim holds no request: she gains the birthright and breaks nothing.
    expect(out.people.find((p) => p.email === 'kim@company.com')).toEqual({ email: 'kim@company.com', gain: [DISCOUNTS], lose: [] });

    const table = await run('node', [...args, '--requests'], env);
    expect(table.code).toBe(0);
    expect(table.output).toContain(`breaks separation of duties with request #${request.id} for ${QUOTES} (active): quote-to-discount`);
    expect(table.output).toContain('1 separation-of-duties conflict(s) introduced');
    // Without --requests the database is not read, and the conflict cannot be seen.
    expect((await run('node', args, {})).output).not.toContain('separation of duties');
  });
});
