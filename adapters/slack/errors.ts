import { AdapterError, type AdapterErrorKind, kindForStatus, retryAfterMs } from '../types.js';

const SYSTEM = 'slack';

/**
 * Slack's Web API answers HTTP 200 with `{"ok": false, "error": "<code>"}` for almost every
 * failure (https://api.slack.com/web#evaluating_responses). These codes are about the token or
 * what it may do: retrying will not help, a person must fix the app or the token.
 */
const AUTH_CODES = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'not_allowed_token_type',
  'no_permission',
  'permission_denied',
  'access_denied',
  'team_access_not_granted',
  'ekm_access_denied',
  'two_factor_setup_required',
  'user_is_bot',
]);

/** Slack's own trouble, or a workspace mid-migration: worth trying again later. */
const RETRYABLE_CODES = new Set(['fatal_error', 'internal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org', 'org_login_required']);

/** The Web API error code of a failed WebClient call (WebAPIPlatformError.data.error), if it is one. */
export function slackCode(error: unknown): string | undefined {
  const e = error as { code?: string; data?: { error?: unknown } };
  return e?.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string' ? e.data.error : undefined;
}

interface SdkErrorLike {
  name?: string;
  message?: string;
  code?: string;
  /** WebAPIRateLimitedError: seconds, from Retry-After. */
  retryAfter?: number;
  /** WebAPIPlatformError: the response body. */
  data?: { error?: string; needed?: string; provided?: string; response_metadata?: { retryAfter?: number; messages?: string[] } };
  /** WebAPIHTTPError */
  statusCode?: number;
  headers?: Record<string, string> | Headers;
  body?: unknown;
  /** WebAPIRequestError: what fetch threw. */
  original?: { name?: string; message?: string; cause?: { code?: string } };
  status?: number;
  cause?: { code?: string };
}

function header(headers: SdkErrorLike['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  return (headers as Record<string, string>)[name] ?? undefined;
}

const advice = (kind: AdapterErrorKind, scim: boolean) =>
  kind === 'auth'
    ? scim
      ? 'check SLACK_SCIM_TOKEN: a user token of a Slack Owner or Admin with the `admin` scope (adapters/slack/README.md)'
      : 'check SLACK_BOT_TOKEN and the bot scopes in adapters/slack/README.md'
    : kind === 'retryable'
      ? 'Gatehouse will retry'
      : 'fix the request; retrying will not help';

/**
 * One failed Slack call as an AdapterError. The WebClient raises, with its retries off:
 * WebAPIRateLimitedError (a 429, `retryAfter` in seconds), WebAPIPlatformError (HTTP 200 with
 * `ok: false`), WebAPIHTTPError (any other status) and WebAPIRequestError (network, timeout).
 * SCIM calls raise SlackScimError (client.ts), or fetch's TimeoutError.
 */
export function classify(error: unknown, what: string): AdapterError {
  if (error instanceof AdapterError) return error;
  const e = error as SdkErrorLike;
  if (e?.code === 'slack_webapi_rate_limited_error') {
    return new AdapterError(`Slack ${what} was rate limited (429); Gatehouse will come back in ${e.retryAfter}s`, {
      kind: 'retryable',
      system: SYSTEM,
      status: 429,
      rateLimited: true,
      retryAfterMs: typeof e.retryAfter === 'number' ? e.retryAfter * 1000 : undefined,
      cause: error,
    });
  }
  if (e?.code === 'slack_webapi_platform_error' && e.data) {
    const code = e.data.error ?? 'unknown_error';
    if (code === 'ratelimited') {
      const seconds = e.data.response_metadata?.retryAfter;
      return new AdapterError(`Slack ${what} was rate limited (ratelimited); Gatehouse will come back later`, { kind: 'retryable', system: SYSTEM, rateLimited: true, retryAfterMs: typeof seconds === 'number' ? seconds * 1000 : undefined, cause: error });
    }
    const kind: AdapterErrorKind = AUTH_CODES.has(code) ? 'auth' : RETRYABLE_CODES.has(code) ? 'retryable' : 'permanent';
    const detail =
      code === 'missing_scope'
        ? `the Slack app lacks the \`${e.data.needed ?? '?'}\` scope (it has: ${e.data.provided ?? 'unknown'}); add it under OAuth & Permissions → Bot Token Scopes and reinstall the app`
        : advice(kind, false);
    return new AdapterError(`Slack ${what} failed: ${code} (${detail})`, { kind, system: SYSTEM, cause: error });
  }
  if (e?.code === 'slack_webapi_http_error' && typeof e.statusCode === 'number') {
    return httpError(e.statusCode, e.headers, what, false, error);
  }
  if (e?.name === 'SlackScimError' && typeof e.status === 'number') {
    const description = (e.body as { Errors?: { description?: string } } | null)?.Errors?.description;
    return httpError(e.status, e.headers, what, true, error, description);
  }
  const original = e?.code === 'slack_webapi_request_error' ? e.original : e;
  if (original?.name === 'TimeoutError' || original?.name === 'AbortError') {
    return new AdapterError(`Slack ${what} timed out: Slack did not answer in time (Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
  }
  // The WebClient's 429 without a usable Retry-After is a plain Error.
  if (/rate limit|retry header/i.test(e?.message ?? '')) {
    return new AdapterError(`Slack ${what} was rate limited without a Retry-After (Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, status: 429, rateLimited: true, cause: error });
  }
  if (e?.code === 'slack_webapi_request_error' || original?.name === 'TypeError') {
    return new AdapterError(`Slack ${what} failed: ${original?.message ?? 'network error'}${original?.cause?.code ? ` (${original.cause.code})` : ''} (network; Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
  }
  return new AdapterError(`Slack ${what} failed unexpectedly: ${e?.message ?? String(error)}`, { kind: 'permanent', system: SYSTEM, cause: error });
}

function httpError(status: number, headers: SdkErrorLike['headers'], what: string, scim: boolean, cause: unknown, description?: string): AdapterError {
  const kind = kindForStatus(status);
  const rateLimited = status === 429;
  return new AdapterError(`Slack ${scim ? 'SCIM ' : ''}${what} failed: HTTP ${status}${description ? ` ${description}` : ''} (${advice(kind, scim)})`, {
    kind,
    system: SYSTEM,
    status,
    rateLimited,
    retryAfterMs: kind === 'retryable' ? retryAfterMs(header(headers, 'retry-after')) : undefined,
    requestId: header(headers, 'x-slack-req-id'),
    cause,
  });
}
