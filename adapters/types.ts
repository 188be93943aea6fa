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
   * - `active`: the access works now and reads back.
   * - `pending`: the system accepted the grant but a person must still act (a GitHub invitation
   *   awaiting acceptance, a manual task awaiting IT); it counts as applied, not verified.
   * - `in_progress`: the system carries the grant out asynchronously (an AWS account assignment):
   *   nothing is wrong yet, but it does not read back until it finishes. The orchestrator calls
   *   {@link Adapter.checkProgress} with `reference` after `checkAfterMs`, rather than granting
   *   again; the adapter never waits for it.
   */
  state: 'active' | 'pending' | 'in_progress';
  /**
   * What the system calls this change, for people and for re-checks: an invitation id, a task
   * id, AWS's request id. Required with `in_progress`.
   */
  reference?: string;
  /** With `in_progress`: when a re-check is worth making. */
  checkAfterMs?: number;
}

/** Where an asynchronous grant stands (see {@link Adapter.checkProgress}). */
export type GrantProgress = { state: 'done' } | { state: 'in_progress'; checkAfterMs: number };

export interface RevokeResult {
  outcome: 'applied' | 'already_absent';
  /**
   * The system removes it asynchronously (AWS): it still reads back until done. Followed with
   * checkProgress(`reference`) after `checkAfterMs`, as for a grant.
   */
  state?: 'in_progress';
  reference?: string;
  checkAfterMs?: number;
}

/** One grant as the system reports it. */
export interface ObservedGrant {
  entitlement: string;
  state: 'active' | 'pending';
  /** When the system itself will end it (GitLab membership `expires_at`). */
  expiresAt?: string | null;
  /**
   * The entitlement this access comes through, when it is inherited rather than held directly (a
   * GitLab subgroup's members from its parent group). It cannot be revoked on its own: drift
   * scans report it against `inheritedFrom`, and revoke() of it resolves `already_absent`.
   */
  inheritedFrom?: string | null;
}

/** An entitlement URI taken apart: `<system>:<type>[:<resource>][#<level>]`. */
export interface ParsedEntitlement {
  uri: string;
  /** As the adapter names itself (`okta`, `scim:figma`). */
  system: string;
  type: string;
  resource: string | null;
  level: string | null;
}

export interface EntitlementType {
  /** `group`, `repo`, `account-assignment`, … (the `<type>` of `<system>:<type>:<resource>#<level>`). */
  type: string;
  description: string;
  /** Native levels, lowest first; `null` when the type has none; `'any'` when the resource names it (AWS permission sets). */
  levels: readonly string[] | 'any' | null;
  /** A person holds at most one level of a resource, so granting a level replaces the one held (a GitHub repo role). */
  ranked?: boolean;
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

  /**
   * What this system offers and how to treat it: every adapter implements it. Cheap and
   * synchronous; the registry reads `dependsOn` and `defaultRateLimit` at start-up, and
   * `serve` and the docs show the rest.
   */
  describe(): AdapterDescription;

  /**
   * Takes an entitlement URI of this system apart, checking its type, resource and level against
   * what the system has. Throws a `permanent` AdapterError that quotes the URI, says which part
   * is wrong and what is expected. Pure and synchronous: grant() and revoke() call it before any
   * request, so a typo in a policy never reaches the vendor. {@link splitEntitlement} does the
   * generic part.
   */
  parseEntitlement(entitlement: string): ParsedEntitlement;

  /**
   * The person's account, matched by the immutable id first (an email changes on marriage or a
   * typo fix; the employee id does not), then by email; null when there is none. Every adapter
   * implements it. A suspended account is returned with `status: 'suspended'`, so ensureAccount
   * re-enables it instead of making a second one.
   */
  findAccount(person: AdapterPerson): Promise<AccountRef | null>;

  /**
   * Finds the account (as findAccount) and creates it only when there is none; re-enables a
   * suspended one (a rehire). Every adapter implements it; create only where the system allows
   * it. Where accounts come from elsewhere, throw: `retryable` when they will appear on their own
   * (SCIM from the IdP has not run yet), `permanent` saying how the account gets made otherwise
   * (a GitHub login missing from the HRIS record). `applied` means this call changed something.
   */
  ensureAccount(person: AdapterPerson): Promise<{ account: AccountRef; outcome: 'applied' | 'already_present' }>;

  /**
   * What a leaver gets: blocks sign-in and ends open sessions, keeping the account for audit and
   * rehire. Every adapter implements it; where the system has no suspension, do the nearest
   * reversible thing and say so in the README (GitHub: remove the org membership). Idempotent:
   * an account already suspended or gone resolves `already_absent`.
   */
  suspendAccount(account: AccountRef): Promise<RevokeResult>;

  /**
   * Removes the account for good, for a retention policy run after suspension. Implement it only
   * where the system allows it and it is what admins expect (Okta deactivation); leave it out
   * where deletion destroys data people need (mailboxes) or is not ours to do.
   */
  deleteAccount?(account: AccountRef): Promise<RevokeResult>;

  /**
   * Grants one entitlement (never the `<system>:account` one; that is ensureAccount). Idempotent:
   * granting what is present resolves `already_present`, which the audit log records as a no-op.
   * A new level of a `ranked` type replaces the level held. `expiresAt` is passed on where the
   * system enforces expiry itself (`supports.expiringGrants`); elsewhere the orchestrator's expiry
   * sweep revokes it, and the adapter ignores it.
   */
  grant(account: AccountRef, entitlement: string, options?: { expiresAt?: string | null }): Promise<GrantResult>;

  /**
   * Revokes one entitlement. Idempotent: an absent grant, or a vendor's 404 for the membership or
   * the account, resolves `already_absent`.
   */
  revoke(account: AccountRef, entitlement: string): Promise<RevokeResult>;

  /**
   * Where a grant or revoke that came back `in_progress` stands, by its `reference`. Implement it
   * only for systems that provision asynchronously (AWS account assignments). One read, no
   * waiting: it is the bounded state the orchestrator re-checks instead of writing again. Resolves
   * `done` or `in_progress` (with when to look again); throws a `permanent` AdapterError with the
   * vendor's reason when the system gave up.
   */
  checkProgress?(reference: string): Promise<GrantProgress>;

  /**
   * What the account holds now, read from the system (never from a cache): the verification read
   * after every write, and the drift scan's view of one person. Implement it where the API can
   * list a person's access; otherwise implement checkGrant. Pages are fetched as iterated.
   */
  listGrants?(account: AccountRef): AsyncIterable<ObservedGrant>;

  /**
   * Whether the account holds one entitlement, read from the system (null when it does not).
   * For systems that cannot list a person's access (GitHub has no "every repository this user
   * can reach" call for an org): an adapter implements listGrants, checkGrant, or both.
   */
  checkGrant?(account: AccountRef, entitlement: string): Promise<ObservedGrant | null>;

  /**
   * Who holds an entitlement, for drift scans (access someone gave behind Gatehouse's back).
   * Implement it where the API lists members of a group, team or role; pages are fetched as
   * iterated, so a scan of a large group holds one page at a time.
   */
  listMembers?(entitlement: string): AsyncIterable<AccountRef>;

  /**
   * Every account in the system, for orphan scans (accounts no person in the HRIS owns).
   * Implement it where the API lists users; paginated like listMembers.
   */
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

/**
 * The generic half of parseEntitlement: checks that `uri` belongs to `system` and splits it into
 * type, resource and level, with a precise error for each way it can be malformed. The adapter
 * then checks the parts against what its system has.
 */
export function splitEntitlement(uri: string, system: string): ParsedEntitlement {
  const fail = (why: string) =>
    new AdapterError(`"${uri}" is not a valid ${system} entitlement: ${why} (the form is ${system}:<type>[:<resource>][#<level>])`, { kind: 'permanent', system });
  if (typeof uri !== 'string' || uri === '') throw fail('it is empty');
  if (uri.trim() !== uri) throw fail('it has spaces around it');
  if (!uri.startsWith(`${system}:`)) throw fail(`it does not start with "${system}:"`);
  const hash = uri.indexOf('#');
  const body = uri.slice(system.length + 1, hash === -1 ? undefined : hash);
  const level = hash === -1 ? null : uri.slice(hash + 1);
  if (level === '') throw fail('nothing follows "#"; write a level or drop the "#"');
  if (level !== null && level.includes('#')) throw fail('it has more than one "#"');
  const colon = body.indexOf(':');
  const type = colon === -1 ? body : body.slice(0, colon);
  const resource = colon === -1 ? null : body.slice(colon + 1);
  if (!/^[a-z][a-z-]*$/.test(type)) throw fail(type === '' ? 'the type is missing' : `"${type}" is not a type name (lower-case letters and dashes)`);
  if (resource !== null && resource.trim() === '') throw fail(`the ${type} name is empty`);
  if (resource !== null && resource.trim() !== resource) throw fail(`the ${type} name "${resource}" has spaces around it`);
  return { uri, system, type, resource, level };
}

/** `<system>:account`, the entitlement that stands for the account itself. */
export function accountEntitlement(system: string): string {
  return `${system}:account`;
}

/**
 * The most pages one listing may follow. A vendor (a bug, or a man in the middle) that answers
 * the same cursor forever, or endless pages, must not keep a drift scan or a read-back running
 * (and its memory growing) forever (issue 27). 10,000 pages of 100 is a million items, far more
 * members, accounts or grants than any tenant we support has in one listing.
 */
export const MAX_PAGES = 10_000;

/**
 * The ceiling on one pagination loop. Create one per listing, and call, once per page received:
 * - `follow(token)` with the cursor about to be followed (NextToken, nextPageToken, a next URL):
 *   throws when it repeats any earlier one;
 * - `advance(offset)` with the offset (startAt, startIndex, page number) about to be requested:
 *   throws unless it moves past the previous one;
 * - `count()` where an SDK follows the cursor itself (octokit, Slack's paginate, Okta's
 *   collections): only the page count is checked.
 * Each throws a `permanent` AdapterError naming the system, the call and the reason once the page
 * count passes `maxPages`. Permanent because asking again gets the same endless answer.
 */
export class PageGuard {
  private pages = 0;
  private readonly tokens = new Set<string>();
  private lastOffset: number | undefined;

  private readonly system: string;
  private readonly call: string;
  private readonly maxPages: number;

  constructor(system: string, call: string, maxPages = MAX_PAGES) {
    this.system = system;
    this.call = call;
    this.maxPages = maxPages;
  }

  count(): void {
    this.pages += 1;
    if (this.pages > this.maxPages) this.fail(`more than ${this.maxPages} pages`);
  }

  follow(token: string): void {
    this.count();
    // A Set of every token: a cycle of two (A → B → A) is as endless as A → A. The memory is
    // bounded by the page ceiling.
    if (this.tokens.has(token)) this.fail('returned the same page token twice');
    this.tokens.add(token);
  }

  advance(offset: number): void {
    this.count();
    if (!Number.isFinite(offset) || (this.lastOffset !== undefined && offset <= this.lastOffset)) {
      this.fail(`returned a next offset (${offset}) that does not advance past ${this.lastOffset ?? 'the start'}`);
    }
    this.lastOffset = offset;
  }

  private fail(reason: string): never {
    throw new AdapterError(
      `${this.system} ${this.call} ${reason}; stopped following its pagination so the listing ends. ` +
        `Check the ${this.system} API (or what sits between Gatehouse and it) and try again.`,
      { kind: 'permanent', system: this.system },
    );
  }
}
