import type { AccountRef, Adapter, AdapterDescription, AdapterPerson, GrantProgress, GrantResult, ObservedGrant, RevokeResult } from '../types.js';
import { AdapterError } from '../types.js';
import { type AssignmentOperation, type AwsApi, type AwsClientConfig, type AwsUserShape, createAwsApi } from './client.js';
import { classify } from './errors.js';
import { AWS_ENTITLEMENT_TYPES, parse, parseAws } from './mapping.js';

export type { AwsClientConfig } from './client.js';
export { AWS_ENTITLEMENT_TYPES } from './mapping.js';

/** AWS finishes an assignment in seconds; a re-check sooner than this is wasted. */
const CHECK_AFTER_MS = 2_000;

/**
 * AWS IAM Identity Center: a permission set on an account, assigned to the person's Identity
 * Center user. Users usually arrive from the IdP by SCIM, so AWS depends on Okta by default.
 * Assignments are made and removed asynchronously: grant() and revoke() answer `in_progress` with
 * AWS's request id, and checkProgress() reads where it stands; nothing here waits.
 */
export function createAwsAdapter(config: AwsClientConfig, deps: { api?: AwsApi } = {}): Adapter {
  const api = deps.api ?? createAwsApi(config);
  const description: AdapterDescription = {
    system: 'aws',
    displayName: 'AWS IAM Identity Center',
    mode: 'live',
    entitlementTypes: AWS_ENTITLEMENT_TYPES,
    // SSO Admin's account-assignment APIs allow about 20 requests per second per account; stay well under.
    defaultRateLimit: { requestsPerMinute: 600 },
    dependsOn: config.provisionUsers ? [] : ['okta'],
    supports: { deleteAccount: false, listMembers: true, listAccounts: true, expiringGrants: false },
  };
  const byName = new Map<string, string>();
  const byArn = new Map<string, string>();

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classify(error, what);
    }
  }

  /** Permission set names ⇄ ARNs, read when an unknown one is met (they change rarely). */
  async function refreshPermissionSets(): Promise<void> {
    await call('list permission sets', async () => {
      for await (const ps of api.permissionSets()) {
        byName.set(ps.name, ps.arn);
        byArn.set(ps.arn, ps.name);
      }
    });
  }

  async function permissionSetArn(name: string): Promise<string> {
    if (!byName.has(name)) await refreshPermissionSets();
    const arn = byName.get(name);
    if (!arn) throw new AdapterError(`AWS Identity Center has no permission set named "${name}"; create it or fix the policy`, { kind: 'permanent', system: 'aws', status: 404 });
    return arn;
  }

  async function nameOf(arn: string): Promise<string | undefined> {
    if (!byArn.has(arn)) await refreshPermissionSets();
    return byArn.get(arn);
  }

  const toRef = (user: AwsUserShape, person?: AdapterPerson): AccountRef => ({
    system: 'aws',
    id: user.UserId,
    login: user.UserName ?? null,
    email: user.Emails?.[0]?.Value ?? person?.email ?? null,
    employeeId: person?.employeeId ?? null,
    status: user.UserStatus === 'DISABLED' ? 'suspended' : 'active',
  });

  async function find(person: AdapterPerson): Promise<AccountRef | null> {
    // SCIM from Okta sets userName to the Okta login (the email); fall back to the email itself.
    const id = (await api.findUserId('userName', person.email)) ?? (await api.findUserId('emails.value', person.email));
    if (!id) return null;
    const user = await api.describeUser(id);
    return user ? toRef(user, person) : null;
  }

  async function has(account: AccountRef, accountId: string, arn: string): Promise<boolean> {
    for await (const a of api.assignmentsOf(account.id)) if (a.accountId === accountId && a.permissionSetArn === arn) return true;
    return false;
  }

  /** An assignment change AWS accepted: finished, failed (with AWS's reason), or still running. */
  function settle(op: AssignmentOperation, verb: 'assign' | 'remove', entitlement: string): { state: 'done' } | { state: 'in_progress'; reference: string } {
    if (op.status === 'FAILED') throw new AdapterError(`AWS could not ${verb} ${entitlement}: ${op.failureReason ?? 'no reason given'}`, { kind: 'permanent', system: 'aws', requestId: op.requestId });
    if (op.status === 'SUCCEEDED' || !op.requestId) return { state: 'done' };
    return { state: 'in_progress', reference: `${verb === 'assign' ? 'create' : 'delete'}:${op.requestId}` };
  }

  const adapter: Adapter = {
    system: 'aws',
    describe: () => description,
    parseEntitlement: parseAws,
    findAccount: (person) => call(`find user ${person.email}`, () => find(person)),

    async ensureAccount(person) {
      const existing = await adapter.findAccount(person);
      if (existing?.status === 'suspended') {
        // Identity Center keeps the user's status; whoever disabled it enables it again.
        throw config.provisionUsers
          ? new AdapterError(`AWS Identity Center user ${person.email} is disabled; enable it in the Identity Center console`, { kind: 'permanent', system: 'aws' })
          : new AdapterError(`AWS Identity Center user ${person.email} is disabled; Okta's SCIM enables it once the person is active in Okta`, { kind: 'retryable', system: 'aws', retryAfterMs: 60_000 });
      }
      if (existing) return { account: existing, outcome: 'already_present' };
      if (!config.provisionUsers) {
        // Not there yet: SCIM from the IdP runs on its own schedule. Retrying finds it.
        throw new AdapterError(`AWS Identity Center has no user ${person.email} yet; it is provisioned from Okta by SCIM (check the Okta AWS app assignment)`, { kind: 'retryable', system: 'aws', retryAfterMs: 60_000 });
      }
      const given = person.firstName?.trim() || person.email.split('@')[0]!;
      const userId = await call(`create user ${person.email}`, () =>
        api.createUser({ userName: person.email, displayName: person.displayName ?? [given, person.lastName].filter(Boolean).join(' '), givenName: given, familyName: person.lastName?.trim() || given, email: person.email }),
      );
      return { account: { system: 'aws', id: userId, login: person.email, email: person.email, employeeId: person.employeeId, status: 'active' }, outcome: 'applied' };
    },

    async suspendAccount(account): Promise<RevokeResult> {
      // Identity Center has no suspension of its own: access ends by removing the assignments;
      // the user is disabled by the IdP's SCIM, or deleted here when Gatehouse made it.
      const user = await call(`read user ${account.id}`, () => api.describeUser(account.id));
      if (!user) return { outcome: 'already_absent' };
      let removed = false;
      await call(`remove assignments of ${account.id}`, async () => {
        const held = [];
        for await (const a of api.assignmentsOf(account.id)) held.push(a);
        for (const a of held) {
          await api.deleteAssignment(a.accountId, a.permissionSetArn, account.id);
          removed = true;
        }
      });
      if (config.provisionUsers) {
        await call(`delete user ${account.id}`, () => api.deleteUser(account.id));
        return { outcome: 'applied' };
      }
      return { outcome: removed ? 'applied' : 'already_absent' };
    },

    async grant(account, entitlement): Promise<GrantResult> {
      const { accountId, permissionSet } = parse(entitlement);
      const arn = await permissionSetArn(permissionSet);
      if (await call(`read assignments of ${account.id}`, () => has(account, accountId, arn))) return { outcome: 'already_present', state: 'active' };
      const op = await call(`assign ${entitlement} to ${account.id}`, () => api.createAssignment(accountId, arn, account.id));
      const result = settle(op, 'assign', entitlement);
      if (result.state === 'done') return { outcome: 'applied', state: 'active', reference: op.requestId };
      return { outcome: 'applied', state: 'in_progress', reference: result.reference, checkAfterMs: CHECK_AFTER_MS };
    },

    async revoke(account, entitlement): Promise<RevokeResult> {
      const { accountId, permissionSet } = parse(entitlement);
      const arn = await permissionSetArn(permissionSet);
      if (!(await call(`read assignments of ${account.id}`, () => has(account, accountId, arn)))) return { outcome: 'already_absent' };
      let op: AssignmentOperation;
      try {
        op = await api.deleteAssignment(accountId, arn, account.id);
      } catch (error) {
        if ((error as { name?: string }).name === 'ResourceNotFoundException') return { outcome: 'already_absent' };
        throw classify(error, `remove ${entitlement} from ${account.id}`);
      }
      const result = settle(op, 'remove', entitlement);
      if (result.state === 'done') return { outcome: 'applied' };
      return { outcome: 'applied', state: 'in_progress', reference: result.reference, checkAfterMs: CHECK_AFTER_MS };
    },

    async checkProgress(reference): Promise<GrantProgress> {
      const m = /^(create|delete):(.+)$/.exec(reference);
      if (!m) throw new AdapterError(`"${reference}" is not a reference this AWS adapter gave out (create:<request id> or delete:<request id>)`, { kind: 'permanent', system: 'aws' });
      const [, kind, requestId] = m as unknown as [string, 'create' | 'delete', string];
      const op = await call(`read the status of assignment request ${requestId}`, () => (kind === 'create' ? api.creationStatus(requestId) : api.deletionStatus(requestId)));
      if (op.status === 'FAILED') {
        throw new AdapterError(`AWS could not ${kind === 'create' ? 'make' : 'remove'} the account assignment of request ${requestId}: ${op.failureReason ?? 'no reason given'}`, { kind: 'permanent', system: 'aws', requestId });
      }
      return op.status === 'SUCCEEDED' ? { state: 'done' } : { state: 'in_progress', checkAfterMs: CHECK_AFTER_MS };
    },

    async *listGrants(account): AsyncIterable<ObservedGrant> {
      try {
        for await (const a of api.assignmentsOf(account.id)) {
          const name = await nameOf(a.permissionSetArn);
          if (name) yield { entitlement: `aws:account-assignment:${a.accountId}#${name}`, state: 'active' };
        }
      } catch (error) {
        throw classify(error, `list assignments of ${account.id}`);
      }
    },

    async *listMembers(entitlement) {
      const { accountId, permissionSet } = parse(entitlement);
      const arn = await permissionSetArn(permissionSet);
      try {
        for await (const p of api.principalsOf(accountId, arn)) {
          if (p.principalType !== 'USER') continue;
          const user = await api.describeUser(p.principalId);
          if (user) yield toRef(user);
        }
      } catch (error) {
        throw classify(error, `list assignments of ${entitlement}`);
      }
    },

    async *listAccounts() {
      try {
        for await (const user of api.users()) yield toRef(user);
      } catch (error) {
        throw classify(error, 'list users');
      }
    },
  };
  return adapter;
}
