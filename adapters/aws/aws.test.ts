import { afterEach, describe, expect, it } from 'vitest';
import { defineAdapterConformance } from '../conformance.js';
import { type AccountRef, AdapterError } from '../types.js';
import { FakeAws } from './fake-aws.js';
import { createAwsAdapter } from './index.js';

const CONFIG = {
  region: 'us-east-1',
  instanceArn: 'arn:aws:sso:::instance/ssoins-1111111111111111',
  identityStoreId: 'd-1234567890',
  credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  timeoutMs: 250,
};
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
  // SSO Admin's ThrottlingException carries no Retry-After (the Identity Store's does: below).
  retryAfterFromVendor: false,
  inject: async (_adapter, fault) => {
    const map = { '429': 'throttle', '5xx': '500', timeout: 'timeout', '401': '401', '403': '403', '404-on-revoke': '404' } as const;
    fake!.failNext(map[fault], fault === '404-on-revoke' ? 'DeleteAccountAssignment' : undefined);
  },
  vendorCalls: () => fake!.calls.length,
});

describe('aws specifics', () => {
  const person = { employeeId: 'e1', email: 'dev@company.com', firstName: 'Dev', lastName: 'Ops' };
  const entitlement = 'aws:account-assignment:111111111110#Team0Access';
  const read = async (adapter: ReturnType<typeof createAwsAdapter>, account: AccountRef) => {
    const held: string[] = [];
    for await (const g of adapter.listGrants!(account)) held.push(g.entitlement);
    return held;
  };

  it('an assignment is asynchronous: in_progress with AWS\'s request id, re-checked (never waited for) until it reads back', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(person);
    fake!.autoSettle = false;
    const result = await adapter.grant(account, entitlement);
    expect(result).toMatchObject({ outcome: 'applied', state: 'in_progress', checkAfterMs: 2000, reference: expect.stringMatching(/^create:[0-9a-f-]{36}$/) });
    expect(await adapter.checkProgress!(result.reference!)).toEqual({ state: 'in_progress', checkAfterMs: 2000 });
    expect(await read(adapter, account)).toEqual([]);
    fake!.settle();
    expect(await adapter.checkProgress!(result.reference!)).toEqual({ state: 'done' });
    expect(await read(adapter, account)).toEqual([entitlement]);
    expect(fake!.calls.filter((c) => c === 'CreateAccountAssignment')).toHaveLength(1);
    expect(fake!.calls).toContain('DescribeAccountAssignmentCreationStatus');
  });

  it('an assignment AWS gives up on is a permanent error carrying AWS\'s reason', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(person);
    fake!.failNextAssignment('Received a 403 status error: Not authorized to perform: iam:CreateRole');
    const result = await adapter.grant(account, entitlement);
    const error = await adapter.checkProgress!(result.reference!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({ kind: 'permanent', message: expect.stringContaining('Not authorized to perform: iam:CreateRole') });
    expect(await read(adapter, account)).toEqual([]);
  });

  it('a removal is asynchronous too, and followed the same way', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(person);
    await adapter.checkProgress!((await adapter.grant(account, entitlement)).reference!);
    fake!.autoSettle = false;
    const result = await adapter.revoke(account, entitlement);
    expect(result).toMatchObject({ outcome: 'applied', state: 'in_progress', reference: expect.stringMatching(/^delete:/) });
    expect(await read(adapter, account)).toEqual([entitlement]);
    fake!.settle();
    expect(await adapter.checkProgress!(result.reference!)).toEqual({ state: 'done' });
    expect(await read(adapter, account)).toEqual([]);
  });

  it('makes each request once (SDK retries off), and reads Retry-After from the Identity Store\'s throttling', async () => {
    const { adapter } = setup();
    fake!.failNext('throttle', 'GetUserId', 30);
    const error = await adapter.findAccount(person).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'retryable', rateLimited: true, retryAfterMs: 30_000, status: 400, requestId: expect.any(String) });
    expect(fake!.calls).toEqual(['GetUserId']);
    fake!.failNext('500');
    await expect(adapter.findAccount(person)).rejects.toMatchObject({ kind: 'retryable', status: 500 });
    expect(fake!.calls).toEqual(['GetUserId', 'GetUserId']);
  });

  it('an AWS that does not answer is a retryable timeout, named as one', async () => {
    const { adapter } = setup();
    fake!.failNext('timeout');
    await expect(adapter.findAccount(person)).rejects.toMatchObject({ kind: 'retryable', message: 'AWS find user dev@company.com timed out: AWS did not answer in time (Gatehouse will retry)' });
  });

  it('users provisioned from Okta: a missing user is retryable (SCIM has not run yet), never created here', async () => {
    const { adapter } = setup(false);
    expect(adapter.describe().dependsOn).toEqual(['okta']);
    await expect(adapter.ensureAccount(person)).rejects.toMatchObject({ kind: 'retryable', retryAfterMs: 60_000, message: expect.stringContaining('provisioned from Okta by SCIM') });
    expect(fake!.calls).not.toContain('CreateUser');
  });

  it('a user the IdP disabled reads as suspended; suspending removes the assignments and waits for SCIM to disable the user', async () => {
    const { adapter } = setup(false);
    fake!.users.set('u-1', { UserId: 'u-1', UserName: person.email, Emails: [{ Value: person.email }], UserStatus: 'ENABLED' });
    const account = (await adapter.findAccount(person))!;
    expect(account).toMatchObject({ id: 'u-1', status: 'active' });
    await adapter.checkProgress!((await adapter.grant(account, entitlement)).reference!);
    expect(await adapter.suspendAccount(account)).toEqual({ outcome: 'applied' });
    fake!.settle();
    expect(await read(adapter, account)).toEqual([]);
    expect(fake!.users.has('u-1')).toBe(true);
    fake!.users.get('u-1')!.UserStatus = 'DISABLED';
    expect(await adapter.findAccount(person)).toMatchObject({ id: 'u-1', status: 'suspended' });
    await expect(adapter.ensureAccount(person)).rejects.toMatchObject({ kind: 'retryable', message: expect.stringContaining('Okta\'s SCIM enables it') });
  });

  it('an unknown permission set is a permanent error naming it', async () => {
    const { adapter } = setup();
    const { account } = await adapter.ensureAccount(person);
    await expect(adapter.grant(account, 'aws:account-assignment:111111111110#NoSuchSet')).rejects.toMatchObject({ kind: 'permanent', message: expect.stringContaining('no permission set named "NoSuchSet"') });
  });

  it('says precisely what is wrong with an AWS entitlement', () => {
    const { adapter } = setup();
    expect(() => adapter.parseEntitlement('aws:account-assignment:123456789012')).toThrow('name the permission set after "#"');
    expect(() => adapter.parseEntitlement('aws:account-assignment:12345#PowerUser')).toThrow('the AWS account id is 12 digits');
    expect(() => adapter.parseEntitlement('aws:role:Admin')).toThrow('AWS has no type "role"');
    expect(adapter.parseEntitlement('aws:account-assignment:123456789012#PowerUser')).toMatchObject({ resource: '123456789012', level: 'PowerUser' });
  });

  // Issue 27: a ListUsers that answers the same NextToken forever must end the scan, not loop.
  // (ListUsers pages by NextToken: https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_ListUsers.html)
  it('a NextToken that repeats ends the listing with a permanent error, at the second sight of it', { timeout: 10_000 }, async () => {
    const { adapter } = setup();
    await adapter.ensureAccount(person);
    fake!.stuckNextToken = 'same-token';
    fake!.calls.length = 0;
    const error = await (async () => {
      for await (const _ of adapter.listAccounts!()) void _;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({ kind: 'permanent', system: 'aws', message: expect.stringMatching(/aws ListUsers returned the same page token twice/) });
    expect(fake!.calls.filter((c) => c === 'ListUsers')).toHaveLength(2);
  });
});
