import { startGatehouseWhenReachable } from '../app.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';

/** How long SIGTERM may take before we give up on a clean stop (orchestrators kill at 10 s+). */
const SHUTDOWN_DEADLINE_MS = 9_000;

export async function serve(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const gatehouse = await startGatehouseWhenReachable(config, log);

  const { live, sandboxed } = gatehouse.systems;
  log.info(
    { url: gatehouse.url, slack: gatehouse.slack.mode, live, sandboxed },
    `Gatehouse listening on ${gatehouse.url} — adapters live: ${live.join(', ') || 'none'}; sandboxed: ${sandboxed.join(', ') || 'none'}; Slack: ${gatehouse.slack.mode}`,
  );

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new requests, finishing running jobs');
    const deadline = setTimeout(() => {
      log.error('shutdown did not finish in time; exiting anyway (running jobs will be retried)');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    gatehouse
      .stop()
      .then(() => {
        log.info('stopped');
        log.flush?.();
        process.exit(0);
      })
      .catch((error) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
