import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types (it runs before the build in .ci/run)
import { countReport } from '../../scripts/test-summary.mjs';

// Issue 17 (CI tells the truth): the closing line read numFailedTests only, so a test file whose
// import threw or whose beforeAll timed out (no test in it failed, none ran) left "0 failed".
const script = join(import.meta.dirname, '..', '..', 'scripts', 'test-summary.mjs');

// Shapes as vitest 5's JSON reporter writes them: a file that fails in collection has status
// "failed", a message, and no assertion results.
const collectionFailure = {
  numPassedTests: 10,
  numFailedTests: 0,
  testResults: [
    { name: '/repo/test/a.test.ts', status: 'passed', message: '', assertionResults: Array.from({ length: 10 }, () => ({ status: 'passed' })) },
    { name: '/repo/test/b.test.ts', status: 'failed', message: "Failed to load url ./missing.js\n at …", assertionResults: [] },
  ],
};
const hookFailure = {
  numPassedTests: 0,
  numFailedTests: 0,
  testResults: [{ name: '/repo/test/c.test.ts', status: 'failed', message: 'Hook timed out in 90000ms', assertionResults: [{ status: 'skipped' }, { status: 'skipped' }] }],
};
const ordinaryFailure = {
  numPassedTests: 3,
  numFailedTests: 1,
  testResults: [{ name: '/repo/test/d.test.ts', status: 'failed', message: '', assertionResults: [{ status: 'passed' }, { status: 'passed' }, { status: 'passed' }, { status: 'failed' }] }],
};

describe('the closing "N passed, N failed" line of .ci/run', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('counts a file that failed during collection, or in a hook before its tests, as failed', () => {
    expect(countReport(collectionFailure)).toMatchObject({ passed: 10, failed: 1 });
    expect(countReport(hookFailure)).toMatchObject({ passed: 0, failed: 1 });
  });

  it('does not count a file twice when one of its tests failed', () => {
    expect(countReport(ordinaryFailure)).toMatchObject({ passed: 3, failed: 1 });
  });

  it('adds up the suite and the soak, prints the broken file, exits 1, and counts a missing report as failed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-summary-'));
    dirs.push(dir);
    await writeFile(join(dir, 'suite.json'), JSON.stringify(collectionFailure));
    await writeFile(join(dir, 'soak.json'), JSON.stringify(ordinaryFailure));
    const run = spawnSync(process.execPath, [script, join(dir, 'suite.json'), join(dir, 'soak.json'), join(dir, 'absent.json')], { encoding: 'utf8' });
    const lines = run.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('13 passed, 3 failed');
    expect(run.stdout).toContain('b.test.ts: Failed to load url ./missing.js');
    expect(run.status).toBe(1);
  });

  it('says 0 failed and exits 0 when everything ran and passed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-summary-'));
    dirs.push(dir);
    await writeFile(join(dir, 'suite.json'), JSON.stringify({ numPassedTests: 2, numFailedTests: 0, testResults: [{ name: 'x', status: 'passed', assertionResults: [{ status: 'passed' }, { status: 'passed' }] }] }));
    const run = spawnSync(process.execPath, [script, join(dir, 'suite.json')], { encoding: 'utf8' });
    expect(run.stdout.trim()).toBe('2 passed, 0 failed');
    expect(run.status).toBe(0);
  });
});
