import { AdapterError } from '../types.js';

const SYSTEM = 'aws';

/**
 * AWS errors by name (SSO Admin and Identity Store API references, "Errors"): throttling and
 * server faults are retryable, as is a conflict with an assignment operation still in progress;
 * denied or unrecognised credentials are auth; everything else is permanent. AWS sends no
 * Retry-After, so `retryAfterMs` stays unset and the queue's backoff applies.
 */
const RETRYABLE = new Set(['ThrottlingException', 'InternalServerException', 'ServiceUnavailableException', 'ConflictException', 'TimeoutError', 'RequestTimeout', 'ServiceQuotaExceededException']);
const AUTH = new Set(['AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'InvalidClientTokenId', 'CredentialsProviderError']);

export function classify(error: unknown, what: string): AdapterError {
  if (error instanceof AdapterError) return error;
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; requestId?: string }; code?: string };
  const name = e?.name ?? 'Error';
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
    cause: error,
  });
}
