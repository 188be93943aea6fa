/**
 * npm run soak — fault-injection soak. Two `gatehouse serve` processes on one database, every
 * system sandboxed with 429s, 5xx, timeouts and latency; a driver sends hires, movers, leavers and
 * rehires over the signed HRIS webhook (duplicates, out-of-order timestamps, batches, alternating
 * servers, retrying while a server is down), and people ask for access with `/access` in Slack
 * (a local fake of Slack's Web API) which approvers approve or deny, each for a minute so that
 * the expiries come due; meanwhile a serve is SIGKILLed and restarted
 * SOAK_KILLS times, Postgres is taken away once, and one system's credentials fail for a while.
 * Then chaos stops, the queue drains, and the end state is checked: grants = policies, the
 * sandbox = grants, every request decided and every expired one revoked, no broadcast mention
 * reached Slack, no event lost, no side effect duplicated, leavers hold nothing, the audit
 * chain verifies, and every dead letter is explained by an injected fault. Prints a summary and
 * exits 1 when any check fails.
 *
 * Environment: SOAK_PEOPLE (300), SOAK_EVENTS (2000), SOAK_KILLS (10), SOAK_SECONDS (180: how long
 * events and chaos last), SOAK_REQUESTS (events ÷ 8: `/access` requests, each for a minute), SOAK_DRAIN_SECONDS (how long the queue may take to drain afterwards),
 * SOAK_SEED, SOAK_TUNED (1: serve through bench/soak/serve.js with crash-recovery clocks in
 * seconds; 0: plain `node bin/gatehouse.js serve`, whose claim timeout and job expiry are 300 s and
 * auth pause 5 min, so drain takes that long), SOAK_KEEP=1 keeps the database and logs.
 * TEST_DATABASE_URL: a fresh database on that server (Postgres "restart" becomes terminating every
 * backend of it); unset, an embedded Postgres that is stopped and started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type FaultSettings, sandboxWriteCounts, setSandboxFaults } from '../adapters/sandbox/index.js';
import { verifyAudit } from '../src/audit/verify-audit.js';
import { loadConfig } from '../src/config.js';
import { createDatabase } from '../src/db/database.js';
import { signHris } from '../src/intake/hris-signature.js';
import { createAdapterRegistry } from '../src/orchestrator/adapter-registry.js';
import { impliedAccounts, systemOf } from '../src/plan/operation-graph.js';
import { buildPolicySet, evaluate, loadPolicies } from '../src/policy/index.js';
import { soakDatabase } from './soak/database.js';
import { MANAGER_EMAIL, requestableFor, SoakSlack, slackIdOf } from './soak/slack.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository: this file runs as dist/bench/soak.js. */
const ROOT = join(HERE, '..', '..');
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const PEOPLE = env('SOAK_PEOPLE', 300);
const EVENTS = Math.max(env('SOAK_EVENTS', 2000), PEOPLE);
const KILLS = env('SOAK_KILLS', 10);
const SECONDS = env('SOAK_SECONDS', 180);
/** `/access` requests (each `for 1m`, so each expiry comes due during the run). */
const REQUESTS = env('SOAK_REQUESTS', Math.ceil(EVENTS / 8));
const TUNED = process.env.SOAK_TUNED !== '0';
const DRAIN_SECONDS = env('SOAK_DRAIN_SECONDS', TUNED ? 300 : 1200);
const SEED = env('SOAK_SEED', Date.now() % 1_000_000);
const SECRET = 'soak-hris-secret';
const AUTH_SYSTEM = 'google';
const FAULTY = ['okta', 'google', 'github', 'slack', 'jira'];
const FAULTS: FaultSettings = { rate429: 0.05, retryAfterMs: 500, rate5xx: 0.05, rateTimeout: 0.01, latencyMs: 20 };
const CALM: FaultSettings = { latencyMs: 5 };
const SYSTEMS = ['okta', 'google', 'aws', 'github', 'gitlab', 'slack', 'salesforce', 'jira'];
const TUNING = { SOAK_CLAIM_TIMEOUT_MS: '10000', SOAK_OPERATION_EXPIRE_S: '20', SOAK_AUTH_PAUSE_MS: '5000' };

// ---------------------------------------------------------------- randomness (seeded, mulberry32)
let state = SEED >>> 0;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1);
const say = (line: string) => process.stdout.write(`[${elapsed()} s] ${line}\n`);

// ---------------------------------------------------------------- the HR world
interface Record_ {
  employee_id: string;
  email: string;
  first_name: string;
  last_name: string;
  job_title: string;
  department: string;
  team: string;
  employment_type: 'FTE' | 'Contractor' | 'Intern';
  start_date: string;
  location: string;
  status: 'active' | 'terminated';
  manager_email: string;
}
interface HrisEvent {
  event_type: 'employee.hired' | 'employee.updated' | 'employee.terminated';
  event_id: string;
  timestamp: string;
  data: Record_;
}
/** Roles that the example policies (policies/) tell apart. */
const ROLES: Pick<Record_, 'department' | 'team' | 'job_title' | 'employment_type'>[] = [
  { department: 'Engineering', team: 'Platform', job_title: 'Platform Engineer', employment_type: 'FTE' },
  { department: 'Engineering', team: 'Platform', job_title: 'Senior Platform Engineer', employment_type: 'FTE' },
  { department: 'Engineering', team: 'Platform', job_title: 'Platform Engineer', employment_type: 'Contractor' },
  { department: 'Engineering', team: 'Backend', job_title: 'Software Engineer', employment_type: 'FTE' },
  { department: 'Sales', team: 'Enterprise', job_title: 'Account Executive', employment_type: 'FTE' },
  { department: 'Sales', team: 'Enterprise', job_title: 'Sales Engineer', employment_type: 'FTE' },
  { department: 'Finance', team: 'FP&A', job_title: 'Financial Analyst', employment_type: 'FTE' },
  { department: 'Finance', team: 'FP&A', job_title: 'Finance Intern', employment_type: 'Intern' },
];
const LOCATIONS = ['San Francisco', 'New York', 'London', 'Berlin', 'Toronto'];
const START_DATE = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
const T0 = Date.now() - 20 * 86_400_000;

interface Person {
  record: Record_;
  hired: boolean;
  lastTs: number;
}
const people: Person[] = Array.from({ length: PEOPLE }, (_, i) => ({
  record: { employee_id: `soak_${i}`, email: `p${i}@company.com`, first_name: 'Soak', last_name: `Person${i}`, ...pick(ROLES), start_date: START_DATE, location: pick(LOCATIONS), status: 'active', manager_email: MANAGER_EMAIL },
  hired: false,
  lastTs: 0,
}));

/** Generates the events: every person hired once, then movers, leavers, rehires and late (stale) updates. */
function generate(): HrisEvent[] {
  const events: HrisEvent[] = [];
  let clock = T0;
  let nextHire = 0;
  while (events.length < EVENTS) {
    clock += 60_000;
    const remaining = EVENTS - events.length;
    const unhired = PEOPLE - nextHire;
    if (unhired > 0 && (random() < 0.5 || remaining <= unhired || nextHire < 5)) {
      const p = people[nextHire++]!;
      p.hired = true;
      p.lastTs = clock;
      events.push({ event_type: 'employee.hired', event_id: `hire-${p.record.employee_id}`, timestamp: new Date(clock).toISOString(), data: { ...p.record } });
      continue;
    }
    const p = people[Math.floor(random() * nextHire)]!;
    const n = events.length;
    const roll = random();
    if (roll < 0.12) {
      // A late update: dated before the person's newest change, so it must not win.
      const data: Record_ = { ...p.record, ...pick(ROLES), location: pick(LOCATIONS) };
      events.push({ event_type: 'employee.updated', event_id: `late-${n}`, timestamp: new Date(p.lastTs - (1 + Math.floor(random() * 58)) * 1000).toISOString(), data });
      continue;
    }
    p.lastTs = clock;
    if (p.record.status === 'terminated') {
      p.record = { ...p.record, status: 'active', ...(random() < 0.5 ? pick(ROLES) : {}) };
      events.push({ event_type: 'employee.hired', event_id: `rehire-${n}`, timestamp: new Date(clock).toISOString(), data: { ...p.record } });
    } else if (roll < 0.3) {
      p.record = { ...p.record, status: 'terminated' };
      events.push({ event_type: 'employee.terminated', event_id: `leave-${n}`, timestamp: new Date(clock).toISOString(), data: { ...p.record } });
    } else {
      p.record = { ...p.record, ...(random() < 0.8 ? pick(ROLES) : {}), location: random() < 0.4 ? pick(LOCATIONS) : p.record.location };
      events.push({ event_type: 'employee.updated', event_id: `move-${n}`, timestamp: new Date(clock).toISOString(), data: { ...p.record } });
    }
  }
  return events;
}

interface Post {
  events: HrisEvent[];
  batch: boolean;
  duplicate: boolean;
}
/** Singles and batches; some posts swapped with their neighbour; some delivered twice; some batches carry an old event again. */
function posts(events: HrisEvent[]): Post[] {
  const out: Post[] = [];
  for (let i = 0; i < events.length; ) {
    const size = random() < 0.6 ? 1 : 2 + Math.floor(random() * 7);
    const chunk = events.slice(i, i + size);
    i += size;
    if (chunk.length > 1 && out.length > 0 && random() < 0.15) {
      const old = pick(pick(out).events);
      if (!chunk.some((e) => e.event_id === old.event_id)) chunk.push(old);
    }
    out.push({ events: chunk, batch: chunk.length > 1 || random() < 0.2, duplicate: false });
  }
  for (let i = 1; i < out.length; i++) if (random() < 0.2) [out[i - 1], out[i]] = [out[i]!, out[i - 1]!];
  const dups = out.filter(() => random() < 0.1).map((p) => ({ ...p, duplicate: true }));
  for (const d of dups) out.splice(Math.min(out.length, out.indexOf(out.find((p) => p.events === d.events)!) + 1 + Math.floor(random() * 20)), 0, d);
  return out;
}

// ---------------------------------------------------------------- serve processes
interface Slot {
  name: string;
  port: number;
  log: string;
  child: ChildProcess | null;
  killedByUs: boolean;
  starts: number;
}
const unexpectedExits: string[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function startServe(slot: Slot, databaseUrl: string): Promise<void> {
  const fd = openSync(slot.log, 'a');
  const args = TUNED ? [join(ROOT, 'dist', 'bench', 'soak', 'serve.js')] : [join(ROOT, 'bin', 'gatehouse.js'), 'serve'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl, PORT: String(slot.port), HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET, POLICIES_DIR: 'policies', LOG_LEVEL: 'info', DRIFT_SCHEDULE: 'off', ...slackEnv, ...(TUNED ? TUNING : {}) },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  slot.child = child;
  slot.killedByUs = false;
  slot.starts++;
  child.on('exit', (code, signal) => {
    if (slot.child === child) slot.child = null;
    if (!slot.killedByUs) {
      unexpectedExits.push(`${slot.name} exited on its own (code ${code}, signal ${signal}); last log lines:\n${tail(slot.log)}`);
      say(`!! ${slot.name} exited on its own (code ${code}, signal ${signal})`);
    }
  });
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (!slot.child) throw new Error(`${slot.name} died while starting:\n${tail(slot.log)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${slot.port}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${slot.name} did not start in 90 s:\n${tail(slot.log)}`);
    await sleep(100);
  }
}

async function stopServe(slot: Slot, signal: NodeJS.Signals): Promise<void> {
  const child = slot.child;
  if (!child) return;
  slot.killedByUs = true;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------- main
/**
 * A transfer's old access is revoked after its policy's mover_overlap (platform-engineer: 7 days):
 * those revokes wait with a not_before days ahead, and an account's suspension waits on them.
 * They are the only work a drained queue may still hold.
 */
const DEFERRED_OPS = `select d.id from operations d where d.state = 'pending' and d.kind = 'revoke' and (d.not_before > now() + interval '1 hour'
  or (cardinality(d.depends_on) > 0 and exists (select 1 from operations x where x.run_id = d.run_id and x.state = 'pending' and x.not_before > now() + interval '1 hour')))`;
const dir = await mkdtemp(join(tmpdir(), 'gatehouse-soak-'));
await chmod(dir, 0o755);
const database = await soakDatabase(dir);
const pool = new pg.Pool({ connectionString: database.url, max: 4 });
pool.on('error', () => {}); // idle clients die with the Postgres outage; queries retry below
/** The driver's own queries, which must survive the Postgres outage it causes. */
async function query<R extends object>(text: string, values: unknown[] = []): Promise<R[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (error) {
      if (attempt >= 60) throw error;
      await sleep(500);
    }
  }
}

// Slack: a local fake of its Web API for both serves, and the people who use /access.
const slack = await new SoakSlack(() => slots.map((s) => s.port), Math.random).start(people.map((p) => p.record));
const slackEnv = slack.env();
const slots: Slot[] = await Promise.all(['serve-a', 'serve-b'].map(async (name) => ({ name, port: await freePort(), log: join(dir, `${name}.log`), child: null, killedByUs: false, starts: 0 })));
let exitCode: number;
try {
  say(`soak: ${PEOPLE} people, ${EVENTS} events over ${SECONDS} s, ${KILLS} kills, seed ${SEED}, Postgres ${database.kind}, serve ${TUNED ? `soak-tuned (${Object.entries(TUNING).map(([k, v]) => `${k}=${v}`).join(' ')})` : 'plain gatehouse serve'}`);
  await startServe(slots[0]!, database.url); // migrates
  await startServe(slots[1]!, database.url);
  for (const system of SYSTEMS) await setSandboxFaults(pool, system, FAULTY.includes(system) ? FAULTS : CALM);
  say(`two serves up on ports ${slots.map((s) => s.port).join(', ')}; faults on ${FAULTY.join(', ')}: ${JSON.stringify(FAULTS)}`);

  // ---- the driver
  const events = generate();
  const plan = posts(events);
  const accepted = new Set<string>();
  const stats = { posts: 0, batches: 0, duplicatePosts: 0, answered202: 0, answered200: 0, eventsAccepted: 0, eventsDuplicate: 0, retries503: 0, connectionErrors: 0, refused: [] as string[] };
  let next = 0;
  const chaosDone = { value: false };
  const deliver = async (post: Post, index: number) => {
    const body = JSON.stringify(post.batch ? { events: post.events } : post.events[0]);
    const giveUp = Date.now() + 300_000;
    for (let attempt = 0; ; attempt++) {
      const slot = slots[(index + attempt) % 2]!;
      try {
        const res = await fetch(`http://127.0.0.1:${slot.port}/hris/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'gatehouse-signature': signHris(SECRET, body) }, body, signal: AbortSignal.timeout(15_000) });
        const text = await res.text();
        if (res.status === 202 || res.status === 200) {
          stats[res.status === 202 ? 'answered202' : 'answered200']++;
          const answer = JSON.parse(text) as { events?: { event_id: string; status: string }[]; duplicate?: boolean };
          const results = answer.events ?? [{ event_id: post.events[0]!.event_id, status: answer.duplicate ? 'duplicate' : 'accepted' }];
          for (const r of results) {
            accepted.add(r.event_id);
            stats[r.status === 'accepted' ? 'eventsAccepted' : 'eventsDuplicate']++;
          }
          return;
        }
        if (res.status >= 500) stats.retries503++;
        else {
          stats.refused.push(`${res.status} ${text.slice(0, 300)}`);
          return;
        }
      } catch {
        stats.connectionErrors++;
      }
      if (Date.now() > giveUp) {
        stats.refused.push(`gave up after 300 s: ${post.events.map((e) => e.event_id).join(', ')}`);
        return;
      }
      await sleep(200 + Math.floor(random() * 300));
    }
  };
  const driverStart = Date.now();
  const sender = async () => {
    for (;;) {
      const index = next++;
      const post = plan[index];
      if (!post) return;
      const due = driverStart + (index / plan.length) * SECONDS * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      stats.posts++;
      if (post.batch) stats.batches++;
      if (post.duplicate) stats.duplicatePosts++;
      await deliver(post, index);
    }
  };
  const driving = Promise.all(Array.from({ length: 4 }, sender));

  // ---- access requests through Slack: asked over the first 70% of the run, each for a minute
  const requesting = (async () => {
    for (let n = 0; n < REQUESTS; n++) {
      const due = driverStart + (n / REQUESTS) * SECONDS * 700;
      if (due > Date.now()) await sleep(due - Date.now());
      const active = await query<{ employee_id: string; data: Record_ }>(`select employee_id, data from people where status = 'active'`);
      const eligible = active.filter((p) => requestableFor(p.data));
      const who = eligible.length > 0 && Math.random() < 0.9 ? eligible[Math.floor(Math.random() * eligible.length)]! : active[Math.floor(Math.random() * active.length)];
      if (!who) continue;
      const entitlement = requestableFor(who.data) ?? 'aws:account-assignment:222222222222#AdministratorAccess';
      // Now and then a justification that tries to ping the channel or break out of SQL.
      const why = Math.random() < 0.2 ? `<!channel> '; drop table people; -- soak ${n}` : `soak ${n}`;
      await slack.command(slackIdOf(who.employee_id), `request ${entitlement} for 1m because ${why}`);
    }
  })();
  const approving = { done: false };
  const approver = (async () => {
    while (!approving.done) {
      await slack.answerApprovals(0.15);
      await sleep(500);
    }
  })();

  // ---- chaos
  const chaos = { kills: 0, pgOutages: 0, authOutageMs: 0 };
  const timeline: { at: number; what: string; run: () => Promise<void> }[] = [];
  for (let i = 0; i < KILLS; i++) {
    timeline.push({
      at: SECONDS * (0.05 + (0.8 * (i + random())) / KILLS),
      what: 'kill',
      run: async () => {
        const slot = pick(slots.filter((s) => s.child));
        if (!slot) return;
        await stopServe(slot, 'SIGKILL');
        chaos.kills++;
        say(`SIGKILL ${slot.name} (kill ${chaos.kills})`);
        await sleep(300 + random() * 1500);
        await startServe(slot, database.url);
        say(`${slot.name} restarted`);
      },
    });
  }
  let authFrom = 0;
  timeline.push({
    at: SECONDS * 0.2,
    what: 'auth',
    run: async () => {
      await query('select 1');
      await setSandboxFaults(pool, AUTH_SYSTEM, { ...FAULTS, authFailing: true });
      authFrom = Date.now();
      say(`${AUTH_SYSTEM} credentials failing (authFailing)`);
    },
  });
  timeline.push({
    at: SECONDS * 0.2 + Math.max(5, SECONDS * 0.15),
    what: 'auth-end',
    run: async () => {
      await query('select 1');
      await setSandboxFaults(pool, AUTH_SYSTEM, FAULTS);
      chaos.authOutageMs = Date.now() - authFrom;
      say(`${AUTH_SYSTEM} credentials work again`);
    },
  });
  timeline.push({
    at: SECONDS * 0.5,
    what: 'postgres',
    run: async () => {
      say(`Postgres outage: ${database.outage}`);
      await database.disrupt();
      chaos.pgOutages++;
      say('Postgres back');
    },
  });
  timeline.sort((a, b) => a.at - b.at);
  // Two lanes, so a kill waiting for its serve to come back does not delay the credential outage
  // or the database outage (nor they the kills): kills one after another, the rest in order.
  const lane = async (steps: typeof timeline) => {
    for (const step of steps) {
      const due = driverStart + step.at * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      await step.run();
    }
  };
  const chaosRun = Promise.all([lane(timeline.filter((t) => t.what === 'kill')), lane(timeline.filter((t) => t.what !== 'kill'))]).then(() => {
    chaosDone.value = true;
  });
  // Restart anything that died on its own, so the run goes on (the death is reported).
  const watchdog = (async () => {
    while (!chaosDone.value) {
      await sleep(1_000);
      for (const s of slots) if (!s.child && !s.killedByUs) await startServe(s, database.url).catch(() => {});
    }
  })();
  await Promise.all([driving, chaosRun, watchdog, requesting]);
  const driveSeconds = (Date.now() - driverStart) / 1000;
  say(`events and chaos done after ${driveSeconds.toFixed(1)} s: ${stats.posts} posts, ${accepted.size} distinct events accepted`);

  // ---- calm, then drain
  for (const system of SYSTEMS) await setSandboxFaults(pool, system, CALM);
  for (const s of slots) if (!s.child) await startServe(s, database.url);
  const drainStart = Date.now();
  const deferredJob = `start_after > now() + interval '1 hour'`;
  let quiet = 0;
  let drained = false;
  let lastBusy = '';
  while (Date.now() - drainStart < DRAIN_SECONDS * 1000) {
    const [ops] = await query<{ n: number }>(`select count(*)::int as n from operations o where state in ('pending', 'running') and o.id not in (${DEFERRED_OPS})`);
    const [jobs] = await query<{ n: number }>(`select count(*)::int as n from pgboss.job where name in ('reconcile-person', 'operation') and state in ('created', 'retry', 'active') and not ${deferredJob}`);
    // Requests still open: approvals being answered, grants being made, one-minute clocks running.
    const [open] = await query<{ n: number }>(`select count(*)::int as n from access_requests where state in ('pending', 'approved', 'provisioning', 'active')`);
    const busy = `${ops!.n} operations pending/running, ${jobs!.n} jobs queued/active, ${open!.n} requests open`;
    if (ops!.n === 0 && jobs!.n === 0 && open!.n === 0) {
      if (++quiet >= 3) {
        drained = true;
        break;
      }
    } else quiet = 0;
    if (busy !== lastBusy && (Date.now() - drainStart) % 10_000 < 2_000) say(`draining: ${busy}`);
    lastBusy = busy;
    await sleep(2_000);
  }
  const drainSeconds = (Date.now() - drainStart) / 1000;
  approving.done = true;
  await approver;
  say(drained ? `queue drained in ${drainSeconds.toFixed(1)} s` : `queue did NOT drain in ${DRAIN_SECONDS} s: ${lastBusy}`);

  // ---- checks
  const checks: { name: string; ok: boolean; detail: string; problems: string[] }[] = [];
  const check = (name: string, problems: string[], detail: string) => checks.push({ name, ok: problems.length === 0, detail, problems });

  check('queue drained', drained ? [] : [lastBusy, ...(await query<{ id: number; state: string; phase: string; entitlement: string; started_at: Date | null; attempts: number }>(`select id, state, phase, entitlement, started_at, attempts from operations where state in ('pending','running') and id not in (${DEFERRED_OPS}) limit 10`)).map((o) => JSON.stringify(o))], `${drainSeconds.toFixed(1)} s after chaos stopped`);
  check('serve processes only died when killed', unexpectedExits, `${slots.map((s) => `${s.name} started ${s.starts}×`).join(', ')}`);
  check('every event delivered', stats.refused, `${accepted.size} of ${new Set(events.map((e) => e.event_id)).size} distinct events accepted`);

  // Lost events: each accepted event_id is stored, and was applied or classified.
  const stored = new Map((await query<{ event_id: string; classification: string | null; applied: boolean }>(`select event_id, classification, applied from person_events where source = 'hris'`)).map((r) => [r.event_id, r]));
  const lost = [...accepted].filter((id) => !stored.get(id) || (!stored.get(id)!.applied && stored.get(id)!.classification !== 'stale'));
  const classes: Record<string, number> = {};
  for (const r of stored.values()) classes[r.classification ?? 'null'] = (classes[r.classification ?? 'null'] ?? 0) + 1;
  check('zero lost events', lost.map((id) => `${id}: ${stored.has(id) ? 'stored but neither applied nor stale' : 'not stored'}`), `${stored.size} stored: ${Object.entries(classes).map(([k, v]) => `${k} ${v}`).join(', ')}`);

  // The person store: each person is their newest event (a termination wins a tie).
  const dbPeople = await query<{ id: string; employee_id: string; email: string; status: string; data: Record_ }>(`select id, employee_id, email, status, data from people`);
  const byEmployee = new Map(dbPeople.map((p) => [p.employee_id, p]));
  const newest = new Map<string, HrisEvent>();
  for (const e of events) {
    if (!accepted.has(e.event_id)) continue;
    const seen = newest.get(e.data.employee_id);
    if (!seen || Date.parse(e.timestamp) > Date.parse(seen.timestamp)) newest.set(e.data.employee_id, e);
  }
  const personProblems: string[] = [];
  for (const [employeeId, e] of newest) {
    const p = byEmployee.get(employeeId);
    const want = e.event_type === 'employee.terminated' ? 'terminated' : 'active';
    if (!p) personProblems.push(`${employeeId}: missing`);
    else if (p.status !== want) personProblems.push(`${employeeId}: status ${p.status}, newest event ${e.event_id} says ${want}`);
    else for (const k of ['department', 'team', 'job_title', 'employment_type', 'location'] as const) if (p.data[k] !== e.data[k]) personProblems.push(`${employeeId}: ${k} ${p.data[k]} ≠ ${e.data[k]} of ${e.event_id}`);
  }
  const active = dbPeople.filter((p) => p.status !== 'terminated').length;
  check('people = newest event each', personProblems, `${dbPeople.length} people: ${active} active, ${dbPeople.length - active} terminated`);

  // Desired (policies) vs the grants table.
  const loaded = await loadPolicies(join(ROOT, 'policies'));
  const policySet = buildPolicySet(loaded);
  const registry = createAdapterRegistry(loadConfig({ DATABASE_URL: database.url, POLICIES_DIR: join(ROOT, 'policies') }), { sql: pool });
  const dependencies = registry.dependencies();
  const grantRows = await query<{ person_id: string; entitlement: string; status: string; applied_at: Date | null; last_error: string | null }>(`select person_id, entitlement, status, applied_at, last_error from grants`);
  const deferred = await query<{ person_id: string; entitlement: string }>(`select person_id, entitlement from operations where id in (${DEFERRED_OPS})`);
  const deferredSet = new Set(deferred.map((d) => `${d.person_id} ${d.entitlement}`));
  const HELD = new Set(['applied', 'verified']);
  const held = new Map<string, Set<string>>();
  const grantProblems: string[] = [];
  // A grant whose last write ended without an answer (a crash, a timeout) and that a transfer's
  // scheduled revoke then took over is recorded `revoking`, never applied or with that error: whether
  // it is there is not known until the revoke runs (and removes it either way), so the sandbox may
  // or may not hold it.
  const unsure = new Set(grantRows.filter((g) => g.status === 'revoking' && (g.applied_at === null || g.last_error !== null) && deferredSet.has(`${g.person_id} ${g.entitlement}`)).map((g) => `${g.person_id} ${g.entitlement}`));
  for (const g of grantRows) {
    if (HELD.has(g.status) || (g.status === 'revoking' && deferredSet.has(`${g.person_id} ${g.entitlement}`))) {
      if (!held.has(g.person_id)) held.set(g.person_id, new Set());
      held.get(g.person_id)!.add(g.entitlement);
    } else if (g.status !== 'revoked') grantProblems.push(`${g.person_id} ${g.entitlement}: grant left ${g.status}`);
  }
  let desiredTotal = 0;
  const desiredOf = new Map<string, Set<string>>();
  for (const p of dbPeople) {
    const isActive = p.status !== 'terminated';
    const planned = evaluate(policySet, { ...p.data, status: isActive ? 'active' : 'terminated' });
    const wanted = planned.active ? planned.grants.map((g) => g.entitlement).filter((e) => registry.manages(systemOf(e))) : [];
    const want = new Set([...wanted, ...(planned.active ? impliedAccounts(wanted, dependencies, ['manual']) : [])]);
    desiredOf.set(p.id, want);
    desiredTotal += want.size;
    const have = held.get(p.id) ?? new Set<string>();
    for (const e of want) if (!have.has(e)) grantProblems.push(`${p.employee_id} (${p.status}): ${e} desired, not held`);
    for (const e of have) if (!want.has(e) && !deferredSet.has(`${p.id} ${e}`)) grantProblems.push(`${p.employee_id} (${p.status}): ${e} held, not desired`);
  }
  check('grants = desired (policies)', grantProblems, `${desiredTotal} desired grants over ${dbPeople.length} people; ${deferred.length} old grants of movers kept for mover_overlap (revoke scheduled)`);

  // The sandbox vs the grants table.
  const sbAccounts = await query<{ system: string; id: string; employee_id: string | null; status: string }>(`select system, id, employee_id, status from sandbox_accounts`);
  const sbGrants = await query<{ system: string; account_id: string; entitlement: string }>(`select system, account_id, entitlement from sandbox_grants`);
  const personByEmployee = new Map(dbPeople.map((p) => [p.employee_id, p]));
  const accountOwner = new Map(sbAccounts.map((a) => [`${a.system} ${a.id}`, a.employee_id ? personByEmployee.get(a.employee_id) : undefined]));
  const inSandbox = new Map<string, Set<string>>();
  const sandboxProblems: string[] = [];
  const add = (personId: string, e: string) => {
    if (!inSandbox.has(personId)) inSandbox.set(personId, new Set());
    inSandbox.get(personId)!.add(e);
  };
  for (const a of sbAccounts) {
    const owner = accountOwner.get(`${a.system} ${a.id}`);
    if (!owner) sandboxProblems.push(`${a.system} account ${a.id} (${a.employee_id}) belongs to nobody`);
    else if (a.status === 'active') add(owner.id, `${a.system}:account`);
  }
  for (const g of sbGrants) {
    const owner = accountOwner.get(`${g.system} ${g.account_id}`);
    if (!owner) sandboxProblems.push(`${g.entitlement} on ${g.system} account ${g.account_id} that belongs to nobody`);
    else add(owner.id, g.entitlement);
  }
  for (const p of dbPeople) {
    const a = held.get(p.id) ?? new Set<string>();
    const b = inSandbox.get(p.id) ?? new Set<string>();
    for (const e of a) if (!b.has(e) && !unsure.has(`${p.id} ${e}`)) sandboxProblems.push(`${p.employee_id}: grants table holds ${e}, the sandbox does not`);
    for (const e of b) if (!a.has(e) && !unsure.has(`${p.id} ${e}`)) sandboxProblems.push(`${p.employee_id}: the sandbox holds ${e}, the grants table does not`);
  }
  // A mismatch is an interleaving bug: print the history of each one so it can be understood.
  const mismatched = [...sandboxProblems.join('\n').matchAll(/^(\S+): (?:grants table holds|the sandbox holds) (\S+),/gm)].slice(0, 3);
  for (const [, employeeId, entitlement] of mismatched) {
    const person = dbPeople.find((p) => p.employee_id === employeeId);
    if (!person) continue;
    const system = systemOf(entitlement!);
    say(`history of ${employeeId} ${entitlement} (and its ${system} account):`);
    const ops = await query<Record<string, unknown>>(
      `select o.id, o.run_id, r.reason, o.kind, o.entitlement, o.state, o.phase, o.outcome, o.attempts, o.error_kind, o.depends_on, o.started_at, o.finished_at
         from operations o join runs r on r.id = o.run_id
        where o.person_id = $1 and (o.entitlement = $2 or o.entitlement = $3) order by o.id`,
      [person.id, entitlement, `${system}:account`],
    );
    for (const o of ops) say(`  op ${JSON.stringify(o)}`);
    const rows = await query<Record<string, unknown>>(
      `select seq, at, actor, action, entitlement, result, reason, detail from audit_log where lower(subject) = lower($1) and (entitlement = $2 or entitlement = $3 or entitlement is null) order by seq`,
      [person.email, entitlement, `${system}:account`],
    );
    for (const a of rows) say(`  audit ${JSON.stringify(a)}`);
    const writes = await query<Record<string, unknown>>(`select w.* from sandbox_writes w join sandbox_accounts a on a.system = w.system and a.id = w.account_id where a.employee_id = $1 and w.system = $2`, [employeeId, system]);
    for (const w of writes) say(`  sandbox write ${JSON.stringify(w)}`);
  }
  check('sandbox = grants table', sandboxProblems, `${sbAccounts.filter((a) => a.status === 'active').length} active accounts, ${sbGrants.length} grants in the sandbox${unsure.size > 0 ? `; ${unsure.size} grant(s) in an unknown state awaiting a transfer's scheduled revoke, either way` : ''}`);

  // Requests: every one answered and ended by now (each was for a minute); an ended one's access
  // is gone from the grants table and the sandbox (unless a policy grants it anyway).
  const requests = await query<{ id: number; person_id: string; entitlement: string; state: string; activated_at: Date | null; end_reason: string | null }>(`select id, person_id, entitlement, state, activated_at, end_reason from access_requests order by id`);
  const requestProblems: string[] = [];
  for (const r of requests) {
    if (['pending', 'approved', 'provisioning', 'active'].includes(r.state)) requestProblems.push(`request #${r.id} (${r.entitlement}) still ${r.state}`);
    if ((r.state === 'expired' || r.state === 'revoked') && !desiredOf.get(r.person_id)?.has(r.entitlement)) {
      if (held.get(r.person_id)?.has(r.entitlement)) requestProblems.push(`request #${r.id} ${r.state}: the grants table still holds ${r.entitlement}`);
      if (inSandbox.get(r.person_id)?.has(r.entitlement)) requestProblems.push(`request #${r.id} ${r.state}: the sandbox still holds ${r.entitlement}`);
    }
  }
  const stateCounts = new Map<string, number>();
  for (const r of requests) stateCounts.set(r.state, (stateCounts.get(r.state) ?? 0) + 1);
  const requestStates = [...stateCounts].map(([k, n]) => `${k} ${n}`).join(', ');
  const granted = requests.filter((r) => r.activated_at !== null).length;
  const expiredRequests = requests.filter((r) => r.state === 'expired').length;
  if (REQUESTS > 0 && granted === 0) requestProblems.push('no request was ever granted: the request flow did not run');
  if (REQUESTS > 0 && expiredRequests === 0) requestProblems.push('no request expired: the expiry path did not run');
  check('requests decided, expired access revoked', requestProblems, `${slack.stats.commands} /access commands → ${requests.length} requests (${requestStates}); ${granted} granted, ${expiredRequests} expired; ${slack.stats.approvals} approve clicks, ${slack.stats.denials} denials`);
  check('no broadcast mention sent to Slack', slack.broadcasts(), `${slack.fake.messages.length} messages posted, ${slack.fake.messages.filter((m) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`.includes('drop table')).length} quoting a hostile justification`);

  // Leavers hold nothing, anywhere.
  const leaverProblems: string[] = [];
  for (const p of dbPeople.filter((x) => x.status === 'terminated')) {
    for (const e of held.get(p.id) ?? []) leaverProblems.push(`${p.employee_id}: grants table ${e}`);
    for (const e of inSandbox.get(p.id) ?? []) leaverProblems.push(`${p.employee_id}: sandbox ${e}`);
  }
  check('terminated people hold nothing', leaverProblems, `${dbPeople.length - active} terminated`);

  // Side effects: no more writes to a grant than operations that could have made them (ones that
  // finished, or were superseded after a write attempt).
  const opCounts = new Map<string, number>();
  for (const o of await query<{ person_id: string; entitlement: string; kind: string; n: number }>(`select person_id, entitlement, kind, count(*)::int as n from operations where state in ('verified', 'applied', 'failed') or (state = 'cancelled' and (attempts > 0 or phase <> 'write')) group by 1, 2, 3`)) opCounts.set(`${o.person_id} ${o.entitlement} ${o.kind}`, o.n);
  const writes = await sandboxWriteCounts(pool);
  const sideProblems: string[] = [];
  let totalWrites = 0;
  let rewrites = 0;
  const perGrant = new Map<string, { grant: number; revoke: number; owner: string; entitlement: string }>();
  for (const w of writes) {
    totalWrites += w.count;
    if (w.count > 1) rewrites++;
    const owner = accountOwner.get(`${w.system} ${w.account_id}`);
    if (!owner) {
      sideProblems.push(`${w.count} ${w.op} of ${w.entitlement} on ${w.system} account ${w.account_id} that belongs to nobody`);
      continue;
    }
    const kind = w.op === 'grant' || w.op === 'create' || w.op === 'reactivate' ? 'grant' : 'revoke';
    const key = `${owner.id} ${w.entitlement}`;
    const entry = perGrant.get(key) ?? { grant: 0, revoke: 0, owner: owner.employee_id, entitlement: w.entitlement };
    entry[kind] += w.count;
    perGrant.set(key, entry);
  }
  for (const [key, w] of perGrant) {
    const ops = { grant: opCounts.get(`${key} grant`) ?? 0, revoke: opCounts.get(`${key} revoke`) ?? 0 };
    if (w.grant > ops.grant) sideProblems.push(`${w.owner} ${w.entitlement}: granted ${w.grant}× in the sandbox by ${ops.grant} grant operation(s)`);
    if (w.revoke > ops.revoke) sideProblems.push(`${w.owner} ${w.entitlement}: revoked ${w.revoke}× in the sandbox by ${ops.revoke} revoke operation(s)`);
  }
  check('zero duplicated side effects', sideProblems, `${totalWrites} sandbox writes; ${rewrites} (account, entitlement, op) written more than once, each matched by as many operations (grant → revoke → grant)`);

  // The audit chain.
  const kysely = createDatabase(database.url);
  const audit = await verifyAudit(kysely.db);
  await kysely.destroy();
  check('audit chain verifies', audit.ok ? [] : [`broken at ${audit.brokenAt}: ${audit.reason}`], `${audit.rows} rows`);

  // Dead letters: each must be an injected fault outliving its retries.
  const FAULT = /\(429\)|503 Service Unavailable|timed out after|was refused \(401\)/;
  const dead = await query<{ data: { error?: string; entitlement?: string; operationId?: number; personId?: string }; output: unknown }>(`select data, output from pgboss.job where name = 'dead-letter'`);
  const deadLines = dead.map((d) => `${d.data.entitlement ?? JSON.stringify(d.data)}: ${d.data.error ?? JSON.stringify(d.output)?.slice(0, 300)}`);
  check('dead letters explained by injected faults', deadLines.filter((l) => !FAULT.test(l)), `${dead.length} dead letter(s)`);

  const ops = await query<{ state: string; n: number }>(`select state, count(*)::int as n from operations group by 1 order by 1`);
  const failed = await query<{ entitlement: string; last_error: string }>(`select entitlement, last_error from operations where state = 'failed' order by id`);
  const allOk = checks.every((c) => c.ok);

  // ---- summary
  const out: string[] = [];
  out.push('', '================ soak summary ================');
  out.push(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; Postgres: ${database.kind}`);
  out.push(`profile: ${PEOPLE} people, ${events.length} events (seed ${SEED}), ${SECONDS} s of events and chaos, serve ${TUNED ? 'soak-tuned (crash recovery in seconds)' : 'plain gatehouse serve'}`);
  out.push(`duration: ${elapsed()} s total; events and chaos ${driveSeconds.toFixed(1)} s; drain ${drainSeconds.toFixed(1)} s`);
  out.push(`delivery: ${stats.posts} posts (${stats.batches} batches, ${stats.duplicatePosts} re-deliveries), 202 ×${stats.answered202}, 200 duplicate ×${stats.answered200}; events accepted ${stats.eventsAccepted}, answered duplicate ${stats.eventsDuplicate}; retried ${stats.retries503} × 5xx, ${stats.connectionErrors} × connection error`);
  out.push(`chaos: ${chaos.kills} SIGKILLs, ${chaos.pgOutages} Postgres outage(s) (${database.outage}), ${AUTH_SYSTEM} credentials failing ${(chaos.authOutageMs / 1000).toFixed(1)} s; faults ${JSON.stringify(FAULTS)} on ${FAULTY.join(', ')}`);
  out.push(`slack: ${slack.stats.commands} /access commands (${slack.stats.commandsUnanswered} never answered), ${slack.stats.approvals} approvals and ${slack.stats.denials} denials clicked (${slack.stats.clicksRepeated} again after a kill lost the first), ${slack.stats.deliveryRetries} deliveries retried while a serve was down; ${slack.fake.messages.length} messages posted by Gatehouse`);
  out.push(`  answers to /access: ${slack.commandAnswers()}`);
  out.push(`operations: ${ops.map((o) => `${o.state} ${o.n}`).join(', ')}`);
  for (const f of failed.slice(0, 10)) out.push(`  failed: ${f.entitlement}: ${f.last_error}`);
  out.push(`dead letters: ${dead.length}`);
  for (const l of deadLines.slice(0, 20)) out.push(`  ${l}`);
  for (const c of checks) {
    out.push(`${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}${c.ok ? '' : ` — ${c.problems.length} problem(s)`}`);
    for (const p of c.problems.slice(0, 10)) out.push(`        ${p}`);
  }
  out.push(`SOAK RESULT: ${allOk ? 'PASS' : 'FAIL'} (${checks.filter((c) => c.ok).length}/${checks.length} checks)`);
  process.stdout.write(`${out.join('\n')}\n`);
  exitCode = allOk ? 0 : 1;
} catch (error) {
  process.stdout.write(`soak crashed: ${error instanceof Error ? error.stack : String(error)}\nSOAK RESULT: FAIL (crashed)\n`);
  exitCode = 1;
} finally {
  for (const s of slots) await stopServe(s, 'SIGTERM').catch(() => {});
  await pool.end().catch(() => {});
  await slack.stop().catch(() => {});
  if (process.env.SOAK_KEEP) process.stdout.write(`kept: ${dir} and ${database.url}\n`);
  else {
    await database.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
process.exit(exitCode);
