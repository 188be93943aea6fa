import { AdapterError, kindForStatus, retryAfterMs } from '../types.js';
import { JiraHttpError, JiraSchemaError } from './client.js';
import { SYSTEM } from './mapping.js';

/**
 * When Jira says to come back: `Retry-After` (seconds), else `X-RateLimit-Reset`, the ISO 8601
 * time the limit resets (`yyyy-MM-ddTHH:mmZ`, "the request timestamp plus the Retry-After
 * period"; https://developer.atlassian.com/cloud/jira/platform/rate-limiting/).
 */
export function jiraRetryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const after = retryAfterMs(headers.get('retry-after'), now);
  if (after !== undefined) return after;
  const reset = headers.get('x-ratelimit-reset');
  const at = reset ? Date.parse(reset) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Jira's error body, `{"errorMessages": [...], "errors": {"field": "message"}}`
 * (https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/#status-codes), as one line.
 */
export function jiraMessage(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 300);
  if (!body || typeof body !== 'object') return '';
  const b = body as { errorMessages?: unknown; errors?: unknown; message?: unknown };
  const parts: string[] = [];
  if (Array.isArray(b.errorMessages)) parts.push(...b.errorMessages.filter((m): m is string => typeof m === 'string'));
  if (b.errors && typeof b.errors === 'object') for (const [field, m] of Object.entries(b.errors)) parts.push(`${field}: ${String(m)}`);
  if (parts.length === 0 && typeof b.message === 'string') parts.push(b.message);
  return parts.join('; ');
}

/** The HTTP status of a Jira answer, when there was one. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof JiraHttpError ? error.status : error instanceof AdapterError ? error.status : undefined;
}

/**
 * One failed Jira call as an AdapterError: 429 retryable and rate-limited (with when to come
 * back), 5xx and timeouts retryable, 401 and 403 `auth`, other 4xx permanent with Jira's own
 * messages; every error carries Atlassian's request id (X-AREQUESTID).
 */
export function classify(error: unknown, what: string, now = Date.now()): AdapterError {
  if (error instanceof AdapterError) return error;
  if (error instanceof JiraHttpError) {
    const status = error.status;
    const kind = kindForStatus(status);
    const rateLimited = status === 429;
    const advice =
      status === 401
        ? 'check JIRA_EMAIL and JIRA_API_TOKEN: the token must be a valid Atlassian API token of that account'
        : status === 403
          ? 'the account of JIRA_API_TOKEN lacks a permission (adapters/jira/README.md lists them)'
          : kind === 'retryable'
            ? 'Gatehouse will retry'
            : 'fix the request; retrying will not help';
    return new AdapterError(`Jira ${what} failed: ${status} ${jiraMessage(error.body)} (${advice})`.replace(/\s+/g, ' '), {
      kind,
      system: SYSTEM,
      status,
      rateLimited,
      // A 503 when a resource limit is reached may say when to come back, too.
      retryAfterMs: kind === 'retryable' ? jiraRetryAfterMs(error.headers, now) : undefined,
      requestId: error.headers.get('x-arequestid') ?? undefined,
      cause: error,
    });
  }
  if (error instanceof JiraSchemaError) {
    return new AdapterError(`Jira ${what} failed: ${error.message}`, { kind: 'permanent', system: SYSTEM, cause: error });
  }
  const e = error as { name?: string; message?: string };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new AdapterError(`Jira ${what} timed out: Jira did not answer in time (Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
  }
  if (e?.name === 'TypeError' && /fetch failed/i.test(e.message ?? '')) {
    return new AdapterError(`Jira ${what} failed: ${e.message} (network; Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
  }
  return new AdapterError(`Jira ${what} failed unexpectedly: ${e?.message ?? String(error)}`, { kind: 'permanent', system: SYSTEM, cause: error });
}
