import { AdapterError, kindForStatus, retryAfterMs } from '../types.js';

const SYSTEM = 'gitlab';

interface GitbeakerErrorLike {
  name?: string;
  message?: string;
  cause?: { description?: string; response?: { status?: number; headers?: { get(name: string): string | null } }; name?: string };
}

/**
 * When GitLab says to come back: `Retry-After` (seconds), else `RateLimit-Reset` (Unix time),
 * else `RateLimit-ResetTime` (an HTTP date), as its rate limiter sends them
 * (docs.gitlab.com/ee/administration/settings/user_and_ip_rate_limits.html#response-headers).
 */
export function gitlabRetryAfterMs(header: (name: string) => string | null | undefined, now = Date.now()): number | undefined {
  const retryAfter = retryAfterMs(header('retry-after'), now);
  if (retryAfter !== undefined) return retryAfter;
  const reset = Number(header('ratelimit-reset'));
  if (header('ratelimit-reset') && Number.isFinite(reset)) return Math.max(0, reset * 1000 - now);
  const resetTime = header('ratelimit-resettime');
  const at = resetTime ? Date.parse(resetTime) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * One failed GitLab call as an AdapterError: 429 and 5xx retryable (a 429 rate-limited, with
 * when to come back), 401/403 auth, other 4xx permanent, with GitLab's own message
 * (`{"message": …}`) and its X-Request-Id. Timeouts and network failures are retryable.
 */
export function classify(error: unknown, what: string, now = Date.now()): AdapterError {
  if (error instanceof AdapterError) return error;
  const e = error as GitbeakerErrorLike;
  if (e?.name === 'GitbeakerTimeoutError' || e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.cause?.name === 'TimeoutError') {
    return new AdapterError(`GitLab ${what} timed out: GitLab did not answer in time (Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
  }
  const response = e?.cause?.response;
  if (e?.name === 'GitbeakerRequestError' && typeof response?.status === 'number') {
    const status = response.status;
    const header = (name: string) => response.headers?.get(name);
    const rateLimited = status === 429;
    const kind = kindForStatus(status);
    const advice =
      kind === 'auth'
        ? 'check GITLAB_TOKEN, its `api` scope and its role (adapters/gitlab/README.md)'
        : kind === 'retryable'
          ? 'Gatehouse will retry'
          : 'fix the request; retrying will not help';
    const message = e.cause?.description || e.message || '';
    return new AdapterError(`GitLab ${what} failed: ${status} ${message} (${advice})`.replace(/\s+/g, ' '), {
      kind,
      system: SYSTEM,
      status,
      rateLimited,
      // A 503 in maintenance may say when to come back, too.
      retryAfterMs: kind === 'retryable' ? gitlabRetryAfterMs(header, now) : undefined,
      requestId: header('x-request-id') ?? undefined,
      cause: error,
    });
  }
  return new AdapterError(`GitLab ${what} failed: ${e?.message ?? String(error)} (network; Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
}

/** The HTTP status of a gitbeaker error, if GitLab answered. */
export function statusOf(error: unknown): number | undefined {
  return (error as GitbeakerErrorLike)?.cause?.response?.status;
}
