/**
 * npm run bench:orchestrator — drives PEOPLE hires through reconcile against a sandboxed system
 * with a fixed latency per call and a rate limit, and prints (a) the operations achieved per
 * minute ÷ the configured limit and (b) how long a termination sent behind that backlog takes to
 * be fully revoked. One token is one operation (an adapter write and its verification read).
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setSandboxFaults } from '../adapters/sandbox/index.js';
import { startGatehouse } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { signHris } from '../src/intake/hris-signature.js';
import { createLogger } from '../src/log.js';
import { benchDatabase } from './bench-database.js';
import { report } from './result.js';

const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 1000);
const LIMIT_PER_MINUTE = Number(process.env.BENCH_LIMIT ?? 3000);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const SECRET = 'bench-secret';

const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
await chmod(dir, 0o755);
const database = await benchDatabase(dir, 'orchestrator');
const { url } = database;
const stopDb = database.stop;

// One policy: everyone gets an Okta account and two groups (three operations per person).
const policies = join(dir, 'policies');
await (await import('node:fs/promises')).mkdir(policies);
await writeFile(join(policies, 'everyone.yaml'), 'name: everyone\ndescription: bench\nowner: "@it"\nwhen: { status: active }\ngrants: [okta:group:everyone, okta:group:staff]\n');

const gatehouse = await startGatehouse(
  loadConfig({ DATABASE_URL: url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET, SYSTEMS: 'okta', POLICIES_DIR: policies }),
  createLogger('silent'),
);
const db = gatehouse.database.db;
const bucketRow = () => db.selectFrom('rate_limits').selectAll().where('system', '=', 'okta').executeTakeFirstOrThrow();
await db.updateTable('rate_limits').set({ refill_per_second: LIMIT_PER_MINUTE / 60, capacity: 5, tokens: 5 }).where('system', '=', 'okta').execute();
await setSandboxFaults(gatehouse.database.pool, 'okta', { latencyMs: LATENCY_MS });

const post = async (events: unknown[]) => {
  const body = JSON.stringify({ events });
  const res = await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(SECRET, body) }, body });
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
};
const hire = (i: number) => ({ event_type: 'employee.hired', event_id: `hire-${i}`, timestamp: '2026-11-20T09:00:00Z', data: { employee_id: `e${i}`, email: `p${i}@company.com`, first_name: 'P', last_name: String(i) } });
const countOps = async (state: 'verified' | 'failed') => Number((await db.selectFrom('operations').select((eb) => eb.fn.countAll().as('n')).where('state', '=', state).executeTakeFirstOrThrow()).n);

// A person provisioned before the backlog, to terminate behind it.
await post([hire(-1)]);
while ((await countOps('verified')) < 3) await new Promise((r) => setTimeout(r, 50));
const before = await countOps('verified');

const started = Date.now();
for (let i = 0; i < PEOPLE; i += 100) await post(Array.from({ length: Math.min(100, PEOPLE - i) }, (_, k) => hire(i + k)));
await new Promise((r) => setTimeout(r, 1000));
const terminatedAt = Date.now();
await post([{ ...hire(-1), event_type: 'employee.terminated', event_id: 'leave--1', timestamp: '2026-11-21T09:00:00Z', data: { ...hire(-1).data, status: 'terminated' } }]);
let terminationMs = 0;
const leaver = await db.selectFrom('people').select('id').where('employee_id', '=', 'e-1').executeTakeFirstOrThrow();
const total = PEOPLE * 3;
for (;;) {
  if (!terminationMs) {
    const runs = await db.selectFrom('runs').select(['status', 'settled_at']).where('person_id', '=', leaver.id).where('reason', '=', 'leaver').execute();
    if (runs.length > 0 && runs.every((r) => r.status === 'settled')) terminationMs = Math.max(...runs.map((r) => r.settled_at!.getTime())) - terminatedAt;
  }
  const done = (await countOps('verified')) - before - (terminationMs ? 3 : 0);
  const failed = await countOps('failed');
  if (done + failed >= total && terminationMs) break;
  if (Date.now() - started > 15 * 60_000) throw new Error('bench did not finish in 15 minutes');
  await new Promise((r) => setTimeout(r, 250));
}
const elapsedMin = (Date.now() - started) / 60_000;
const verified = (await countOps('verified')) - before - 3;
const failed = await countOps('failed');
const achieved = verified / elapsedMin;
const pause = (await bucketRow()).pause_reason;

console.log('bench:orchestrator — reconcile throughput under a rate limit, and termination latency behind the backlog');
console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, Postgres: ${database.kind}`);
console.log(`work: ${PEOPLE} hires × 3 operations each (okta account + 2 groups), sandbox latency ${LATENCY_MS} ms per call, limit ${LIMIT_PER_MINUTE} operations/minute; runs: 1`);
console.log(`operations: ${verified} verified, ${failed} failed${pause ? ` (a pause happened: ${pause})` : ''}`);
console.log(`achieved: ${achieved.toFixed(0)} operations/minute = ${(achieved / LIMIT_PER_MINUTE).toFixed(2)} of the limit, over ${(elapsedMin * 60).toFixed(1)} s`);
console.log(`termination behind the backlog: fully revoked ${(terminationMs / 1000).toFixed(1)} s after its event was accepted`);

report({ name: 'orchestrator under a rate limit', work: `${PEOPLE} hires × 3 operations, limit ${LIMIT_PER_MINUTE}/min, ${LATENCY_MS} ms per call, Postgres ${database.kind}`, runs: 1, unit: 'of the limit', median: Number((achieved / LIMIT_PER_MINUTE).toFixed(2)), notes: `${achieved.toFixed(0)} ops/min, ${failed} failed; termination behind the backlog fully revoked in ${(terminationMs / 1000).toFixed(1)} s` });

if (process.env.BENCH_KEEP) {
  const { rows } = await gatehouse.database.pool.query("select key like 'grant okta:account' as acct, count(*)::int as n, round(avg(extract(epoch from finished_at-started_at))*1000) as avg_ms, round(extract(epoch from max(finished_at)-min(started_at))) as span_s from operations group by 1");
  console.log(rows);
  const { rows: runs } = await gatehouse.database.pool.query("select round(avg(extract(epoch from settled_at-started_at))) as run_s from runs");
  console.log(runs);
}
await gatehouse.stop();
await stopDb();
await rm(dir, { recursive: true, force: true });
process.exit(0);
