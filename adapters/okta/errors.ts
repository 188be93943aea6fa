import { AdapterError, kindForStatus } from '../types.js';

const SYSTEM = 'okta';

interface HeaderBag {
  get?(name: string): string | null;
  [name: string]: unknown;
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const bag = headers as HeaderBag;
  if (typeof bag.get === 'function') return bag.get(name) ?? undefined;
  const value = bag[name.toLowerCase()] ?? bag[name];
  return typeof value === 'string' ? value : Array.isArray(value) ? String(value[0]) : undefined;
}

/**
 * Okta's rate limits reset at `X-Rate-Limit-Reset` (epoch seconds). The wait is measured against
 * Okta's own `Date` header, so a skewed local clock does not make us come back too early.
 * https://developer.okta.com/docs/reference/rl-best-practices/
 */
export function retryAfterFromHeaders(headers: unknown, now = Date.now()): number | undefined {
  const reset = Number(header(headers, 'x-rate-limit-reset'));
  if (!Number.isFinite(reset) || reset <= 0) return undefined;
  const date = Date.parse(header(headers, 'date') ?? '');
  const base = Number.isNaN(date) ? now : date;
  return Math.max(0, reset * 1000 - base);
}

/**
 * Okta errors → AdapterError. The SDK raises OktaApiError (status, errorCode, errorSummary,
 * errorId, headers) for API answers and node-fetch FetchError for network failures.
 */
export function classify(error: unknown, what: string): AdapterError {
  if (error instanceof AdapterError) return error;
  const e = error as { status?: number; errorCode?: string; errorSummary?: string; errorId?: string; headers?: unknown; code?: string; type?: string; message?: string; name?: string };
  if (typeof e?.status === 'number') {
    const status = e.status;
    const rateLimited = status === 429;
    const requestId = header(e.headers, 'x-okta-request-id') ?? e.errorId;
    const kind = kindForStatus(status);
    const advice =
      kind === 'auth'
        ? 'check OKTA_TOKEN: it must be a valid API token of an admin with the permissions in adapters/okta/README.md'
        : kind === 'retryable'
          ? 'Gatehouse will retry'
          : 'fix the request; retrying will not help';
    return new AdapterError(`Okta ${what} failed: ${status} ${e.errorCode ?? ''} ${e.errorSummary ?? e.message ?? ''}`.replace(/\s+/g, ' ').trim() + ` (${advice})`, {
      kind,
      system: SYSTEM,
      status,
      requestId,
      rateLimited,
      retryAfterMs: rateLimited ? retryAfterFromHeaders(e.headers) : undefined,
      cause: error,
    });
  }
  // node-fetch: FetchError (type 'system', code ECONNRESET/ETIMEDOUT…), or an aborted request.
  if (e?.name === 'FetchError' || e?.name === 'AbortError' || e?.type === 'system' || e?.type === 'request-timeout' || typeof e?.code === 'string') {
    return new AdapterError(`Okta ${what} failed: ${e.message ?? 'network error'} (Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
  }
  return new AdapterError(`Okta ${what} failed unexpectedly: ${e?.message ?? String(error)}`, { kind: 'permanent', system: SYSTEM, cause: error });
}
