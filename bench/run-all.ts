/**
 * npm run bench — every benchmark, one after another (each in its own process, as each runs alone),
 * collected into bench/RESULTS.md: one table with what each measured, on what, how many runs, and
 * median/min/max, under the machine and the date.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from './result.js';

const BENCHES = ['policy', 'orchestrator', 'drift', 'http-load', 'e2e-joiner', 'queue'];
const here = import.meta.dirname;

async function runBench(name: string): Promise<{ results: BenchResult[]; output: string; code: number | null }> {
  const child = spawn(process.execPath, [join(here, `${name}.js`)], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
    process.stdout.write(c);
  });
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const results = output
    .split('\n')
    .filter((l) => l.startsWith('RESULT '))
    .map((l) => JSON.parse(l.slice('RESULT '.length)) as BenchResult);
  return { results, output, code };
}

const rows: string[] = [];
const failures: string[] = [];
for (const name of BENCHES) {
  console.log(`\n==== ${name} ====`);
  const { results, output, code } = await runBench(name);
  if (code !== 0 || results.length === 0) failures.push(`${name} (exit ${code}): ${output.slice(-500)}`);
  for (const r of results) {
    const spread = r.min !== undefined && r.max !== undefined && r.runs > 1 ? `${r.min.toLocaleString('en')} – ${r.max.toLocaleString('en')}` : '—';
    rows.push(`| ${r.name} | ${r.work} | ${r.runs} | **${r.median.toLocaleString('en')}** ${r.unit} | ${spread} | ${r.notes ?? ''} |`);
  }
}
const date = new Date().toISOString().slice(0, 10);
const machine = `${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, Postgres ${process.env.TEST_DATABASE_URL ? 'local server (TEST_DATABASE_URL)' : 'embedded'}`;
const markdown = `# Benchmark results

Written by \`npm run bench\` on ${date}. Machine: ${machine}.
Each benchmark runs alone in its own process; \`npm run bench:<name>\` runs one and prints its details.

| benchmark | work | runs | median | min – max | notes |
|---|---|---|---|---|---|
${rows.join('\n')}
${failures.length > 0 ? `\nFailed or reported nothing:\n\n${failures.map((f) => `- ${f.replace(/\n/g, ' ')}`).join('\n')}\n` : ''}`;
await writeFile(join(here, '..', '..', 'bench', 'RESULTS.md'), markdown);
console.log(`\n${markdown}`);
process.exit(failures.length > 0 ? 1 : 0);
