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
 * Reads the raw body, refusing more than `limitBytes` (checked against Content-Length first, then
 * while streaming, so a lying or chunked sender cannot make us buffer more). Signature checks need
 * the exact bytes, so this returns a Buffer, not parsed JSON.
 */
export async function readBody(req: IncomingMessage, limitBytes = ONE_MIB): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    throw new BodyTooLargeError(limitBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) {
      req.resume();
      throw new BodyTooLargeError(limitBytes);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
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
  res.end(payload);
}
