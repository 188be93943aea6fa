import type { AccountRef, Adapter, AdapterDescription, AdapterPerson, GrantResult, ObservedGrant, RevokeResult } from '../types.js';
import { AdapterError } from '../types.js';
import { type AwsApi, type AwsClientConfig, type AwsUserShape, createAwsApi } from './client.js';
import { classify } from './errors.js';
import { parse } from './mapping.js';

export type { AwsClientConfig } from './client.js';

/**
 * AWS IAM Identity Center: a permission set on an account, assigned to the person's Identity
 * Center user. Users usually arrive from the IdP by SCIM, so AWS depends on Okta by default.
 */
export function createAwsAdapter(config: AwsClientConfig, deps: { api?: AwsApi } = {}): Adapter {
  const api = deps.api ?? createAwsApi(config);
  const description: AdapterDescription = {
    system: 'aws',
    displayName: 'AWS IAM Identity Center',
    mode: 'live',
    entitlementTypes: [{ type: 'account-assignment', description: 'a permission set on one AWS account (aws:account-assignment:<account>#<permission set>)', levels: 'any' }],
    // SSO Admin's account-assignment APIs allow about 20 requests per second per account; stay well under.
    defaultRateLimit: { requestsPerMinute: 600 },
    dependsOn: config.provisionUsers ? [] : ['okta'],
    supports: { deleteAccount: Boolean(config.provisionUsers), listMembers: true, listAccounts: true, expiringGrants: false },
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
    status: 'active',
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

  const adapter: Adapter = {
    system: 'aws',
    describe: () => description,
    validateEntitlement: (entitlement) => void parse(entitlement),
    findAccount: (person) => call(`find user ${person.email}`, () => find(person)),

    async ensureAccount(person) {
      const existing = await adapter.findAccount(person);
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
      // Identity Center has no suspension of its own: access ends by removing the assignments, and
      // the user goes (when Gatehouse made it) or is deactivated by the IdP's SCIM.
      const user = await call(`read user ${account.id}`, () => api.describeUser(account.id));
      if (!user) return { outcome: 'already_absent' };
      let removed = false;
      await call(`remove assignments of ${account.id}`, async () => {
        for await (const a of api.assignmentsOf(account.id)) {
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
      // Asynchronous on AWS's side: IN_PROGRESS now, visible to the verification read once done.
      const { status, failureReason } = await call(`assign ${entitlement} to ${account.id}`, () => api.createAssignment(accountId, arn, account.id));
      if (status === 'FAILED') throw new AdapterError(`AWS could not assign ${entitlement}: ${failureReason ?? 'no reason given'}`, { kind: 'permanent', system: 'aws' });
      return { outcome: 'applied', state: 'active' };
    },

    async revoke(account, entitlement): Promise<RevokeResult> {
      const { accountId, permissionSet } = parse(entitlement);
      const arn = await permissionSetArn(permissionSet);
      if (!(await call(`read assignments of ${account.id}`, () => has(account, accountId, arn)))) return { outcome: 'already_absent' };
      try {
        const { status, failureReason } = await api.deleteAssignment(accountId, arn, account.id);
        if (status === 'FAILED') throw new AdapterError(`AWS could not remove ${entitlement}: ${failureReason ?? 'no reason given'}`, { kind: 'permanent', system: 'aws' });
      } catch (error) {
        if ((error as { name?: string }).name === 'ResourceNotFoundException') return { outcome: 'already_absent' };
        throw classify(error, `remove ${entitlement} from ${account.id}`);
      }
      return { outcome: 'applied' };
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
