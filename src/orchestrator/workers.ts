import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { PolicySet } from '../policy/index.js';
import type { AdapterRegistry } from './adapter-registry.js';
import { executeOperation } from './execute-operation.js';
import { QUEUES } from './queue.js';
import { reconcilePerson } from './reconcile-person.js';
import type { TokenBucket } from './token-bucket.js';

export interface WorkerDeps {
  db: Db;
  boss: PgBoss;
  policies: PolicySet;
  adapters: AdapterRegistry;
  bucket: TokenBucket;
  log: Logger;
  /** Operation workers in this process; one more is reserved for leavers. */
  concurrency?: number;
}

/**
 * The queue workers of a `serve` process. Leavers' operations (priority 100) also have a worker
 * of their own that takes nothing else, so a backlog of hires never delays a revocation.
 */
export async function startWorkers(deps: WorkerDeps): Promise<void> {
  const log = deps.log.child({ component: 'orchestrator' });
  // NOTIFY wakes workers for new jobs at once; deferred ones (retry backoff, a vendor's
  // Retry-After, a future start date) are found by polling, which pg-boss otherwise does only
  // every 30 s when NOTIFY is on.
  const polling = { pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 };
  // Jobs inserted on the intake's own transaction arrive without a NOTIFY; fetching them in
  // batches keeps a burst of hires from trickling in at one per poll.
  await deps.boss.work<{ personId: string; reason: string }>(QUEUES.reconcilePerson.name, { localConcurrency: 2, batchSize: 25, priority: true, ...polling }, async (jobs) => {
    for (const job of jobs) {
      const result = await reconcilePerson(deps, job.data.personId, job.data.reason);
      log.info({ personId: job.data.personId, reason: job.data.reason, ...result }, 'reconcile planned');
    }
  });
  // A batch runs in parallel: one fetch brings several operations (often a whole tier).
  const execute = async (jobs: { data: { operationId: number } }[]) => {
    await Promise.all(jobs.map((job) => executeOperation(deps, job.data.operationId)));
  };
  await deps.boss.work<{ operationId: number }>(QUEUES.operation.name, { localConcurrency: deps.concurrency ?? 4, batchSize: 5, priority: true, ...polling }, execute);
  await deps.boss.work<{ operationId: number }>(QUEUES.operation.name, { localConcurrency: 2, priority: true, minPriority: 100, ...polling }, execute);
}
