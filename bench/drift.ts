/**
 * npm run bench:drift — a drift scan over MEMBERSHIPS memberships (PEOPLE people × TEAMS teams,
 * default 20,000 × 5 = 100,000) held in a sandboxed GitHub, with 1% of them changed by hand (extra,
 * missing, level, orphan). Prints how long the scan took (reading every page through the adapter,
 * then comparing in SQL), memberships per second, and what it found, over RUNS runs.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { scanSystem } from '../src/drift/scan.js';
import { createLogger } from '../src/log.js';
import { createAdapterRegistry } from '../src/orchestrator/adapter-registry.js';
import { startQueue } from '../src/orchestrator/queue.js';
import { buildPolicySet, loadPolicies } from '../src/policy/index.js';
import { benchDatabase } from './bench-database.js';
import { report } from './result.js';

const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 20_000);
const TEAMS = Number(process.env.BENCH_TEAMS ?? 5);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DRIFT_EVERY = 100;

const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-drift-'));
await chmod(dir, 0o755);
const database = await benchDatabase(dir, 'drift');
const policies = join(dir, 'policies');
await mkdir(policies);
const teams = Array.from({ length: TEAMS }, (_, i) => `github:team:acme/team-${i}#member`);
await writeFile(join(policies, 'everyone.yaml'), `name: everyone\ndescription: bench\nowner: "@it"\nwhen: { status: active }\ngrants: [${teams.join(', ')}, github:repo:acme/api#write]\n`);

const handle = createDatabase(database.url);
await migrateToLatest(handle.db);
const boss = await startQueue(database.url, createLogger('silent'), { schedule: false });
const adapters = createAdapterRegistry(loadConfig({ DATABASE_URL: database.url, SYSTEMS: 'github' }), { sql: handle.pool });
const policySet = buildPolicySet(await loadPolicies(policies));

// What Gatehouse applied (people, accounts, grants) and what GitHub holds (the sandbox), in bulk.
const q = (text: string, values: unknown[] = []) => handle.pool.query(text, values);
await q(`insert into people (employee_id, email, status, data)
         select 'e' || i, 'p' || i || '@company.com', 'active', jsonb_build_object('employee_id', 'e' || i, 'email', 'p' || i || '@company.com', 'status', 'active')
           from generate_series(1, $1) i`, [PEOPLE]);
await q(`insert into sandbox_accounts (system, id, employee_id, email, login, status)
         select 'github', 'gh' || i, 'e' || i, 'p' || i || '@company.com', 'p' || i, 'active' from generate_series(1, $1) i`, [PEOPLE]);
await q(`insert into accounts (person_id, system, external_id, login, status)
         select p.id, 'github', 'gh' || substr(p.employee_id, 2), 'p' || substr(p.employee_id, 2), 'active' from people p`);
await q(`insert into grants (person_id, entitlement, system, status, source)
         select p.id, t, 'github', 'verified', 'policy:everyone' from people p cross join unnest($1::text[]) t`, [teams]);
await q(`insert into sandbox_grants (system, account_id, entitlement, state)
         select 'github', a.external_id, g.entitlement, 'active' from grants g join accounts a on a.person_id = g.person_id and a.system = 'github'`);
// 1% drift: every DRIFT_EVERY-th person lost team-0 (missing); another 1% holds the api repo at admin where policy says write (level); 1% more accounts belong to nobody (orphan).
await q(`delete from sandbox_grants where entitlement = $1 and (substr(account_id, 3))::int % ${DRIFT_EVERY} = 0`, [teams[0]]);
await q(`insert into grants (person_id, entitlement, system, status, source)
         select p.id, 'github:repo:acme/api#write', 'github', 'verified', 'policy:everyone' from people p where (substr(p.employee_id, 2))::int % ${DRIFT_EVERY} = 1`);
await q(`insert into sandbox_grants (system, account_id, entitlement, state)
         select 'github', 'gh' || i, 'github:repo:acme/api#admin', 'active' from generate_series(1, $1) i where i % ${DRIFT_EVERY} = 1`, [PEOPLE]);
await q(`insert into sandbox_accounts (system, id, email, login, status)
         select 'github', 'orphan' || i, 'gone' || i || '@company.com', 'gone' || i, 'active' from generate_series(1, $1) i`, [Math.ceil(PEOPLE / DRIFT_EVERY)]);
await q('analyze');
const { rows } = await q("select count(*)::int as n from sandbox_grants where system = 'github'");
const memberships = rows[0].n as number;

const timings: number[] = [];
const reads: number[] = [];
const compares: number[] = [];
let found: Record<string, number> = {};
for (let run = 0; run < RUNS; run++) {
  // Each run starts from the same state: items from an earlier run are closed, drift restored.
  await q("update drift_items set status = 'resolved'");
  const started = performance.now();
  const result = await scanSystem({ db: handle.db, boss, adapters, policies: policySet }, 'github');
  timings.push(performance.now() - started);
  reads.push(result.readMs ?? 0);
  compares.push(result.compareMs ?? 0);
  found = {};
  for (const item of result.items) found[item.class] = (found[item.class] ?? 0) + 1;
  if (result.memberships !== memberships) throw new Error(`read ${result.memberships} memberships, expected ${memberships}`);
  await q(`delete from sandbox_grants where entitlement = $1 and (substr(account_id, 3))::int % ${DRIFT_EVERY} = 0`, [teams[0]]);
  await q("update grants set status = 'verified' where status = 'failed'");
}
const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
timings.sort((a, b) => a - b);
const median = timings[Math.floor(timings.length / 2)]!;
console.log('bench:drift — one drift scan of a sandboxed GitHub: every page read through the adapter, then compared in SQL');
console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, Postgres: ${database.kind}`);
console.log(`work: ${memberships.toLocaleString('en')} memberships (${PEOPLE.toLocaleString('en')} people × ${TEAMS} teams + level drift) and ${(PEOPLE + Math.ceil(PEOPLE / DRIFT_EVERY)).toLocaleString('en')} accounts, 1% drifted; runs: ${RUNS}`);
console.log(`found per scan: ${Object.entries(found).sort(([a], [b]) => a.localeCompare(b)).map(([c, n]) => `${n} ${c}`).join(', ')}`);
console.log(`of which: reading every page through the sandbox adapter (100 per page) median ${(mid(reads) / 1000).toFixed(2)} s; comparing in SQL and recording the items median ${(mid(compares) / 1000).toFixed(2)} s = ${Math.round(memberships / (mid(compares) / 1000)).toLocaleString('en')} memberships compared/s`);
console.log(`scan: median ${(median / 1000).toFixed(2)} s (min ${(timings[0]! / 1000).toFixed(2)}, max ${(timings.at(-1)! / 1000).toFixed(2)}) = ${Math.round(memberships / (median / 1000)).toLocaleString('en')} memberships/s`);

report({ name: 'drift scan', work: `${memberships.toLocaleString('en')} memberships, ${(PEOPLE + Math.ceil(PEOPLE / DRIFT_EVERY)).toLocaleString('en')} accounts, 1% drifted, Postgres ${database.kind}`, runs: RUNS, unit: 'memberships compared/s', median: Math.round(memberships / (mid(compares) / 1000)), notes: `whole scan median ${(median / 1000).toFixed(1)} s incl. reading ${memberships.toLocaleString('en')} memberships page by page (${(mid(reads) / 1000).toFixed(1)} s)` });

await boss.stop({ graceful: false });
await handle.destroy();
await database.stop();
await rm(dir, { recursive: true, force: true });
process.exit(0);
