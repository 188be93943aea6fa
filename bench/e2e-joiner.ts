/**
 * npm run bench:e2e — a platform engineer's hire, end to end: signed HRIS event → reconcile →
 * every grant verified, against sandboxed systems answering each call in LATENCY_MS (default 150),
 * one hire at a time, RUNS times. Compared with the critical path's lower bound: the plan's
 * dependency depth × 2 calls per operation (the write and its verification read) × the latency.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setSandboxFaults } from '../adapters/sandbox/index.js';
import { startGatehouse } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { signHris } from '../src/intake/hris-signature.js';
import { createLogger } from '../src/log.js';
import { benchDatabase } from './bench-database.js';
import { median, report } from './result.js';

const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 150);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECRET = 'bench-e2e';

const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-e2e-'));
await chmod(dir, 0o755);
const database = await benchDatabase(dir, 'e2e');
// The example policies; the IT channel's messages go to the log, which is silent here.
const gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET, SYSTEMS: 'okta,google,aws,github,gitlab,slack,jira' }), createLogger('silent'));
for (const system of gatehouse.adapters.systems()) await setSandboxFaults(gatehouse.database.pool, system, { latencyMs: LATENCY_MS });
const db = gatehouse.database.db;

const times: number[] = [];
let depth = 0;
let operations = 0;
for (let run = 0; run < RUNS; run++) {
  const employee = `e2e-${run}`;
  const body = JSON.stringify({ event_type: 'employee.hired', event_id: `evt-${employee}`, timestamp: '2026-11-20T09:00:00Z', data: { employee_id: employee, email: `${employee}@company.com`, first_name: 'Pat', last_name: String(run), department: 'Engineering', team: 'Platform', job_title: 'Platform Engineer', employment_type: 'FTE' } });
  const sent = Date.now();
  const res = await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(SECRET, body) }, body });
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
  for (;;) {
    const run = await db.selectFrom('runs').innerJoin('people', 'people.id', 'runs.person_id').select(['runs.id', 'runs.status', 'runs.settled_at', 'runs.summary']).where('people.employee_id', '=', employee).executeTakeFirst();
    if (run?.status === 'settled') {
      const ops = await db.selectFrom('operations').select(['tier', 'state']).where('run_id', '=', run.id).execute();
      if (ops.some((o) => o.state !== 'verified')) throw new Error(`run ${run.id} settled with ${JSON.stringify(ops.filter((o) => o.state !== 'verified'))}`);
      depth = Math.max(...ops.map((o) => o.tier)) + 1;
      operations = ops.length;
      times.push(run.settled_at!.getTime() - sent);
      break;
    }
    if (Date.now() - sent > 120_000) throw new Error('the joiner did not settle in 2 minutes');
    await new Promise((r) => setTimeout(r, 20));
  }
}
const bound = depth * 2 * LATENCY_MS;
const sorted = [...times].sort((a, b) => a - b);
console.log('bench:e2e — one joiner, HRIS event to every grant verified');
console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, Postgres: ${database.kind}`);
console.log(`work: a Platform Engineer under the example policies: ${operations} operations in ${depth} dependent tiers, sandbox ${LATENCY_MS} ms per call; runs: ${RUNS}, one hire at a time`);
console.log(`event → all verified: median ${(median(times) / 1000).toFixed(2)} s (min ${(sorted[0]! / 1000).toFixed(2)}, max ${(sorted.at(-1)! / 1000).toFixed(2)}); critical-path lower bound ${depth} tiers × 2 calls × ${LATENCY_MS} ms = ${(bound / 1000).toFixed(2)} s; ratio ${(median(times) / bound).toFixed(2)}`);
report({ name: 'end-to-end joiner', work: `${operations} operations in ${depth} tiers, ${LATENCY_MS} ms per call, Postgres ${database.kind}`, runs: RUNS, unit: 's event → all verified', median: Number((median(times) / 1000).toFixed(2)), min: Number((sorted[0]! / 1000).toFixed(2)), max: Number((sorted.at(-1)! / 1000).toFixed(2)), notes: `lower bound ${(bound / 1000).toFixed(2)} s (${depth} tiers × 2 calls × ${LATENCY_MS} ms); ${(median(times) / bound).toFixed(2)}× the bound` });

await gatehouse.stop();
await database.stop();
await rm(dir, { recursive: true, force: true });
process.exit(0);
