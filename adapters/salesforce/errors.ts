import { AdapterError, kindForStatus, retryAfterMs } from '../types.js';
import { QuotaGuardError, SalesforceHttpError } from './client.js';
import { SYSTEM } from './mapping.js';

/**
 * Salesforce errorCodes that say something the HTTP status does not
 * (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm and
 * the API's StatusCode list, https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm):
 * - REQUEST_LIMIT_EXCEEDED (403): the org's 24-hour API allocation, or its concurrent long-request
 *   limit, is used up. Not a missing permission: retryable, and the whole system slows down.
 * - UNABLE_TO_LOCK_ROW (400): another transaction holds the record; it passes.
 * - SERVER_UNAVAILABLE (503): maintenance or overload.
 */
const RETRYABLE_CODES = new Set(['REQUEST_LIMIT_EXCEEDED', 'UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE']);
/** OAuth 2.0 token endpoint errors that mean the connected app's credentials or setup are wrong. */
const OAUTH_AUTH_CODES = new Set(['invalid_client', 'invalid_client_id', 'invalid_grant', 'unauthorized_client', 'inactive_user', 'inactive_org']);

function advice(kind: string, error: SalesforceHttpError): string {
  if (error.oauth && kind === 'auth') {
    return 'check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET, that the connected app has the client credentials flow enabled with a Run As user, and that SALESFORCE_INSTANCE_URL is the org\'s My Domain URL';
  }
  if (error.status === 401) return 'the session was refused again after signing in anew: check the connected app\'s policies (IP relaxation, session timeout) and its Run As user';
  if (kind === 'auth') return 'the Run As user of the connected app lacks a permission (Manage Users, Assign Permission Sets, API Enabled; adapters/salesforce/README.md lists them)';
  return kind === 'retryable' ? 'Gatehouse will retry' : 'fix the request; retrying will not help';
}

/**
 * One failed Salesforce call as an AdapterError. Salesforce's errors are an array of
 * `{message, errorCode, fields}`: REQUEST_LIMIT_EXCEEDED is retryable and rate-limited, a 401
 * (INVALID_SESSION_ID, after the client's one re-sign-in) and a 403 are `auth`, 5xx and timeouts
 * retryable, and the other 4xx (INVALID_FIELD, MALFORMED_QUERY, FIELD_CUSTOM_VALIDATION_EXCEPTION,
 * DUPLICATE_USERNAME, …) permanent, with Salesforce's own messages.
 */
export function classify(error: unknown, what: string, now = Date.now()): AdapterError {
  if (error instanceof AdapterError) return error;
  if (error instanceof QuotaGuardError) {
    return new AdapterError(`Salesforce ${what} not sent: ${error.message} (Gatehouse will retry)`, {
      kind: 'retryable',
      system: SYSTEM,
      rateLimited: true,
      retryAfterMs: error.retryAfterMs,
      cause: error,
    });
  }
  if (error instanceof SalesforceHttpError) {
    const { status } = error;
    const codes = error.errors.map((e) => e.errorCode);
    const limited = codes.includes('REQUEST_LIMIT_EXCEEDED') || status === 429;
    let kind = kindForStatus(status);
    if (codes.some((c) => RETRYABLE_CODES.has(c))) kind = 'retryable';
    else if (error.oauth && codes.some((c) => OAUTH_AUTH_CODES.has(c))) kind = 'auth';
    const detail = error.errors.map((e) => `${e.errorCode}${e.errorCode ? ': ' : ''}${e.message}${e.fields?.length ? ` (${e.fields.join(', ')})` : ''}`).join('; ');
    return new AdapterError(`Salesforce ${what} failed: ${status} ${detail} (${advice(kind, error)})`.replace(/\s+/g, ' '), {
      kind,
      system: SYSTEM,
      status,
      rateLimited: limited,
      // Salesforce sends no Retry-After for REQUEST_LIMIT_EXCEEDED (the allocation is a rolling 24
      // hours); honour one if a proxy in front of it does.
      retryAfterMs: kind === 'retryable' ? retryAfterMs(error.headers['retry-after'], now) : undefined,
      cause: error,
    });
  }
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError' || e?.message === 'Request Timeout') {
    return new AdapterError(`Salesforce ${what} timed out: Salesforce did not answer in time (Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
  }
  if ((e?.name === 'TypeError' && /fetch failed/i.test(e.message ?? '')) || typeof e?.code === 'string' || typeof e?.cause?.code === 'string') {
    return new AdapterError(`Salesforce ${what} failed: ${e.message ?? 'network error'} (network; Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
  }
  return new AdapterError(`Salesforce ${what} failed unexpectedly: ${e?.message ?? String(error)}`, { kind: 'permanent', system: SYSTEM, cause: error });
}

/** The HTTP status and first errorCode of a Salesforce answer, when there was one. */
export function statusOf(error: unknown): { status?: number; errorCode?: string } {
  if (error instanceof SalesforceHttpError) return { status: error.status, errorCode: error.errorCode };
  if (error instanceof AdapterError) return { status: error.status };
  return {};
}
