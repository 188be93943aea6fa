/**
 * npm run bench:queue — raw pg-boss throughput against Gatehouse's, on one fresh database, so our
 * overhead is a ratio. Each run does OPERATIONS of both, one after the other:
 *
 * - Gatehouse: hires through the real path (signed HRIS webhook → reconcile plans operations rows →
 *   pg-boss job → execute-operation: claim, write, verification read, audit row, release of the
 *   next tier) against the sandbox with no latency and no rate limit;
 * - raw pg-boss: no-op jobs on a queue with the operation queue's options, worked by workers with
 *   the options Gatehouse's running operation workers have (read from its pg-boss, not copied),
 *   one send() per job as Gatehouse sends operation jobs, so each one NOTIFYs, with as many jobs
 *   in flight as those workers hold at once (a new one is sent as soon as one has been handled).
 *
 * Both are timed from the first send to the last completion (the database's completed_on /
 * finished_at). The whole bench has a hard time limit (BENCH_TIMEOUT_S), after which it stops
 * everything and exits 1. The first version of this bench stalled: it inserted its jobs before its
 * workers started, so nothing NOTIFYd them, and they polled every 30 s (pg-boss's default
 * notifyPollingIntervalSeconds; Gatehouse's workers set 1 s). Jobs sent on a transaction
 * (`db` option) do NOTIFY, at commit, in pg-boss 12.38.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { PgBoss, WorkOptions } from 'pg-boss';
import { setSandboxFaults, type SqlClient } from '../adapters/sandbox/index.js';
import type { Adapter } from '../adapters/types.js';
import { startGatehouse } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { signHris } from '../src/intake/hris-signature.js';
import { createLogger } from '../src/log.js';
import { createAdapterRegistry } from '../src/orchestrator/adapter-registry.js';
import { QUEUES, startQueue } from '../src/orchestrator/queue.js';
import { runPriority } from '../src/orchestrator/run-state.js';
import { benchDatabase } from './bench-database.js';
import { median, report } from './result.js';

const GROUPS = 4; // per person: the okta account, then 4 groups once it exists
const PER_PERSON = 1 + GROUPS;
const PEOPLE = Math.ceil(Number(process.env.BENCH_OPERATIONS ?? 5000) / PER_PERSON);
const OPERATIONS = PEOPLE * PER_PERSON;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
// Raw jobs in flight (sent, not yet handled); by default what Gatehouse's workers hold at once. Not
// "send them all": a backlog the workers do not keep up with drains, once the sends and their
// NOTIFYs stop, at the polling rate (4 workers × 5 jobs a second). So open-loop senders measured
// 270–340 jobs/s on a local server but 37 on embedded Postgres, whose sends are faster.
const IN_FLIGHT = process.env.BENCH_IN_FLIGHT ? Number(process.env.BENCH_IN_FLIGHT) : undefined;
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 1200);
const RUN_TIMEOUT_MS = 5 * 60_000;
const SECRET = 'bench-queue';
const log = createLogger('silent');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Everything still running, stopped in reverse order on the way out, whichever way that is.
const stops: { what: string; stop: () => Promise<unknown> }[] = [];
const stopped = (what: string) => {
  const i = stops.findIndex((s) => s.what === what);
  if (i >= 0) stops.splice(i, 1);
};
let exiting = false;
async function exit(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    // A stop that hangs must not hang the bench: whatever is left after 20 s is abandoned.
    setTimeout(() => {
      console.error(`bench:queue: shutdown did not finish in 20 s (left: ${stops.map((s) => s.what).join(', ')}); exiting anyway`);
      process.exit(code || 1);
    }, 20_000).unref();
    for (const { what, stop } of stops.reverse()) await stop().catch((error) => console.error(`bench:queue: stopping ${what} failed:`, error));
    process.exit(code);
  }
  return new Promise<never>(() => {});
}
const watchdog = setTimeout(() => {
  console.error(`\nbench:queue FAILED: not finished after ${TIMEOUT_S} s (BENCH_TIMEOUT_S); stopping everything.`);
  void exit(1);
}, TIMEOUT_S * 1000);
for (const event of ['unhandledRejection', 'uncaughtException'] as const) {
  process.on(event, (error) => {
    console.error('bench:queue FAILED:', error);
    void exit(1);
  });
}

/** Polls until `check` returns a value, or throws (loudly) after RUN_TIMEOUT_MS. */
async function until<T>(what: string, check: () => Promise<T | undefined>, progress: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  for (;;) {
    const done = await check();
    if (done !== undefined) return done;
    if (Date.now() > deadline) throw new Error(`${what} did not finish in ${RUN_TIMEOUT_MS / 1000} s (${await progress()})`);
    await sleep(100);
  }
}

const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-queue-'));
await chmod(dir, 0o755);
stops.push({ what: 'temporary directory', stop: () => rm(dir, { recursive: true, force: true }) });
const database = await benchDatabase(dir, 'queue');
stops.push({ what: 'database', stop: () => database.stop() });
// The bench's own connection, for reading progress (pg-boss's job table, operations, statistics).
const pool = new pg.Pool({ connectionString: database.url, max: 2 });
pool.on('error', () => {});
stops.push({ what: 'bench pool', stop: () => pool.end() });

const policies = join(dir, 'policies');
await mkdir(policies);
await writeFile(join(policies, 'everyone.yaml'), `name: everyone\ndescription: bench\nowner: "@it"\nwhen: { status: active }\ngrants: [${Array.from({ length: GROUPS }, (_, i) => `okta:group:g${i}`).join(', ')}]\n`);
const config = loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET, SYSTEMS: 'okta', POLICIES_DIR: policies, RATE_LIMITS: 'okta=1000000000', ...(process.env.BENCH_DRIFT_SCHEDULE ? { DRIFT_SCHEDULE: process.env.BENCH_DRIFT_SCHEDULE } : {}) });

// The bench's own queries, not to be counted as the work's.
let ownQueries = 0;
const query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
  ownQueries++;
  return pool.query<R>(text, values);
};
const commits = async () => Number((await query<{ n: string }>('select xact_commit as n from pg_stat_database where datname = current_database()')).rows[0]!.n);
/**
 * Transactions committed in this database during `fn`, less the bench's own; approximate, as
 * statistics reach pg_stat_database within a second or two, and `fn` includes a start and a stop.
 */
async function counted<T>(fn: () => Promise<T>): Promise<{ result: T; commits: number }> {
  await sleep(2_000);
  const before = await commits();
  const own = ownQueries;
  const result = await fn();
  await sleep(2_000);
  return { result, commits: (await commits()) - before - (ownQueries - own) };
}

// The sandbox keeps the vendor's side in the same Postgres: its queries are counted apart from ours.
let sandboxQueries = 0;
const counting = (sql: SqlClient): SqlClient => ({
  query: <R extends object>(text: string, values?: unknown[]) => {
    sandboxQueries++;
    return sql.query<R>(text, values);
  },
});

/** Gatehouse as `serve` runs it; its operation workers' options, as pg-boss holds them. */
async function gatehouseRun(run: number): Promise<{ rate: number; failed: number; extra: number; sandboxQueries: number; workerOptions: WorkOptions[] }> {
  // The same registry, on the same pool (the sandbox's), only counted.
  const gatehouse = await startGatehouse(config, log, { adapters: (built) => createAdapterRegistry(config, { sql: counting((built.get('okta') as Adapter & { sql: SqlClient }).sql) }) });
  stops.push({ what: 'gatehouse', stop: () => gatehouse.stop() });
  await setSandboxFaults(pool, 'okta', { latencyMs: 0 });
  // One entry per work() call (its localConcurrency workers share a workId), without what pg-boss derived.
  const byWork = new Map<string, WorkOptions>();
  for (const worker of gatehouse.boss.getWipData()) {
    if (worker.name !== QUEUES.operation.name) continue;
    const { pollingInterval: _p, notifyPollingInterval: _n, ...options } = worker.options as WorkOptions & { pollingInterval?: number; notifyPollingInterval?: number };
    byWork.set(worker.workId, options);
  }
  const workerOptions = [...byWork.values()];

  const hire = (i: number) => ({ event_type: 'employee.hired', event_id: `q${run}-hire-${i}`, timestamp: '2026-11-20T09:00:00Z', data: { employee_id: `q${run}-${i}`, email: `q${run}-${i}@company.com`, first_name: 'Q', last_name: String(i) } });
  // Done when every grant of the run's people is verified (or failed) and none of their operations is
  // still to run. Operations beyond the plan's (a re-plan superseding one) are counted, not refused.
  const progress = async () => {
    const { rows } = await query<{ granted: number; failed: number; operations: number; open: number; last: Date | null; states: Record<string, number> }>(
      `with ops as (select o.* from operations o join people p on p.id = o.person_id where p.employee_id like $1)
       select (select count(*) from grants g join people p on p.id = g.person_id where p.employee_id like $1 and g.status in ('verified', 'applied'))::int as granted,
              (select count(*) from grants g join people p on p.id = g.person_id where p.employee_id like $1 and g.status = 'failed')::int as failed,
              (select count(*) from ops)::int as operations,
              (select count(*) from ops where state in ('pending', 'running'))::int as open,
              (select max(finished_at) from ops) as last,
              (select coalesce(jsonb_object_agg(state, n), '{}') from (select state, count(*)::int as n from ops group by state) s) as states`,
      [`q${run}-%`],
    );
    return rows[0]!;
  };
  const sandboxBefore = sandboxQueries;
  const started = Date.now();
  for (let i = 0; i < PEOPLE; i += 100) {
    const body = JSON.stringify({ events: Array.from({ length: Math.min(100, PEOPLE - i) }, (_, k) => hire(i + k)) });
    const res = await fetch(`http://127.0.0.1:${gatehouse.port}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(SECRET, body) }, body });
    if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
  }
  const done = await until(
    `Gatehouse run ${run + 1}`,
    async () => {
      const p = await progress();
      return p.granted + p.failed >= OPERATIONS && p.open === 0 ? p : undefined;
    },
    async () => JSON.stringify(await progress()),
  );
  const sandbox = sandboxQueries - sandboxBefore;
  const extra = done.operations - OPERATIONS;
  if (extra !== 0) {
    console.log(`run ${run + 1}: ${done.operations} operations for ${OPERATIONS} grants (${PEOPLE} × ${PER_PERSON}): ${JSON.stringify(done.states)}`);
    // What the extra operations were, for the first few people who have them.
    const { rows } = await query<{ employee_id: string; history: string }>(
      `select p.employee_id, string_agg(format('#%s %s %s (run %s %s planned %s, finished %s)', o.id, o.key, o.state, left(r.id::text, 8), r.reason, to_char(r.started_at, 'HH24:MI:SS.MS'), to_char(o.finished_at, 'HH24:MI:SS.MS')), '; ' order by o.id) as history
         from operations o join people p on p.id = o.person_id join runs r on r.id = o.run_id
        where p.employee_id like $1 and o.person_id in (select person_id from operations group by person_id having count(*) > ${PER_PERSON})
        group by p.employee_id order by p.employee_id limit 5`,
      [`q${run}-%`],
    );
    for (const row of rows) console.log(`  ${row.employee_id}: ${row.history}`);
  }
  await gatehouse.stop();
  stopped('gatehouse');
  return { rate: OPERATIONS / ((done.last!.getTime() - started) / 1000), failed: done.failed, extra, sandboxQueries: sandbox, workerOptions };
}

/** Rejects, loudly, when `promise` has not settled in RUN_TIMEOUT_MS. */
async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${RUN_TIMEOUT_MS / 1000} s`)), RUN_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** pg-boss alone, with Gatehouse's constructor options (startQueue), queue options and worker options. */
async function rawRun(run: number, workerOptions: WorkOptions[], inFlight: number): Promise<number> {
  const boss: PgBoss = await startQueue(database.url, log);
  stops.push({ what: 'raw pg-boss', stop: () => boss.stop({ graceful: false }) });
  const queue = `bench-raw-${run}`;
  const { name: _name, ...queueOptions } = QUEUES.operation;
  await boss.createQueue(queue, queueOptions);
  // No-op, but for telling the sender that its job has been handled.
  const handled = new Map<number, () => void>();
  for (const options of workerOptions) {
    await boss.work<{ operationId: number }>(queue, options, async (jobs) => {
      for (const job of jobs) handled.get(job.data.operationId)?.();
    });
  }
  const progress = async () => {
    const { rows } = await query<{ completed: number; failed: number; last: Date | null }>(
      `select count(*) filter (where state = 'completed')::int as completed, count(*) filter (where state = 'failed')::int as failed, max(completed_on) as last
         from pgboss.job where name = $1`,
      [queue],
    );
    return rows[0]!;
  };
  const priority = runPriority('joiner');
  const started = Date.now();
  let next = 0;
  await within(
    `raw pg-boss run ${run + 1}'s sends`,
    Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let n = next++; n < OPERATIONS; n = next++) {
          const done = new Promise<void>((resolve) => handled.set(n, resolve));
          await boss.send(queue, { operationId: n }, { priority });
          await done;
          handled.delete(n);
        }
      }),
    ),
  );
  const done = await until(
    `raw pg-boss run ${run + 1}`,
    async () => {
      const p = await progress();
      return p.completed + p.failed >= OPERATIONS ? p : undefined;
    },
    async () => JSON.stringify(await progress()),
  );
  if (done.failed > 0) throw new Error(`${done.failed} no-op jobs failed`);
  // Its jobs go, so that Gatehouse's next run does not share a job table with them.
  await boss.offWork(queue);
  await boss.deleteQueue(queue);
  await boss.stop({ graceful: false });
  stopped('raw pg-boss');
  return OPERATIONS / ((done.last!.getTime() - started) / 1000);
}

/** The jobs Gatehouse's operation workers hold at once, leaving out those reserved for leavers. */
const inFlight = (workerOptions: WorkOptions[]) =>
  IN_FLIGHT ?? workerOptions.filter((o) => !o.minPriority || o.minPriority <= runPriority('joiner')).reduce((n, o) => n + (o.localConcurrency ?? 1) * (o.batchSize ?? 1), 0);

try {
  const raw: number[] = [];
  const ours: number[] = [];
  const rawCommits: number[] = [];
  const ourCommits: number[] = [];
  const sandboxCommits: number[] = [];
  let failed = 0;
  let extra = 0;
  let workerOptions: WorkOptions[] = [];
  // Alternating, so that whatever drifts during the bench (the tables growing, the machine) touches both.
  for (let run = 0; run < RUNS; run++) {
    const g = await counted(() => gatehouseRun(run));
    ours.push(g.result.rate);
    ourCommits.push(g.commits);
    sandboxCommits.push(g.result.sandboxQueries);
    failed += g.result.failed;
    extra += g.result.extra;
    workerOptions = g.result.workerOptions;
    if (workerOptions.length === 0) throw new Error(`Gatehouse has no workers on "${QUEUES.operation.name}"`);
    const r = await counted(() => rawRun(run, workerOptions, inFlight(workerOptions)));
    raw.push(r.result);
    rawCommits.push(r.commits);
    console.log(`run ${run + 1}/${RUNS}: Gatehouse ${g.result.rate.toFixed(0)} operations/s, raw pg-boss ${r.result.toFixed(0)} jobs/s`);
  }
  clearTimeout(watchdog);

  const spread = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { median: Math.round(median(xs)), min: Math.round(s[0]!), max: Math.round(s.at(-1)!) };
  };
  const r = spread(raw);
  const g = spread(ours);
  const ratio = median(ours) / median(raw);
  const perJob = median(rawCommits) / OPERATIONS;
  const perOp = median(ourCommits) / OPERATIONS;
  const sandboxPerOp = median(sandboxCommits) / OPERATIONS;
  // In transactions committed per second the two sides are comparable: they differ in how many one unit of work needs.
  const rawTps = median(raw) * perJob;
  const ourTps = median(ours) * perOp;
  const workers = workerOptions.map((o) => `${o.localConcurrency ?? 1}×${o.batchSize ?? 1}${o.minPriority ? ` (priority ≥ ${o.minPriority} only)` : ''}`).join(' + ');
  const polling = `polling ${workerOptions[0]!.pollingIntervalSeconds ?? 2} s, ${workerOptions[0]!.notifyPollingIntervalSeconds ?? 30} s with NOTIFY`;

  console.log('\nbench:queue — raw pg-boss throughput and Gatehouse operations on the same database');
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, Postgres: ${database.kind}`);
  console.log(`work per run: ${PEOPLE} hires × ${PER_PERSON} operations (okta account + ${GROUPS} groups) = ${OPERATIONS} operations through Gatehouse, then ${OPERATIONS} raw no-op jobs; runs: ${RUNS}, alternating`);
  console.log(`workers, both sides: "${QUEUES.operation.name}" queue options, workers ${workers} (read from Gatehouse's running workers), ${polling}`);
  console.log(`raw jobs: one send() each (NOTIFY on), as Gatehouse sends one job per operation, ${inFlight(workerOptions)} in flight (what the workers hold at once; the next is sent when one has been handled); timed from the first send to the last completed_on`);
  console.log(`Gatehouse: sandbox 0 ms per call, no rate limit; timed from the first webhook to the last operation's finished_at; ${failed} grants failed, ${extra} operations beyond the plan's over all runs`);
  console.log(`raw pg-boss: median ${r.median} jobs/s (min ${r.min}, max ${r.max}); ${perJob.toFixed(1)} transactions per job`);
  console.log(`Gatehouse:   median ${g.median} operations/s (min ${g.min}, max ${g.max}); ${perOp.toFixed(1)} transactions per operation, of which ${sandboxPerOp.toFixed(1)} the sandbox's own (it keeps the vendor's side in the same Postgres)`);
  console.log(`ratio Gatehouse ÷ raw: ${ratio.toFixed(2)}; in transactions committed per second: raw ${rawTps.toFixed(0)}, Gatehouse ${ourTps.toFixed(0)}`);

  report({ name: 'queue: raw pg-boss', work: `${OPERATIONS} no-op jobs, one send() each, ${inFlight(workerOptions)} in flight, workers as Gatehouse's (${workers}, ${polling}), Postgres ${database.kind}`, runs: RUNS, unit: 'jobs/s', ...r, notes: `first send → last completion; ${perJob.toFixed(1)} transactions per job (send, fetch, complete)` });
  report({
    name: 'queue: Gatehouse operations',
    work: `${PEOPLE} hires × ${PER_PERSON} operations (webhook → reconcile → operations), sandbox 0 ms, no rate limit, same database, Postgres ${database.kind}`,
    runs: RUNS,
    unit: 'operations/s',
    ...g,
    notes: `${ratio.toFixed(2)}× raw pg-boss (median ÷ median); each operation is more than a job: a reconcile job plans it (one per person), then its own job claims it (token, claim UPDATE), writes, reads back to verify, records the grant and an audit row, and releases the next tier: ${perOp.toFixed(1)} transactions per operation, of which ${sandboxPerOp.toFixed(1)} are the sandbox's own (the vendor's side, kept in the same Postgres), against ${perJob.toFixed(1)} per raw job; ≈${ourTps.toFixed(0)} vs ${rawTps.toFixed(0)} transactions/s; ${failed} grants failed${extra ? `, ${extra} operations beyond the plan's (re-plans)` : ''}`,
  });
  await exit(0);
} catch (error) {
  // After the time limit, what fails is only the stopping of everything: said already.
  if (!exiting) console.error('\nbench:queue FAILED:', error);
  await exit(1);
}
