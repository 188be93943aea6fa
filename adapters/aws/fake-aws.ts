/**
 * A stateful fake of IAM Identity Center at the SDK command level (aws-sdk-client-mock), with
 * shapes from the service models and API references:
 * - SSO Admin: https://docs.aws.amazon.com/singlesignon/latest/APIReference/ (CreateAccountAssignment
 *   returns AccountAssignmentCreationStatus IN_PROGRESS; assignments appear when it completes;
 *   ListAccountAssignmentsForPrincipal, ListPermissionSets, DescribePermissionSet; NextToken pages)
 * - Identity Store: https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/
 *   (GetUserId by UniqueAttribute, DescribeUser, CreateUser, DeleteUser, ListUsers)
 * - Errors: ThrottlingException, AccessDeniedException, ResourceNotFoundException,
 *   InternalServerException, from each API's Errors section.
 */
import { CreateUserCommand, DeleteUserCommand, DescribeUserCommand, GetUserIdCommand, IdentitystoreClient, ListUsersCommand } from '@aws-sdk/client-identitystore';
import {
  AccessDeniedException,
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  DescribePermissionSetCommand,
  InternalServerException,
  ListAccountAssignmentsCommand,
  ListAccountAssignmentsForPrincipalCommand,
  ListPermissionSetsCommand,
  ResourceNotFoundException,
  SSOAdminClient,
  ThrottlingException,
} from '@aws-sdk/client-sso-admin';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

export type AwsFault = 'throttle' | '500' | 'timeout' | '401' | '403' | '404';

interface User {
  UserId: string;
  UserName: string;
  Emails: { Value: string; Type: string; Primary: boolean }[];
}

const meta = (status: number) => ({ httpStatusCode: status, requestId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111', attempts: 1, totalRetryDelay: 0 });

export class FakeAws {
  readonly users = new Map<string, User>();
  readonly permissionSets = new Map<string, string>(); // arn → name
  /** Completed assignments: `${account}|${arn}|${userId}`. */
  readonly assignments = new Set<string>();
  /** Created but not yet visible (AWS provisions asynchronously). */
  readonly inProgress = new Set<string>();
  readonly calls: string[] = [];
  pageSize: number;
  /** Finish in-progress assignments before the next call, as AWS does within moments. */
  autoSettle = true;
  #faults: { fault: AwsFault; only?: string }[] = [];
  #seq = 0;
  #sso: AwsClientStub<SSOAdminClient> | undefined;
  #store: AwsClientStub<IdentitystoreClient> | undefined;

  constructor(pageSize = 2) {
    this.pageSize = pageSize;
  }

  addPermissionSet(name: string): string {
    const arn = `arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-${(++this.#seq).toString(16).padStart(16, '0')}`;
    this.permissionSets.set(arn, name);
    return arn;
  }

  failNext(fault: AwsFault, only?: string): void {
    this.#faults.push({ fault, only });
  }

  /** Completes every in-progress assignment, as AWS does a moment later. */
  settle(): void {
    for (const key of this.inProgress) this.assignments.add(key);
    this.inProgress.clear();
  }

  #page<T>(items: T[], token: string | undefined): { items: T[]; NextToken?: string } {
    const start = Number(token ?? 0);
    const next = start + this.pageSize < items.length ? String(start + this.pageSize) : undefined;
    return { items: items.slice(start, start + this.pageSize), NextToken: next };
  }

  #gate(command: string): void {
    this.calls.push(command);
    const i = this.#faults.findIndex((f) => !f.only || f.only === command);
    if (i < 0) return;
    const [{ fault }] = this.#faults.splice(i, 1) as [{ fault: AwsFault }];
    if (fault === 'throttle') throw new ThrottlingException({ message: 'Rate exceeded', $metadata: meta(400) });
    if (fault === '500') throw new InternalServerException({ message: 'An internal error occurred.', $metadata: meta(500) });
    if (fault === '403') throw new AccessDeniedException({ message: 'User is not authorized to perform: sso:CreateAccountAssignment', $metadata: meta(403) });
    if (fault === '401') throw Object.assign(new Error('The security token included in the request is invalid.'), { name: 'UnrecognizedClientException', $metadata: meta(400) });
    if (fault === '404') throw new ResourceNotFoundException({ message: 'Account assignment not found', $metadata: meta(400) });
    throw Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError', code: 'ETIMEDOUT' });
  }

  start(): this {
    const sso = mockClient(SSOAdminClient);
    const store = mockClient(IdentitystoreClient);
    // Each call first sees what AWS finished since the previous one.
    const step = (name: string) => {
      if (this.autoSettle) this.settle();
      this.#gate(name);
    };
    store.on(GetUserIdCommand).callsFake((input) => {
      step('GetUserId');
      const { AttributePath, AttributeValue } = input.AlternateIdentifier.UniqueAttribute;
      const user = [...this.users.values()].find((u) => (AttributePath === 'userName' ? u.UserName === AttributeValue : u.Emails.some((e) => e.Value === AttributeValue)));
      if (!user) throw new ResourceNotFoundException({ message: 'USER not found.', $metadata: meta(400) });
      return { UserId: user.UserId, IdentityStoreId: input.IdentityStoreId };
    });
    store.on(DescribeUserCommand).callsFake((input) => {
      step('DescribeUser');
      const user = this.users.get(input.UserId);
      if (!user) throw new ResourceNotFoundException({ message: 'USER not found.', $metadata: meta(400) });
      return { ...user, IdentityStoreId: input.IdentityStoreId };
    });
    store.on(CreateUserCommand).callsFake((input) => {
      step('CreateUser');
      if ([...this.users.values()].some((u) => u.UserName === input.UserName)) throw Object.assign(new Error('Duplicate UserName'), { name: 'ConflictException', $metadata: meta(400) });
      const UserId = `9067${(++this.#seq).toString().padStart(6, '0')}-1234-5678-9abc-def012345678`;
      this.users.set(UserId, { UserId, UserName: input.UserName, Emails: input.Emails });
      return { UserId, IdentityStoreId: input.IdentityStoreId };
    });
    store.on(DeleteUserCommand).callsFake((input) => {
      step('DeleteUser');
      if (!this.users.delete(input.UserId)) throw new ResourceNotFoundException({ message: 'USER not found.', $metadata: meta(400) });
      return {};
    });
    store.on(ListUsersCommand).callsFake((input) => {
      step('ListUsers');
      const { items, NextToken } = this.#page([...this.users.values()], input.NextToken);
      return { Users: items, NextToken };
    });
    sso.on(ListPermissionSetsCommand).callsFake((input) => {
      step('ListPermissionSets');
      const { items, NextToken } = this.#page([...this.permissionSets.keys()], input.NextToken);
      return { PermissionSets: items, NextToken };
    });
    sso.on(DescribePermissionSetCommand).callsFake((input) => {
      step('DescribePermissionSet');
      const name = this.permissionSets.get(input.PermissionSetArn);
      if (!name) throw new ResourceNotFoundException({ message: 'PermissionSet not found', $metadata: meta(400) });
      return { PermissionSet: { Name: name, PermissionSetArn: input.PermissionSetArn, SessionDuration: 'PT1H', CreatedDate: new Date('2026-01-01') } };
    });
    sso.on(CreateAccountAssignmentCommand).callsFake((input) => {
      step('CreateAccountAssignment');
      const key = `${input.TargetId}|${input.PermissionSetArn}|${input.PrincipalId}`;
      if (!this.assignments.has(key)) this.inProgress.add(key);
      return { AccountAssignmentCreationStatus: { Status: 'IN_PROGRESS', RequestId: `req-${++this.#seq}`, TargetId: input.TargetId, TargetType: 'AWS_ACCOUNT', PermissionSetArn: input.PermissionSetArn, PrincipalType: 'USER', PrincipalId: input.PrincipalId, CreatedDate: new Date() } };
    });
    sso.on(DeleteAccountAssignmentCommand).callsFake((input) => {
      step('DeleteAccountAssignment');
      const key = `${input.TargetId}|${input.PermissionSetArn}|${input.PrincipalId}`;
      this.assignments.delete(key);
      this.inProgress.delete(key);
      return { AccountAssignmentDeletionStatus: { Status: 'IN_PROGRESS', RequestId: `req-${++this.#seq}` } };
    });
    sso.on(ListAccountAssignmentsForPrincipalCommand).callsFake((input) => {
      step('ListAccountAssignmentsForPrincipal');
      const mine = [...this.assignments].map((k) => k.split('|') as [string, string, string]).filter(([, , p]) => p === input.PrincipalId);
      const { items, NextToken } = this.#page(mine, input.NextToken);
      return { AccountAssignments: items.map(([AccountId, PermissionSetArn, PrincipalId]) => ({ AccountId, PermissionSetArn, PrincipalId, PrincipalType: 'USER' })), NextToken };
    });
    sso.on(ListAccountAssignmentsCommand).callsFake((input) => {
      step('ListAccountAssignments');
      const on = [...this.assignments].map((k) => k.split('|') as [string, string, string]).filter(([a, ps]) => a === input.AccountId && ps === input.PermissionSetArn);
      const { items, NextToken } = this.#page(on, input.NextToken);
      return { AccountAssignments: items.map(([AccountId, PermissionSetArn, PrincipalId]) => ({ AccountId, PermissionSetArn, PrincipalId, PrincipalType: 'USER' })), NextToken };
    });
    this.#sso = sso;
    this.#store = store;
    return this;
  }

  stop(): void {
    this.#sso?.restore();
    this.#store?.restore();
  }
}
