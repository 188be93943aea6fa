#!/usr/bin/env node
// The closing `N passed, N failed` line of .ci/run, from vitest's JSON reports (one per run).
// A test file that fails while it is set up or collected (an import that throws, a beforeAll that
// times out) has no failed test in it, yet nothing in it ran: it counts as one failed test, so
// the line never reads "0 failed" over a file that did not run. A report that is missing or
// unreadable counts as one failure too (its run crashed before writing it).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** @param {unknown} report vitest's JSON reporter output */
export function countReport(report) {
  const r = /** @type {{ numPassedTests?: number, numFailedTests?: number, testResults?: { status?: string, name?: string, message?: string, assertionResults?: { status?: string }[] }[] }} */ (report);
  let passed = Number(r.numPassedTests ?? 0);
  let failed = Number(r.numFailedTests ?? 0);
  const brokenFiles = [];
  for (const file of r.testResults ?? []) {
    const assertions = file.assertionResults ?? [];
    if (file.status === 'failed' && !assertions.some((a) => a.status === 'failed')) {
      failed += 1;
      brokenFiles.push(`${file.name ?? '(unnamed file)'}: ${(file.message ?? 'failed before any test ran').split('\n')[0]}`);
    }
  }
  if (!Number.isFinite(passed)) passed = 0;
  return { passed, failed, brokenFiles };
}

/** @param {string[]} paths */
export function summarise(paths) {
  let passed = 0;
  let failed = 0;
  const notes = [];
  for (const path of paths) {
    let report;
    try {
      report = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      failed += 1;
      notes.push(`${path}: no readable report (${err instanceof Error ? err.message : String(err)}); counted as 1 failed`);
      continue;
    }
    const counted = countReport(report);
    passed += counted.passed;
    failed += counted.failed;
    for (const file of counted.brokenFiles) notes.push(`failed during setup or collection: ${file}`);
  }
  return { passed, failed, notes };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { passed, failed, notes } = summarise(process.argv.slice(2));
  for (const note of notes) console.log(note);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}
