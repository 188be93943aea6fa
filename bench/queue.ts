/**
 * npm run bench:queue — raw pg-boss throughput on the same kind of database, with the workers set
 * up as `serve` sets them (batches of 5, 4 at a time, priority on), JOBS no-op jobs, RUNS runs: the
 * floor under what the orchestrator can do per second, so its own overhead is a ratio.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log.js';
import { startQueue } from '../src/orchestrator/queue.js';
import { benchDatabase } from './bench-database.js';
import { median, report } from './result.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 600);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-queue-'));
await chmod(dir, 0o755);
const database = await benchDatabase(dir, 'queue');
const boss = await startQueue(database.url, createLogger('silent'), { schedule: false });

const rates: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const queue = `bench-${run}`;
  await boss.createQueue(queue, { notify: true });
  for (let i = 0; i < JOBS; i += 1000) await boss.insert(queue, Array.from({ length: Math.min(1000, JOBS - i) }, (_, k) => ({ data: { n: i + k }, priority: (i + k) % 3 })));
  let done = 0;
  const started = performance.now();
  const finished = new Promise<void>((resolve) => {
    void boss.work(queue, { localConcurrency: 4, batchSize: 5, priority: true, pollingIntervalSeconds: 1 }, async (jobs) => {
      done += jobs.length;
      if (done >= JOBS) resolve();
    });
  });
  await finished;
  rates.push(JOBS / ((performance.now() - started) / 1000));
  await boss.offWork(queue);
}
const sorted = [...rates].sort((a, b) => a - b);
console.log('bench:queue — raw pg-boss: no-op jobs fetched and completed');
console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, Postgres: ${database.kind}`);
console.log(`work: ${JOBS} jobs per run, workers as serve runs them (batches of 5, 4 at a time, by priority); runs: ${RUNS}`);
console.log(`jobs/second: median ${median(rates).toFixed(0)} (min ${sorted[0]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)})`);
report({ name: 'queue (raw pg-boss)', work: `${JOBS} no-op jobs, batches of 5 × 4 workers, Postgres ${database.kind}`, runs: RUNS, unit: 'jobs/s', median: Math.round(median(rates)), min: Math.round(sorted[0]!), max: Math.round(sorted.at(-1)!), notes: 'the floor under the orchestrator: each operation is one job plus its adapter calls and records' });
await boss.stop({ graceful: false });
await database.stop();
await rm(dir, { recursive: true, force: true });
process.exit(0);
