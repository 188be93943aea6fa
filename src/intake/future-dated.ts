import type { FieldError } from '../people/person-record.js';

/** HR_EVENT_MAX_FUTURE's default, for callers built without config (tests, tools). */
export const DEFAULT_HR_EVENT_MAX_FUTURE_MS = 24 * 3_600_000;

/**
 * The error for an event dated more than maxFutureMs after now, or null. Events are ordered by
 * their sender's timestamp, so one dated 2030 would make every real change until then (a
 * termination included) look older than what is stored, and be filed as stale (issue 27). A day of
 * slack covers time zones written without an offset and sender clocks that run fast.
 */
export function futureDatedError(timestamp: string, path: string, now: Date, maxFutureMs: number = DEFAULT_HR_EVENT_MAX_FUTURE_MS): FieldError | null {
  const at = new Date(timestamp).getTime();
  if (Number.isNaN(at) || at - now.getTime() <= maxFutureMs) return null;
  return { path, message: `is ${new Date(at).toISOString()}, more than ${Math.round(maxFutureMs / 60_000)} minutes after now (${now.toISOString()}); an HR event cannot be dated in the future (HR_EVENT_MAX_FUTURE)` };
}
