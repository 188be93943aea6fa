import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { BodyTooLargeError, sendJson } from './body.js';
import type { Router } from './router.js';

/**
 * The one HTTP server of a Gatehouse process. Every route (health, Slack, HRIS, SCIM) goes through
 * the router; an unexpected error becomes a 500 with a request id, never a crash or a stack trace
 * sent to the client.
 */
export function createHttpServer(router: Router, log: Logger): Server {
  let counter = 0;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = `req_${Date.now().toString(36)}_${(counter++).toString(36)}`;
    const url = new URL(req.url ?? '/', 'http://gatehouse.invalid');
    const match = router.match(req.method ?? 'GET', url.pathname);
    if ('status' in match) {
      if (match.status === 405) {
        sendJson(
          res,
          405,
          { error: `method ${req.method} not allowed on ${url.pathname}` },
          { allow: match.allow.join(', ') },
        );
      } else {
        sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
      }
      return;
    }
    try {
      await match.handler(req, res, match.params);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        if (!res.headersSent) sendJson(res, 413, { error: error.message });
        return;
      }
      log.error({ err: error, requestId, method: req.method, path: url.pathname }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error', request_id: requestId });
      else res.destroy();
    }
  });
  // Slow-loris protection; Slack and HRIS senders finish well within these.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

export async function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

/** Stops accepting connections and waits for in-flight requests (idle keep-alives are closed now). */
export async function closeServer(server: Server, timeoutMs = 5_000): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
  await closed;
  clearTimeout(timer);
}
