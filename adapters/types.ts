/**
 * The adapter contract: the one shape every target system takes, so the rest of Gatehouse speaks
 * entitlement URIs and never a vendor API. Modelled on ConductorOne's Baton (resource types,
 * entitlements, grants; list, grant, revoke), kept small.
 *
 * Rules (ARCHITECTURE.md → Rules of the road):
 * - Every method is idempotent: granting what exists and revoking what is absent succeed, and say
 *   so in their outcome.
 * - Adapters never sleep or retry. They classify each failure once, as an {@link AdapterError},
 *   and the orchestrator decides. A vendor SDK's own retry must be off, or bounded and documented.
 * - Vendor types never leave the adapter's folder; this file imports nothing.
 */

/** The person as adapters see them: enough to find or create an account. */
export interface AdapterPerson {
  /** The HRIS's immutable id: the first key an adapter should match on, when the system stores it. */
  employeeId: string;
  email: string;
  firstName?: string | null;
  lastName?: string | null;
  displayName?: string | null;
  title?: string | null;
  department?: string | null;
  managerEmail?: string | null;
  /**
   * Usernames in systems where people bring their own account (a GitHub login), keyed by system;
   * the HRIS carries them as custom attributes (`attributes.github_login`).
   */
  handles?: Record<string, string>;
}

export type AccountStatus = 'active' | 'suspended' | 'pending';

/** A person's account in one system, as the adapter found or made it. */
export interface AccountRef {
  system: string;
  /** The system's immutable id for the account (Okta user id, GitHub login id, …). */
  id: string;
  /** The login or handle people see (GitHub login, Slack member id), when it differs from `id`. */
  login?: string | null;
  email?: string | null;
  /** HRIS employee id, when the system stores it. */
  employeeId?: string | null;
  status: AccountStatus;
}

/**
 * `applied`: this call changed the system. `already_present` / `already_absent`: nothing to do.
 * The audit log records which, so repeated runs show as no-ops rather than as changes.
 */
export type WriteOutcome = 'applied' | 'already_present' | 'already_absent';

export interface GrantResult {
  outcome: 'applied' | 'already_present';
  /**
   * `active`: the access works now and reads back. `pending`: the system accepted the grant but
   * someone must still act (a GitHub invitation awaiting acceptance); it counts as applied, not
   * verified.
   */
  state: 'active' | 'pending';
}

export interface RevokeResult {
  outcome: 'applied' | 'already_absent';
}

/** One grant as the system reports it. */
export interface ObservedGrant {
  entitlement: string;
  state: 'active' | 'pending';
  expiresAt?: string | null;
}

export interface EntitlementType {
  /** `group`, `repo`, `account-assignment`, … (the `<type>` of `<system>:<type>:<resource>#<level>`). */
  type: string;
  description: string;
  /** Native levels, lowest first; `null` when the type has none; `'any'` when the resource names it (AWS permission sets). */
  levels: readonly string[] | 'any' | null;
}

export interface AdapterDescription {
  /** As entitlement URIs name it: `okta`, `github`, `scim:figma`. */
  system: string;
  displayName: string;
  /** Live against the vendor, or the Postgres-backed sandbox. */
  mode: 'live' | 'sandbox';
  entitlementTypes: EntitlementType[];
  /** The vendor's published limit for one tenant; the orchestrator's token bucket starts here. */
  defaultRateLimit: { requestsPerMinute: number };
  /** Systems whose account must exist first (AWS Identity Center users come from the IdP). */
  dependsOn: string[];
  /** Which optional operations this adapter has, for humans and for the drift scanner. */
  supports: {
    deleteAccount: boolean;
    listMembers: boolean;
    listAccounts: boolean;
    /** Grants can carry an expiry the system enforces itself (GitLab membership expires_at). */
    expiringGrants: boolean;
  };
}

/**
 * One adapter per system. Optional methods exist only when the system supports them
 * (Baton's habit): check for them rather than catching "not implemented".
 */
export interface Adapter {
  readonly system: string;

  /** What this system offers and how to treat it. Cheap and synchronous. */
  describe(): AdapterDescription;

  /**
   * Checks that an entitlement URI belongs to this system and is well formed. Throws a
   * `permanent` AdapterError naming what is wrong. Called before any write, so a typo never
   * reaches the vendor.
   */
  validateEntitlement(entitlement: string): void;

  /** The person's account, matched by immutable id first, then email; null when there is none. */
  findAccount(person: AdapterPerson): Promise<AccountRef | null>;

  /**
   * Finds the account (as findAccount) or creates it; re-activates a suspended one. Implement
   * creation only where the system allows it; otherwise throw a `permanent` error saying how the
   * account gets made (e.g. "provisioned from Okta by SCIM").
   */
  ensureAccount(person: AdapterPerson): Promise<{ account: AccountRef; outcome: 'applied' | 'already_present' }>;

  /** Blocks sign-in and ends sessions, keeping the account for audit and re-hire. */
  suspendAccount(account: AccountRef): Promise<RevokeResult>;

  /** Deletes the account. Implement only for systems where deletion is safe and expected. */
  deleteAccount?(account: AccountRef): Promise<RevokeResult>;

  /**
   * Grants one entitlement (never the `<system>:account` one; that is ensureAccount). Idempotent:
   * granting what is present resolves `already_present`. A level change replaces the old level.
   */
  grant(account: AccountRef, entitlement: string, options?: { expiresAt?: string | null }): Promise<GrantResult>;

  /** Revokes one entitlement. Idempotent: a 404 or an absent grant resolves `already_absent`. */
  revoke(account: AccountRef, entitlement: string): Promise<RevokeResult>;

  /**
   * What the account holds now, read from the system: the verification read after every write.
   * Implement it where the API can list a person's access; otherwise implement checkGrant.
   */
  listGrants?(account: AccountRef): AsyncIterable<ObservedGrant>;

  /**
   * Whether the account holds one entitlement, read from the system (null when it does not).
   * For systems that cannot list a person's access (GitHub has no "every repository this user
   * can reach" call for an org): an adapter implements listGrants, checkGrant, or both.
   */
  checkGrant?(account: AccountRef, entitlement: string): Promise<ObservedGrant | null>;

  /** Who holds an entitlement (for drift scans). Implement where the API can list members. */
  listMembers?(entitlement: string): AsyncIterable<AccountRef>;

  /** Every account in the system (for orphan scans). Implement where the API can list users. */
  listAccounts?(): AsyncIterable<AccountRef>;
}

export type AdapterErrorKind = 'retryable' | 'permanent' | 'auth';

export interface AdapterErrorDetails {
  kind: AdapterErrorKind;
  system: string;
  /** When the vendor says when to come back (Retry-After, X-Rate-Limit-Reset, …). */
  retryAfterMs?: number;
  /** The vendor's HTTP status, when there was one. */
  status?: number;
  /** The vendor's request id, for their support. */
  requestId?: string;
  /** True for a 429: the orchestrator slows the whole system down, not just this call. */
  rateLimited?: boolean;
  cause?: unknown;
}

/**
 * The one error type at the adapter edge. The message says what failed and what to do; the
 * orchestrator reads `kind` (retry, give up, or pause the system and alert).
 */
export class AdapterError extends Error {
  readonly kind: AdapterErrorKind;
  readonly system: string;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly rateLimited: boolean;

  constructor(message: string, details: AdapterErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AdapterError';
    this.kind = details.kind;
    this.system = details.system;
    this.retryAfterMs = details.retryAfterMs;
    this.status = details.status;
    this.requestId = details.requestId;
    this.rateLimited = details.rateLimited ?? false;
  }
}

/**
 * HTTP status → error kind, one table for every adapter (after baton's uhttp and octokit's
 * doNotRetry): 408, 425, 429 and 5xx are worth retrying; 401 means the credentials are wrong or
 * expired; 403 is a permission the token lacks, which retrying will not fix (a GitHub secondary
 * rate limit also answers 403, but with Retry-After: pass `rateLimited` for it); everything else
 * (400, 404, 409, 422) is a request that will fail the same way again.
 */
export function kindForStatus(status: number): AdapterErrorKind {
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retryable';
  if (status === 401 || status === 403) return 'auth';
  return 'permanent';
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds from now. */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** `<system>:account`, the entitlement that stands for the account itself. */
export function accountEntitlement(system: string): string {
  return `${system}:account`;
}
