/**
 * The only file that imports the AWS SDK. `maxAttempts: 1` turns off the SDK's own retries: the
 * orchestrator's queue is the one layer that retries (CONVENTIONS.md). Every command is sent with
 * an abort signal, so a call AWS does not answer ends as a retryable timeout.
 */
import {
  CreateUserCommand,
  DeleteUserCommand,
  DescribeUserCommand,
  GetUserIdCommand,
  IdentitystoreClient,
  ListUsersCommand,
} from '@aws-sdk/client-identitystore';
import {
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  DescribeAccountAssignmentDeletionStatusCommand,
  DescribePermissionSetCommand,
  ListAccountAssignmentsCommand,
  ListAccountAssignmentsForPrincipalCommand,
  ListPermissionSetsCommand,
  SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import { PageGuard } from '../types.js';

export interface AwsClientConfig {
  region: string;
  /** arn:aws:sso:::instance/ssoins-… */
  instanceArn: string;
  /** d-… */
  identityStoreId: string;
  /**
   * Gatehouse creates (and on suspension deletes) Identity Center users itself. Off by default:
   * users usually arrive from the IdP by SCIM (hence `dependsOn: okta`), and are disabled there.
   */
  provisionUsers?: boolean;
  /** Longest one request may take before it fails as retryable. Default 30 s. */
  timeoutMs?: number;
  /** Static credentials (tests); the SDK's default chain (environment, role, SSO profile) otherwise. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface AwsUserShape {
  UserId: string;
  UserName?: string;
  Emails?: { Value?: string }[];
  /** ENABLED or DISABLED (the IdP's SCIM disables a leaver's user). */
  UserStatus?: string;
}

/** An asynchronous assignment change as AWS reports it. */
export interface AssignmentOperation {
  status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | string;
  requestId?: string;
  failureReason?: string;
}

export interface AwsApi {
  findUserId(attributePath: 'userName' | 'emails.value', value: string): Promise<string | null>;
  describeUser(userId: string): Promise<AwsUserShape | null>;
  createUser(user: { userName: string; displayName: string; givenName: string; familyName: string; email: string }): Promise<string>;
  deleteUser(userId: string): Promise<void>;
  permissionSets(): AsyncIterable<{ arn: string; name: string }>;
  createAssignment(accountId: string, permissionSetArn: string, userId: string): Promise<AssignmentOperation>;
  deleteAssignment(accountId: string, permissionSetArn: string, userId: string): Promise<AssignmentOperation>;
  creationStatus(requestId: string): Promise<AssignmentOperation>;
  deletionStatus(requestId: string): Promise<AssignmentOperation>;
  assignmentsOf(userId: string): AsyncIterable<{ accountId: string; permissionSetArn: string }>;
  principalsOf(accountId: string, permissionSetArn: string): AsyncIterable<{ principalId: string; principalType: string }>;
  users(): AsyncIterable<AwsUserShape>;
}

export function createAwsApi(config: AwsClientConfig): AwsApi {
  const timeoutMs = config.timeoutMs ?? 30_000;
  const common = {
    region: config.region,
    maxAttempts: 1,
    requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs },
    ...(config.credentials ? { credentials: config.credentials } : {}),
  };
  const sso = new SSOAdminClient(common);
  const store = new IdentitystoreClient(common);
  // The paginators the SDK offers send without a signal; these loops send every page with one.
  const options = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) });
  const notFound = (error: unknown) => (error as { name?: string }).name === 'ResourceNotFoundException';
  const InstanceArn = config.instanceArn;
  const IdentityStoreId = config.identityStoreId;
  const operation = (s: { Status?: string; RequestId?: string; FailureReason?: string } | undefined): AssignmentOperation => ({
    status: s?.Status ?? 'IN_PROGRESS',
    requestId: s?.RequestId,
    failureReason: s?.FailureReason,
  });

  return {
    async findUserId(attributePath, value) {
      try {
        const out = await store.send(new GetUserIdCommand({ IdentityStoreId, AlternateIdentifier: { UniqueAttribute: { AttributePath: attributePath, AttributeValue: value } } }), options());
        return out.UserId ?? null;
      } catch (error) {
        if (notFound(error)) return null;
        throw error;
      }
    },
    async describeUser(userId) {
      try {
        const user = await store.send(new DescribeUserCommand({ IdentityStoreId, UserId: userId }), options());
        return { UserId: user.UserId!, UserName: user.UserName, Emails: user.Emails, UserStatus: user.UserStatus };
      } catch (error) {
        if (notFound(error)) return null;
        throw error;
      }
    },
    async createUser(u) {
      const out = await store.send(
        new CreateUserCommand({
          IdentityStoreId,
          UserName: u.userName,
          DisplayName: u.displayName,
          Name: { GivenName: u.givenName, FamilyName: u.familyName },
          Emails: [{ Value: u.email, Type: 'work', Primary: true }],
        }),
        options(),
      );
      return out.UserId!;
    },
    async deleteUser(userId) {
      await store.send(new DeleteUserCommand({ IdentityStoreId, UserId: userId }), options());
    },
    async *permissionSets() {
      let NextToken: string | undefined;
      const guard = new PageGuard('aws', 'ListPermissionSets');
      do {
        const page = await sso.send(new ListPermissionSetsCommand({ InstanceArn, NextToken }), options());
        for (const arn of page.PermissionSets ?? []) {
          const { PermissionSet } = await sso.send(new DescribePermissionSetCommand({ InstanceArn, PermissionSetArn: arn }), options());
          yield { arn, name: PermissionSet?.Name ?? '' };
        }
        NextToken = page.NextToken;
        if (NextToken) guard.follow(NextToken);
      } while (NextToken);
    },
    async createAssignment(accountId, permissionSetArn, userId) {
      const out = await sso.send(
        new CreateAccountAssignmentCommand({ InstanceArn, TargetId: accountId, TargetType: 'AWS_ACCOUNT', PermissionSetArn: permissionSetArn, PrincipalType: 'USER', PrincipalId: userId }),
        options(),
      );
      return operation(out.AccountAssignmentCreationStatus);
    },
    async deleteAssignment(accountId, permissionSetArn, userId) {
      const out = await sso.send(
        new DeleteAccountAssignmentCommand({ InstanceArn, TargetId: accountId, TargetType: 'AWS_ACCOUNT', PermissionSetArn: permissionSetArn, PrincipalType: 'USER', PrincipalId: userId }),
        options(),
      );
      return operation(out.AccountAssignmentDeletionStatus);
    },
    async creationStatus(requestId) {
      const out = await sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn, AccountAssignmentCreationRequestId: requestId }), options());
      return operation(out.AccountAssignmentCreationStatus);
    },
    async deletionStatus(requestId) {
      const out = await sso.send(new DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn, AccountAssignmentDeletionRequestId: requestId }), options());
      return operation(out.AccountAssignmentDeletionStatus);
    },
    async *assignmentsOf(userId) {
      let NextToken: string | undefined;
      const guard = new PageGuard('aws', 'ListAccountAssignmentsForPrincipal');
      do {
        const page = await sso.send(new ListAccountAssignmentsForPrincipalCommand({ InstanceArn, PrincipalId: userId, PrincipalType: 'USER', NextToken }), options());
        for (const a of page.AccountAssignments ?? []) yield { accountId: a.AccountId!, permissionSetArn: a.PermissionSetArn! };
        NextToken = page.NextToken;
        if (NextToken) guard.follow(NextToken);
      } while (NextToken);
    },
    async *principalsOf(accountId, permissionSetArn) {
      let NextToken: string | undefined;
      const guard = new PageGuard('aws', 'ListAccountAssignments');
      do {
        const page = await sso.send(new ListAccountAssignmentsCommand({ InstanceArn, AccountId: accountId, PermissionSetArn: permissionSetArn, NextToken }), options());
        for (const a of page.AccountAssignments ?? []) yield { principalId: a.PrincipalId!, principalType: a.PrincipalType! };
        NextToken = page.NextToken;
        if (NextToken) guard.follow(NextToken);
      } while (NextToken);
    },
    async *users() {
      let NextToken: string | undefined;
      const guard = new PageGuard('aws', 'ListUsers');
      do {
        const page = await store.send(new ListUsersCommand({ IdentityStoreId, NextToken }), options());
        for (const u of page.Users ?? []) yield { UserId: u.UserId!, UserName: u.UserName, Emails: u.Emails, UserStatus: u.UserStatus };
        NextToken = page.NextToken;
        if (NextToken) guard.follow(NextToken);
      } while (NextToken);
    },
  };
}
