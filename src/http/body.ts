import type { IncomingMessage, ServerResponse } from 'node:http';

export const ONE_MIB = 1024 * 1024;

export class BodyTooLargeError extends Error {
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`request body is larger than ${limitBytes} bytes`);
    this.limitBytes = limitBytes;
    this.name = 'BodyTooLargeError';
  }
}

/**
 * How much of a refused body the server still reads (and throws away) after answering, and for how
 * long, before it cuts the connection: see endAfterBody. A sender past either is broken or hostile.
 */
export const DRAIN_LIMIT_BYTES = 16 * ONE_MIB;
export const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Reads the raw body, refusing more than `limitBytes` (checked against Content-Length first, then
 * while streaming, so a lying or chunked sender cannot make us buffer more). Signature checks need
 * the exact bytes, so this returns a Buffer, not parsed JSON.
 *
 * A refused request is left flowing, not destroyed (no `for await`, whose early exit destroys the
 * request and its socket): the answer, sent with sendJson or sendScim, drains what is still coming.
 */
export async function readBody(req: IncomingMessage, limitBytes = ONE_MIB): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) throw new BodyTooLargeError(limitBytes);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error: Error | undefined) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) settle(new BodyTooLargeError(limitBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => settle(undefined);
    const onError = (error: Error) => settle(error);
    const onClose = () => settle(new Error('the client closed the connection before the request body ended'));
    req.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/** Whether body bytes of this request may still be on their way: it has a body and it has not ended. */
function bodyStillComing(req: IncomingMessage): boolean {
  if (req.complete || req.readableEnded || req.destroyed) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Writes the response's payload and ends it. When the answer was decided before the body was read
 * (a 413, a refused token, an endpoint not configured), the payload goes out at once, so a client
 * that reads while it sends sees it early, but the response ends only once the rest of the body has
 * arrived and been thrown away. Ending it sooner lets Node close the socket (at once when the
 * client sent `Connection: close`, as Python's urllib does) with the body's bytes still unread,
 * and the kernel answers those with a reset: a client that writes its whole body before reading
 * then gets "broken pipe" or ECONNRESET instead of the status. Bounded: past DRAIN_LIMIT_BYTES
 * more or DRAIN_TIMEOUT_MS the connection is cut.
 */
export function endAfterBody(res: ServerResponse, payload: string): void {
  const req = res.req;
  if (!bodyStillComing(req)) {
    res.end(payload);
    return;
  }
  if (payload) res.write(payload);
  let discardedBytes = 0;
  const finish = (cut: boolean) => {
    clearTimeout(timer);
    req.off('data', onData).off('end', onEnd).off('close', onEnd);
    res.end();
    if (cut) req.socket?.destroy();
  };
  const onData = (chunk: Buffer) => {
    discardedBytes += chunk.length;
    if (discardedBytes > DRAIN_LIMIT_BYTES) finish(true);
  };
  const onEnd = () => finish(false);
  const timer = setTimeout(() => finish(true), DRAIN_TIMEOUT_MS);
  req.on('data', onData).once('end', onEnd).once('close', onEnd);
  req.resume();
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  endAfterBody(res, payload);
}
