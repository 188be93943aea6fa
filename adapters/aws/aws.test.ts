import { afterEach, describe, expect, it } from 'vitest';
import { defineAdapterConformance } from '../conformance.js';
import { FakeAws } from './fake-aws.js';
import { createAwsAdapter } from './index.js';

const CONFIG = { region: 'us-east-1', instanceArn: 'arn:aws:sso:::instance/ssoins-1111111111111111', identityStoreId: 'd-1234567890' };
let fake: FakeAws | undefined;
afterEach(() => fake?.stop());

function setup(provisionUsers = true) {
  fake = new FakeAws(2).start();
  for (let i = 0; i < 8; i++) fake.addPermissionSet(`Team${i}Access`);
  return { adapter: createAwsAdapter({ ...CONFIG, provisionUsers }) };
}

defineAdapterConformance('aws', {
  setup: async () => setup(),
  entitlements: Array.from({ length: 8 }, (_, i) => `aws:account-assignment:11111111111${i}#Team${i}Access`),
  invalidEntitlement: 'aws:account-assignment:12345#PowerUser',
  retryAfterFromVendor: false,
  inject: async (_adapter, fault) => {
    const map = { '429': 'throttle', '5xx': '500', timeout: 'timeout', '401': '401', '403': '403', '404-on-revoke': '404' } as const;
    fake!.failNext(map[fault], fault === '404-on-revoke' ? 'DeleteAccountAssignment' : undefined);
  },
});

describe('aws specifics', () => {
  const person = { employeeId: 'e1', email: 'dev@company.com', firstName: 'Dev', lastName: 'Ops' };

  it('an assignment is asynchronous: applied at once, visible to the verification read when AWS finishes', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(person);
    fake!.autoSettle = false;
    expect(await adapter.grant(account, 'aws:account-assignment:111111111110#Team0Access')).toEqual({ outcome: 'applied', state: 'active' });
    const read = async () => {
      const held: string[] = [];
      for await (const g of adapter.listGrants!(account)) held.push(g.entitlement);
      return held;
    };
    expect(await read()).toEqual([]);
    fake!.settle();
    expect(await read()).toEqual(['aws:account-assignment:111111111110#Team0Access']);
  });

  it('users provisioned from Okta: a missing user is retryable (SCIM has not run yet), never created here', async () => {
    const { adapter } = setup(false);
    expect(adapter.describe().dependsOn).toEqual(['okta']);
    await expect(adapter.ensureAccount(person)).rejects.toMatchObject({ kind: 'retryable', retryAfterMs: 60_000, message: expect.stringContaining('provisioned from Okta by SCIM') });
    expect(fake!.calls).not.toContain('CreateUser');
  });

  it('an unknown permission set is a permanent error naming it', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(person);
    await expect(adapter.grant(account, 'aws:account-assignment:111111111110#NoSuchSet')).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('no permission set named "NoSuchSet"') });
  });

  it('suspending removes every assignment', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(person);
    await adapter.grant(account, 'aws:account-assignment:111111111110#Team0Access');
    await adapter.grant(account, 'aws:account-assignment:111111111111#Team1Access');
    await adapter.suspendAccount(account);
    expect(fake!.assignments.size + fake!.inProgress.size).toBe(0);
  });
});
