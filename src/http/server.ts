import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import { BodyTooLargeError, sendJson } from './body.js';
import { MalformedUrlError, type Router } from './router.js';

/**
 * How the clients under a path expect their errors (SCIM's under /scim/v2, RFC 7644 §3.12); a path
 * no format claims gets JSON `{"error": …}`. Passed in, so this file does not know about SCIM.
 */
export interface ErrorFormat {
  pathPrefix: string;
  send(res: ServerResponse, status: number, detail: string): void;
}

/**
 * The one HTTP server of a Gatehouse process. Every route (health, Slack, HRIS, SCIM) goes through
 * the router. Everything a request can throw, from parsing its URL to its handler, is caught here:
 * a target that does not parse or decode is a 400, any other error a 500 with a reference id (the
 * error itself goes to the log, never to the client), and no input can end the process (issue 27:
 * `GET /scim/v2/Users/%E0%A4%A` and `GET http://[` used to, as unhandled rejections).
 */
export function createHttpServer(router: Router, log: Logger, errorFormats: ErrorFormat[] = []): Server {
  let counter = 0;
  const sendError = (res: ServerResponse, path: string, status: number, body: { error: string; request_id?: string }, headers: Record<string, string> = {}) => {
    const format = errorFormats.find((f) => path === f.pathPrefix || path.startsWith(`${f.pathPrefix}/`));
    if (format) {
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      format.send(res, status, body.request_id ? `${body.error} (reference ${body.request_id})` : body.error);
    } else sendJson(res, status, body, headers);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    // Until the URL parses, the raw target is the best guess at which error format the client reads.
    let path = req.url ?? '/';
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://gatehouse.invalid');
      } catch {
        throw new MalformedUrlError('the request URL does not parse');
      }
      path = url.pathname;
      const match = router.match(req.method ?? 'GET', url.pathname);
      if ('status' in match) {
        if (match.status === 405) {
          sendError(res, path, 405, { error: `method ${req.method} not allowed on ${url.pathname}` }, { allow: match.allow.join(', ') });
        } else {
          sendError(res, path, 404, { error: `no route for ${req.method} ${url.pathname}` });
        }
        return;
      }
      await match.handler(req, res, match.params);
    } catch (error) {
      if (error instanceof MalformedUrlError) {
        if (!res.headersSent) sendError(res, path, 400, { error: error.message });
        return;
      }
      if (error instanceof BodyTooLargeError) {
        if (!res.headersSent) sendError(res, path, 413, { error: error.message });
        return;
      }
      log.error({ err: error, requestId, method: req.method, path }, 'request failed');
      if (!res.headersSent) sendError(res, path, 500, { error: 'internal error', request_id: requestId });
      else res.destroy();
    }
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const requestId = `req_${Date.now().toString(36)}_${(counter++).toString(36)}`;
    // Last line of defence: should writing the error answer itself throw, the request is cut off and
    // logged; a rejection must never reach the process's unhandledRejection (which ends it).
    handle(req, res, requestId).catch((error: unknown) => {
      log.error({ err: error, requestId }, 'request failed while answering an error');
      res.destroy();
    });
  });
  // No route tunnels. Without a listener Node drops a CONNECT's socket without a word; answer it.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
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
