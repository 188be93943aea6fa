/**
 * `gatehouse serve` as the soak runs it when SOAK_TUNED=1: the same composition root
 * (startGatehouse), configuration (loadConfig from the environment) and shutdown as
 * src/cli/serve.ts, with the crash-recovery clocks shortened so a profile with several SIGKILLs
 * converges in minutes rather than hours:
 * - SOAK_CLAIM_TIMEOUT_MS: when a claim of a killed worker may be taken over (production: 300 s);
 * - SOAK_OPERATION_EXPIRE_S: the operation and reconcile-person queues' job expiry, after which
 *   pg-boss re-delivers a killed worker's job (production: 300 s and 900 s);
 * - SOAK_AUTH_PAUSE_MS: how long a system whose credentials fail is paused (production: 5 min).
 * Nothing else differs. `gatehouse serve` has no knobs for these, hence this wrapper.
 */
import { startGatehouseWhenReachable } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { QUEUES } from '../../src/orchestrator/queue.js';

const number = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);

const config = loadConfig();
const log = createLogger(config.logLevel);
const claimTimeoutMs = number('SOAK_CLAIM_TIMEOUT_MS');
const authPauseMs = number('SOAK_AUTH_PAUSE_MS');
const gatehouse = await startGatehouseWhenReachable(config, log, {
  workers: { execute: { ...(claimTimeoutMs ? { claimTimeoutMs } : {}), ...(authPauseMs ? { authPauseMs } : {}) } },
});
const expire = number('SOAK_OPERATION_EXPIRE_S');
if (expire) {
  await gatehouse.boss.updateQueue(QUEUES.operation.name, { expireInSeconds: expire });
  // A reconcile takes well under a second; production lets a killed worker's job sit 900 s.
  await gatehouse.boss.updateQueue(QUEUES.reconcilePerson.name, { expireInSeconds: expire });
}
log.info({ url: gatehouse.url }, `Gatehouse listening on ${gatehouse.url} (soak-tuned: claim timeout ${claimTimeoutMs ?? 'default'} ms, operation expiry ${expire ?? 'default'} s, auth pause ${authPauseMs ?? 'default'} ms)`);

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), 9_000).unref();
  gatehouse.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
