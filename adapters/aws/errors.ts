import { AdapterError, retryAfterMs } from '../types.js';

const SYSTEM = 'aws';

/**
 * AWS errors by name (SSO Admin and Identity Store API references, "Errors"): throttling and
 * server faults are retryable, as is a conflict with an assignment operation still in progress;
 * denied or unrecognised credentials are auth; everything else is permanent. SSO Admin sends no
 * Retry-After, so its throttling leaves `retryAfterMs` unset and the queue's backoff applies; the
 * Identity Store's ThrottlingException carries `Retry-After` as `RetryAfterSeconds`.
 */
const RETRYABLE = new Set(['ThrottlingException', 'InternalServerException', 'ServiceUnavailableException', 'ConflictException', 'TimeoutError', 'RequestTimeout']);
const AUTH = new Set(['AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'InvalidClientTokenId', 'CredentialsProviderError']);

export function classify(error: unknown, what: string): AdapterError {
  if (error instanceof AdapterError) return error;
  const e = error as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number; requestId?: string };
    $response?: { headers?: Record<string, string | undefined> };
    code?: string;
    RetryAfterSeconds?: number;
  };
  const name = e?.name ?? 'Error';
  // The abort signal each command carries: AWS did not answer in time.
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new AdapterError(`AWS ${what} timed out: AWS did not answer in time (Gatehouse will retry)`, { kind: 'retryable', system: SYSTEM, cause: error });
  }
  const status = e?.$metadata?.httpStatusCode;
  const networky = typeof e?.code === 'string' && /^E[A-Z]+/.test(e.code);
  const kind = RETRYABLE.has(name) || networky || (status !== undefined && status >= 500) ? 'retryable' : AUTH.has(name) ? 'auth' : 'permanent';
  const advice =
    kind === 'auth'
      ? 'check the AWS credentials and the IAM permissions in adapters/aws/README.md'
      : kind === 'retryable'
        ? 'Gatehouse will retry'
        : 'fix the request; retrying will not help';
  return new AdapterError(`AWS ${what} failed: ${name}: ${e?.message ?? ''} (${advice})`.replace(/\s+/g, ' '), {
    kind,
    system: SYSTEM,
    status,
    requestId: e?.$metadata?.requestId,
    rateLimited: name === 'ThrottlingException',
    // The model binds RetryAfterSeconds to the Retry-After header, which the JSON protocol's
    // deserializer leaves unread: take the header from the raw response, else the member.
    retryAfterMs:
      name !== 'ThrottlingException'
        ? undefined
        : (retryAfterMs(e.$response?.headers?.['retry-after']) ?? (typeof e.RetryAfterSeconds === 'number' ? e.RetryAfterSeconds * 1000 : undefined)),
    cause: error,
  });
}
