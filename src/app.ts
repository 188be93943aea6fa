import type { Server } from 'node:http';
import type { PgBoss } from 'pg-boss';
import { checkAuditKey, setAuditKey } from './audit/audit-key.js';
import { type Config, SYSTEM_NAMES, type SystemName } from './config.js';
import { isDatabaseUnavailable } from './db/boss-transaction.js';
import { createDatabase, type DatabaseHandle, databaseReachable } from './db/database.js';
import { connectEmbeddedPostgres } from './db/embedded.js';
import { migrateToLatest } from './db/migrate.js';
import { sendJson } from './http/body.js';
import { Router } from './http/router.js';
import { closeServer, createHttpServer, listen } from './http/server.js';
import { DEFAULT_BAMBOO_FIELD_MAP } from './intake/bamboohr.js';
import { createBambooRoutes } from './intake/bamboohr-routes.js';
import { createHrisRoutes } from './intake/hris-routes.js';
import { createScimRoutes } from './intake/scim/scim-routes.js';
import { scimErrorFormat } from './intake/scim/scim-error.js';
import type { Logger } from './log.js';
import { type AdapterRegistry, createAdapterRegistry } from './orchestrator/adapter-registry.js';
import { startQueue } from './orchestrator/queue.js';
import { TokenBucket } from './orchestrator/token-bucket.js';
import { startWorkers, type WorkerDeps } from './orchestrator/workers.js';
import { buildPolicySet, formatPolicyError, loadPolicies, type PolicySet } from './policy/index.js';
import { createSlackEdge, type SlackEdge } from './slack/app.js';
import { ONE_MIB, readBody } from './http/body.js';
import { registerAccessHandlers } from './slack/access-handlers.js';
import { createSlackDirectory } from './slack/directory.js';
import { registerDriftHandlers } from './slack/drift-handlers.js';
import { registerManualTaskActions } from './slack/manual-task-actions.js';
import { createNotifier, type Notifier } from './slack/notifier.js';

export interface Gatehouse {
  url: string;
  port: number;
  database: DatabaseHandle;
  boss: PgBoss;
  slack: SlackEdge;
  notifier: Notifier;
  router: Router;
  adapters: AdapterRegistry;
  policies: PolicySet;
  systems: { live: SystemName[]; sandboxed: SystemName[] };
  /** Graceful: stop taking requests, let running jobs finish (or release them), close pools. */
  stop(): Promise<void>;
}

/** Connection string for this process: DATABASE_URL, or the embedded server under GATEHOUSE_DATA_DIR. */
export async function resolveDatabase(
  config: Config,
  log: Logger,
): Promise<{ url: string; stop(): Promise<void> }> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => {} };
  return connectEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, systemDir: config.embeddedPgSystemDir, log });
}

/**
 * The composition root of `gatehouse serve`: database (migrated), queue, Slack edge, HTTP routes.
 * Each later capability (intake, SCIM, orchestrator workers, schedules) plugs in here.
 */
/** How far a Slack request's timestamp may be from now, either way (Slack's own guidance). */
export const SLACK_TIMESTAMP_WINDOW_S = 300;

export interface StartOptions {
  /** Worker tuning for tests and benchmarks (a short verification schedule, say). */
  workers?: Partial<Pick<WorkerDeps, 'execute' | 'concurrency' | 'notifier'>>;
  /** Wraps the adapter registry (tests put a scripted faulty adapter in front of a system). */
  adapters?: (registry: AdapterRegistry) => AdapterRegistry;
}

/**
 * startGatehouse, tried again while the database cannot be reached (a replica that starts with, or
 * during, a database restart), for up to config.databaseWaitMs; each failed try has cleaned up
 * after itself. Any other error, or the database still away at the end, is thrown.
 */
export async function startGatehouseWhenReachable(config: Config, log: Logger, options: StartOptions = {}): Promise<Gatehouse> {
  const deadline = Date.now() + config.databaseWaitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startGatehouse(config, log, options);
    } catch (error) {
      if (!isDatabaseUnavailable(error) || Date.now() >= deadline) throw error;
      const waitMs = Math.min(5_000, 500 * 2 ** (attempt - 1), Math.max(0, deadline - Date.now()));
      log.warn({ err: error, attempt }, `the database is unreachable while starting (${(error as Error).message}); trying again in ${(waitMs / 1000).toFixed(1)} s (DATABASE_WAIT)`);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

export async function startGatehouse(config: Config, log: Logger, options: StartOptions = {}): Promise<Gatehouse> {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse())
      await fn().catch((error) => log.error({ err: error }, 'shutdown step failed'));
  };
  try {
    const postgres = await resolveDatabase(config, log);
    cleanups.push(() => postgres.stop());

    const database = createDatabase(postgres.url);
    cleanups.push(() => database.destroy());
    const applied = await migrateToLatest(database.db);
    if (applied.length > 0) log.info({ applied }, `applied ${applied.length} migration(s)`);
    setAuditKey(config.auditKey);
    await checkAuditKey(database.db, config.auditKey);
    if (config.production && !config.auditKey) log.warn('AUDIT_KEY is not set: audit rows are hash-chained but unsigned, so someone with database access can rewrite the log and recompute the chain (README → Security)');
    // Refuses credentials for a connector this build lacks, and dependency cycles, before anything listens.
    const built = createAdapterRegistry(config, { sql: database.pool });
    const adapters = options.adapters ? options.adapters(built) : built;
    const loaded = await loadPolicies(config.policiesDir);
    if (loaded.errors.length > 0) {
      throw new Error(`the policies in ${config.policiesDir} have ${loaded.errors.length} error(s):\n${loaded.errors.map(formatPolicyError).join('\n')}\nFix them (gatehouse policy check) and start again.`);
    }
    const policies = buildPolicySet(loaded);

    const boss = await startQueue(postgres.url, log);
    // pg-boss stop: graceful waits for active jobs up to the timeout, then releases them for retry.
    cleanups.push(() => boss.stop({ graceful: true, timeout: 7_000 }));

    const slack = createSlackEdge(config, log);
    const notifier = createNotifier(log, slack.client);
    const directory = createSlackDirectory(database.db, slack.client);
    if (slack.app) {
      const authz = { rules: { itAdmins: config.itAdmins, systemOwners: config.systemOwners }, directory };
      registerManualTaskActions(slack.app, { db: database.db, boss, adapters, authz, log });
      registerDriftHandlers(slack.app, { db: database.db, boss, adapters, authz, log });
      registerAccessHandlers(slack.app, { db: database.db, boss, policies, directory, log, itChannel: config.slack.itChannel, itAdmins: config.itAdmins, timeZones: config.timeZones, distinctApprovers: config.approvalDistinctApprovers });
    }

    const bucket = new TokenBucket(database.db);
    for (const system of adapters.systems()) {
      const perMinute = config.rateLimits[system];
      await bucket.configure(system, perMinute ? { requestsPerMinute: perMinute } : adapters.get(system).describe().defaultRateLimit);
    }
    await startWorkers({ db: database.db, boss, policies, timeZones: config.timeZones, adapters, bucket, log, notifier, itChannel: config.slack.itChannel, driftChannel: config.slack.driftChannel, driftSchedule: config.driftSchedule, auditAnchorSchedule: config.auditAnchorSchedule, directory, leaverSlaMs: config.leaverSlaMs, requests: { approvalReminderMs: config.approvalReminderMs, approvalTimeoutMs: config.approvalTimeoutMs }, ...options.workers });

    let draining = false;
    const router = new Router();
    router.add(
      { method: 'GET', path: '/healthz', handler: (_req, res) => sendJson(res, 200, { ok: true }) },
      {
        method: 'GET',
        path: '/readyz',
        handler: async (_req, res) => {
          const databaseOk = await databaseReachable(database.pool);
          const queueOk = databaseOk && (await boss.isInstalled().catch(() => false));
          const ready = !draining && databaseOk && queueOk;
          sendJson(res, ready ? 200 : 503, {
            ready,
            database: databaseOk ? 'ok' : 'unreachable',
            queue: queueOk ? 'ok' : 'unreachable',
            ...(draining ? { draining: true } : {}),
          });
        },
      },
      {
        method: 'POST',
        path: '/slack/events',
        handler: async (req, res) => {
          if (!slack.requestListener) {
            sendJson(res, 503, {
              error:
                slack.mode === 'socket'
                  ? 'Slack uses Socket Mode (SLACK_APP_TOKEN is set); events do not come over HTTP'
                  : 'Slack is not configured: set SLACK_SIGNING_SECRET (and SLACK_BOT_TOKEN) to receive Slack requests',
            });
            return;
          }
          // Bolt refuses requests signed more than 5 minutes ago but accepts any from the future;
          // a replay window must be closed on both sides, so Gatehouse checks it first.
          const stamp = Number(req.headers['x-slack-request-timestamp']);
          if (!Number.isFinite(stamp) || Math.abs(Date.now() / 1000 - stamp) > SLACK_TIMESTAMP_WINDOW_S) {
            sendJson(res, 401, { error: 'x-slack-request-timestamp is missing or more than 5 minutes from now' });
            return;
          }
          // Slack's payloads are small: Gatehouse reads the body itself with the 1 MiB limit of
          // every endpoint (Bolt's own is 4 MB, and it reads a chunked body to that), and hands it
          // to Bolt as `rawBody`, which Bolt uses instead of reading the stream again.
          const rawBody = await readBody(req, ONE_MIB);
          slack.requestListener(Object.assign(req, { rawBody }), res);
        },
      },
    );

    router.add(...createHrisRoutes({ db: database.db, boss, secret: config.hrisWebhookSecret, log, joinerLeadTimeMs: config.joinerLeadTimeMs, timeZones: config.timeZones, maxFutureMs: config.hrEventMaxFutureMs }));
    router.add(
      ...createBambooRoutes({
        db: database.db,
        boss,
        key: config.bamboo.key,
        fieldMap: { ...DEFAULT_BAMBOO_FIELD_MAP, ...config.bamboo.fieldMap },
        joinerLeadTimeMs: config.joinerLeadTimeMs,
        timeZones: config.timeZones,
        maxFutureMs: config.hrEventMaxFutureMs,
      }),
    );

    // Set once the server listens (PORT=0 picks the port then); no request arrives before that.
    let listeningUrl = '';
    router.add(...createScimRoutes({ db: database.db, boss, token: config.scimToken, publicUrl: () => config.publicUrl ?? listeningUrl, joinerLeadTimeMs: config.joinerLeadTimeMs, timeZones: config.timeZones }));

    const server: Server = createHttpServer(router, log, [scimErrorFormat]);
    const address = await listen(server, config.port, config.host);
    cleanups.push(async () => {
      draining = true;
      await closeServer(server);
    });
    await slack.start();
    cleanups.push(() => slack.stop());

    const live = SYSTEM_NAMES.filter((s) => config.systems[s] === 'live');
    const sandboxed = SYSTEM_NAMES.filter((s) => config.systems[s] === 'sandbox');
    const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${address.port}`;
    listeningUrl = url;

    let stopped: Promise<void> | undefined;
    return {
      url,
      port: address.port,
      database,
      boss,
      slack,
      notifier,
      router,
      adapters,
      policies,
      systems: { live, sandboxed },
      stop: () => {
        stopped ??= cleanup();
        return stopped;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
