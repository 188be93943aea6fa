/**
 * Desired-vs-actual diff → an ordered operation graph. Pure: no I/O, no clock except `now` passed
 * in. The orchestrator turns the graph into rows and jobs; tests and the CLI can inspect it.
 *
 * Every system's account is itself an entitlement, `<system>:account` (`scim:<app>:account` for a
 * SCIM app): granting it creates or re-enables the account, revoking it suspends it. So a hire, a
 * transfer and a termination are all the same diff, and only the ordering rules differ.
 */

export interface DesiredGrant {
  /** A native entitlement URI (levels already translated by the policy engine). */
  entitlement: string;
  /** `policy:<name>`, `request:<id>` or `exception:<id>`. */
  source: string;
  expiresAt?: string | null;
  /** A failed critical grant makes the run compensate what it granted. */
  critical?: boolean;
}

export type ActualStatus = 'pending' | 'applied' | 'verified' | 'failed' | 'manual' | 'revoking' | 'revoked';

export interface ActualGrant {
  entitlement: string;
  status: ActualStatus;
}

export type OperationKind = 'grant' | 'revoke';

export interface PlannedOperation {
  /** Stable within one plan: `grant okta:account`, `revoke github:repo:acme/api#write`. */
  key: string;
  kind: OperationKind;
  /** The target system as the adapter registry names it (`okta`, `scim:figma`). */
  system: string;
  entitlement: string;
  /** True for `<system>:account`: grant = ensure the account, revoke = suspend it. */
  isAccount: boolean;
  source: string | null;
  expiresAt: string | null;
  critical: boolean;
  /** Keys of operations that must be done first. */
  dependsOn: string[];
  /** 0 = no dependencies; n = one more than the deepest dependency. Same tier runs in parallel. */
  tier: number;
  /** Not before this instant (a mover's overlap window before old access is revoked). */
  notBefore: string | null;
}

export interface PlanInput {
  /** Only active people have desired access; for anyone else the desired set is empty. */
  active: boolean;
  desired: DesiredGrant[];
  actual: ActualGrant[];
  /** `system → systems whose account must exist first` (AWS and Salesforce from Okta, say). */
  systemDependencies: Record<string, string[]>;
  /** Systems whose account is the person's login (suspended first when they leave). */
  identityProviders: string[];
  /** When old access may be revoked after a transfer (a mover's overlap window). */
  revokeNotBefore?: string | null;
  /** Systems with no account to make first (`manual`: each task stands alone). */
  accountless?: string[];
}

export class DependencyCycleError extends Error {
  readonly cycle: string[];
  constructor(cycle: string[]) {
    super(`system dependencies form a cycle: ${cycle.join(' → ')}. Remove one of these depends_on entries.`);
    this.name = 'DependencyCycleError';
    this.cycle = cycle;
  }
}

/** `okta:group:x` → `okta`; `scim:figma:group:x` → `scim:figma` (each SCIM app is its own system). */
export function systemOf(entitlement: string): string {
  const parts = entitlement.split(':');
  if (parts[0] === 'scim' && parts.length >= 3) return `scim:${parts[1]}`;
  return parts[0] ?? entitlement;
}

export function accountOf(system: string): string {
  return `${system}:account`;
}

export function isAccountEntitlement(entitlement: string): boolean {
  return entitlement === accountOf(systemOf(entitlement));
}

/**
 * The accounts a desired set implies: every system with a desired entitlement needs its account,
 * and so do the systems it depends on (AWS from Okta), except systems without accounts.
 */
export function impliedAccounts(entitlements: Iterable<string>, systemDependencies: Record<string, string[]>, accountless: string[] = []): string[] {
  const needAccount = new Set<string>();
  const addSystem = (system: string) => {
    if (needAccount.has(system) || accountless.includes(system)) return;
    needAccount.add(system);
    for (const dep of systemDependencies[system] ?? []) addSystem(dep);
  };
  for (const entitlement of entitlements) addSystem(systemOf(entitlement));
  return [...needAccount].sort().map(accountOf);
}

/** Grants the person may hold: a failed row may be a failed revoke, and revoking what is absent is harmless. */
const HELD: ReadonlySet<ActualStatus> = new Set(['pending', 'applied', 'verified', 'manual', 'revoking', 'failed']);
/** Grants that still need work to be in place (failed ones are retried by a new run). */
const SETTLED_GRANTED: ReadonlySet<ActualStatus> = new Set(['applied', 'verified', 'manual', 'pending']);

/**
 * Refuses a dependency configuration with a cycle, naming it. Called at start-up so a bad
 * configuration never reaches a run.
 */
export function assertNoDependencyCycle(systemDependencies: Record<string, string[]>): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (system: string) => {
    if (state.get(system) === 'done') return;
    if (state.get(system) === 'visiting') {
      throw new DependencyCycleError([...stack.slice(stack.indexOf(system)), system]);
    }
    state.set(system, 'visiting');
    stack.push(system);
    for (const dep of systemDependencies[system] ?? []) visit(dep);
    stack.pop();
    state.set(system, 'done');
  };
  for (const system of Object.keys(systemDependencies).sort()) visit(system);
}

/**
 * The operations that turn `actual` into `desired`, with their order:
 * - an entitlement waits for its system's account; an account waits for the accounts of the
 *   systems it depends on (a dependency's account is added to the plan when needed);
 * - a leaver's identity-provider accounts are suspended first (ending SSO sessions), then every
 *   other grant is revoked in parallel, then each system's account is suspended after its grants;
 * - for a mover, new grants go first and old ones are revoked no earlier than `revokeNotBefore`.
 */
export function planOperations(input: PlanInput): PlannedOperation[] {
  assertNoDependencyCycle(input.systemDependencies);
  const desired = new Map<string, DesiredGrant>();
  if (input.active) {
    for (const grant of [...input.desired].sort((a, b) => a.entitlement.localeCompare(b.entitlement))) {
      const existing = desired.get(grant.entitlement);
      // Several sources may give the same entitlement: keep one, but the earliest expiry
      // loses to a permanent grant, and critical wins.
      if (!existing) desired.set(grant.entitlement, { ...grant });
      else {
        existing.critical = Boolean(existing.critical || grant.critical);
        existing.expiresAt = !existing.expiresAt || !grant.expiresAt ? null : existing.expiresAt > grant.expiresAt ? existing.expiresAt : grant.expiresAt;
      }
    }
    for (const account of impliedAccounts([...desired.keys()], input.systemDependencies, input.accountless)) {
      if (!desired.has(account)) desired.set(account, { entitlement: account, source: 'implied', expiresAt: null, critical: false });
    }
  }

  const actual = new Map(input.actual.map((a) => [a.entitlement, a.status]));
  const ops = new Map<string, PlannedOperation>();
  const make = (kind: OperationKind, entitlement: string, grant?: DesiredGrant): PlannedOperation => ({
    key: `${kind} ${entitlement}`,
    kind,
    system: systemOf(entitlement),
    entitlement,
    isAccount: isAccountEntitlement(entitlement),
    source: grant?.source ?? null,
    expiresAt: grant?.expiresAt ?? null,
    critical: Boolean(grant?.critical),
    dependsOn: [],
    tier: 0,
    notBefore: null,
  });

  for (const [entitlement, grant] of desired) {
    const status = actual.get(entitlement);
    if (status === undefined || !SETTLED_GRANTED.has(status)) ops.set(`grant ${entitlement}`, make('grant', entitlement, grant));
  }
  for (const [entitlement, status] of actual) {
    if (!desired.has(entitlement) && HELD.has(status)) ops.set(`revoke ${entitlement}`, make('revoke', entitlement));
  }

  const leaving = !input.active;
  const grantsFirst = [...ops.values()].some((op) => op.kind === 'grant');
  for (const op of ops.values()) {
    if (op.kind === 'grant') {
      if (op.isAccount) {
        for (const dep of input.systemDependencies[op.system] ?? []) {
          if (ops.has(`grant ${accountOf(dep)}`)) op.dependsOn.push(`grant ${accountOf(dep)}`);
        }
      } else if (ops.has(`grant ${accountOf(op.system)}`)) {
        op.dependsOn.push(`grant ${accountOf(op.system)}`);
      }
      continue;
    }
    // Revocations.
    if (op.isAccount) {
      // An account is suspended after every other revocation in its system, so a suspended
      // account never still holds access that a later call would need the account to remove.
      for (const other of ops.values()) {
        if (other.kind === 'revoke' && !other.isAccount && other.system === op.system) op.dependsOn.push(other.key);
      }
      // A leaver's IdP account goes first of all: it ends their SSO sessions everywhere.
      if (leaving && input.identityProviders.includes(op.system)) op.dependsOn = [];
    } else if (leaving) {
      for (const idp of input.identityProviders) {
        if (ops.has(`revoke ${accountOf(idp)}`) && idp !== op.system) op.dependsOn.push(`revoke ${accountOf(idp)}`);
      }
    }
    if (!leaving && grantsFirst && input.revokeNotBefore) op.notBefore = input.revokeNotBefore;
  }
  // An IdP account that is suspended first must not also wait for its own grants' revocations;
  // those run in parallel with everything else after it.
  if (leaving) {
    for (const idp of input.identityProviders) {
      const idpOp = ops.get(`revoke ${accountOf(idp)}`);
      if (!idpOp) continue;
      for (const op of ops.values()) {
        if (op.kind === 'revoke' && !op.isAccount && op.system === idp && !op.dependsOn.includes(idpOp.key)) op.dependsOn.push(idpOp.key);
      }
    }
  }

  // Tiers: longest path from a root. Dependencies are acyclic by construction (accounts before
  // entitlements, systems acyclic as checked above).
  const tierOf = new Map<string, number>();
  const tier = (key: string, seen: Set<string>): number => {
    const known = tierOf.get(key);
    if (known !== undefined) return known;
    if (seen.has(key)) throw new DependencyCycleError([...seen, key]);
    seen.add(key);
    const op = ops.get(key)!;
    const value = op.dependsOn.length === 0 ? 0 : 1 + Math.max(...op.dependsOn.map((d) => tier(d, seen)));
    seen.delete(key);
    tierOf.set(key, value);
    return value;
  };
  const result = [...ops.values()];
  for (const op of result) {
    op.dependsOn.sort();
    op.tier = tier(op.key, new Set());
  }
  return result.sort((a, b) => a.tier - b.tier || a.key.localeCompare(b.key));
}

/** Groups a plan into tiers: every operation in a tier may run in parallel. */
export function tiers(operations: PlannedOperation[]): PlannedOperation[][] {
  const out: PlannedOperation[][] = [];
  for (const op of operations) (out[op.tier] ??= []).push(op);
  return out;
}
