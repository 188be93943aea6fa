import { AdapterError, kindForStatus, retryAfterMs } from '../types.js';

const SYSTEM = 'google';

/** Quota reasons Google reports with a 403 (https://developers.google.com/admin-sdk/directory/v1/limits). */
const QUOTA_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded', 'dailyLimitExceeded', 'backendError']);

interface GaxiosLike {
  status?: number;
  code?: string | number;
  message?: string;
  response?: { status?: number; headers?: { get?(name: string): string | null } & Record<string, unknown>; data?: { error?: { message?: string; errors?: { reason?: string }[] } } };
}

type Headers = { get?(name: string): string | null } & Record<string, unknown>;

function header(headers: Headers | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  const v = (headers as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Google API errors → AdapterError. Quota errors arrive as 403 with a usageLimits reason (or as
 * 429): both are retryable, and slow the whole system down. Any other 403 is a missing scope or
 * delegation: an auth error.
 */
export function classify(error: unknown, what: string): AdapterError {
  if (error instanceof AdapterError) return error;
  const e = error as GaxiosLike;
  const status = e?.response?.status ?? e?.status;
  if (typeof status === 'number') {
    const reasons = (e.response?.data?.error?.errors ?? []).map((x) => x.reason ?? '');
    const quota = status === 429 || (status === 403 && reasons.some((r) => QUOTA_REASONS.has(r)));
    const kind = quota ? 'retryable' : kindForStatus(status);
    const detail = e.response?.data?.error?.message ?? e.message ?? '';
    const advice =
      kind === 'auth'
        ? 'check GOOGLE_SERVICE_ACCOUNT_KEY, its domain-wide delegation scopes, and GOOGLE_ADMIN_EMAIL (see adapters/google/README.md)'
        : kind === 'retryable'
          ? 'Gatehouse will retry'
          : 'fix the request; retrying will not help';
    return new AdapterError(`Google ${what} failed: ${status}${reasons.length ? ` ${reasons.join(',')}` : ''} ${detail} (${advice})`.replace(/\s+/g, ' '), {
      kind,
      system: SYSTEM,
      status,
      rateLimited: quota,
      retryAfterMs: quota ? retryAfterMs(header(e.response?.headers, 'retry-after')) : undefined,
      requestId: header(e.response?.headers, 'x-goog-request-id') ?? undefined,
      cause: error,
    });
  }
  return new AdapterError(`Google ${what} failed: ${e?.message ?? String(error)} (network; Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
}
