import { AdapterError, type AdapterErrorKind, kindForStatus, retryAfterMs } from '../types.js';
import { ScimHttpError } from './client.js';

/** Request ids apps commonly send; SCIM itself names none. */
const REQUEST_ID_HEADERS = ['x-request-id', 'request-id', 'x-correlation-id', 'x-amzn-requestid'];

function advice(kind: AdapterErrorKind, app: string, status: number, scimType: string | undefined): string {
  if (kind === 'auth') {
    return status === 401
      ? `check the token for "${app}" in SCIM_APPS: the app refused it (expired, revoked, or SCIM turned off in the app's admin settings)`
      : `the token for "${app}" in SCIM_APPS may not do this: check the app's SCIM admin settings and plan`;
  }
  if (kind === 'retryable') return 'Gatehouse will retry';
  if (scimType === 'invalidFilter') return 'the app refused the filter; see adapters/scim/README.md (filters) — retrying will not help';
  if (scimType === 'invalidValue' || scimType === 'invalidSyntax' || scimType === 'invalidPath' || scimType === 'mutability') {
    return 'the app refused the request body; fix the data or the app\'s attribute mapping, retrying will not help';
  }
  return 'fix the request; retrying will not help';
}

/**
 * A failed SCIM call as an AdapterError. The client raises ScimHttpError for a non-2xx answer
 * (its RFC 7644 §3.12 `scimType` and `detail` are quoted), fetch's TimeoutError when the app did
 * not answer in time, and TypeError (`fetch failed`) for a network failure.
 *
 * 429 is retryable and rate limited with Retry-After (RFC 6585; SCIM itself names no rate
 * limit); 401 and 403 are auth; 408 and 5xx retryable; other 4xx permanent.
 */
export function classify(error: unknown, what: string, system: string): AdapterError {
  if (error instanceof AdapterError) return error;
  const app = system.slice('scim:'.length);
  if (error instanceof ScimHttpError) {
    const status = error.status;
    const kind = kindForStatus(status);
    const rateLimited = status === 429;
    const requestId = REQUEST_ID_HEADERS.map((h) => error.headers.get(h)).find((v) => v) ?? undefined;
    const vendor = [error.scimType, error.detail].filter(Boolean).join(': ');
    return new AdapterError(`${system} ${what} failed: HTTP ${status}${vendor ? ` ${vendor}` : ''} (${advice(kind, app, status, error.scimType)})`, {
      kind,
      system,
      status,
      requestId,
      rateLimited,
      retryAfterMs: kind === 'retryable' ? retryAfterMs(error.headers.get('retry-after')) : undefined,
      cause: error,
    });
  }
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } } | null;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new AdapterError(`${system} ${what} timed out: the app did not answer in time (Gatehouse will retry)`, { kind: 'retryable', system, cause: error });
  }
  if (e?.name === 'TypeError' && /fetch failed|network|terminated/i.test(e.message ?? '')) {
    const code = e.cause?.code ?? e.cause?.message;
    return new AdapterError(`${system} ${what} failed: ${e.message}${code ? ` (${code})` : ''} (network; Gatehouse will retry)`, { kind: 'retryable', system, cause: error });
  }
  return new AdapterError(`${system} ${what} failed unexpectedly: ${e?.message ?? String(error)}`, { kind: 'permanent', system, cause: error });
}
