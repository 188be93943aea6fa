import { AdapterError, kindForStatus, retryAfterMs } from '../types.js';

const SYSTEM = 'github';

interface RequestErrorLike {
  status?: number;
  message?: string;
  name?: string;
  cause?: { name?: string };
  response?: { headers?: Record<string, string | undefined>; data?: { message?: string } };
}

/**
 * GitHub's limits answer 403 or 429. The primary limit says so with `x-ratelimit-remaining: 0`
 * and a reset time; a secondary limit sends `retry-after`
 * (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api). Any other 403
 * is a permission the token lacks.
 */
export function classify(error: unknown, what: string, now = Date.now()): AdapterError {
  if (error instanceof AdapterError) return error;
  const e = error as RequestErrorLike;
  // Octokit reports a fetch that never answered as a made-up 500; say what happened instead.
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.cause?.name === 'TimeoutError' || e?.cause?.name === 'AbortError') {
    return new AdapterError(`GitHub ${what} timed out: GitHub did not answer in time (Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
  }
  if (typeof e?.status === 'number' && e.status > 0) {
    const headers = e.response?.headers ?? {};
    const retryAfter = retryAfterMs(headers['retry-after'], now);
    const exhausted = headers['x-ratelimit-remaining'] === '0';
    const rateLimited = e.status === 429 || ((e.status === 403 || e.status === 429) && (exhausted || retryAfter !== undefined));
    const reset = Number(headers['x-ratelimit-reset']);
    const wait = retryAfter ?? (exhausted && Number.isFinite(reset) ? Math.max(0, reset * 1000 - now) : undefined);
    const kind = rateLimited ? 'retryable' : kindForStatus(e.status);
    const advice =
      kind === 'auth'
        ? 'check GITHUB_TOKEN and its permissions (adapters/github/README.md)'
        : kind === 'retryable'
          ? 'Gatehouse will retry'
          : 'fix the request; retrying will not help';
    return new AdapterError(`GitHub ${what} failed: ${e.status} ${e.response?.data?.message ?? e.message ?? ''} (${advice})`.replace(/\s+/g, ' '), {
      kind,
      system: SYSTEM,
      status: e.status,
      rateLimited,
      retryAfterMs: rateLimited ? wait : undefined,
      requestId: headers['x-github-request-id'],
      cause: error,
    });
  }
  return new AdapterError(`GitHub ${what} failed: ${e?.message ?? String(error)} (network; Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
}
