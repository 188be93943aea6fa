import type { ServerResponse } from 'node:http';
import { endAfterBody } from '../../http/body.js';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** An error in RFC 7644 §3.12 form: HTTP status, optional scimType, and a detail for humans. */
export class ScimError extends Error {
  readonly status: number;
  readonly scimType: string | undefined;
  constructor(status: number, detail: string, scimType?: string) {
    super(detail);
    this.name = 'ScimError';
    this.status = status;
    this.scimType = scimType;
  }
}

export function sendScim(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': SCIM_CONTENT_TYPE, ...(payload ? { 'content-length': String(Buffer.byteLength(payload)) } : {}), ...headers });
  // Not res.end: an error decided before the body was read must not reset the sender (see endAfterBody).
  endAfterBody(res, payload);
}

export function sendScimError(res: ServerResponse, error: ScimError): void {
  sendScim(res, error.status, { schemas: [ERROR_SCHEMA], status: String(error.status), ...(error.scimType ? { scimType: error.scimType } : {}), detail: error.message });
}

/**
 * For the HTTP server's own answers under /scim/v2 (a URL that does not decode, no route, an
 * unexpected error): an IdP reads errors in SCIM form there, whichever layer refused the request.
 */
export const scimErrorFormat = {
  pathPrefix: '/scim/v2',
  send: (res: ServerResponse, status: number, detail: string) => sendScimError(res, new ScimError(status, detail)),
};
