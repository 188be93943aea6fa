/**
 * The only file that imports the AWS SDK. `maxAttempts: 1` turns off the SDK's own retries: the
 * orchestrator's queue is the one layer that retries (CONVENTIONS.md).
 */
import {
  CreateUserCommand,
  DeleteUserCommand,
  DescribeUserCommand,
  GetUserIdCommand,
  IdentitystoreClient,
  paginateListUsers,
} from '@aws-sdk/client-identitystore';
import {
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  DescribePermissionSetCommand,
  paginateListAccountAssignments,
  paginateListAccountAssignmentsForPrincipal,
  paginateListPermissionSets,
  SSOAdminClient,
} from '@aws-sdk/client-sso-admin';

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
}

export interface AwsUserShape {
  UserId: string;
  UserName?: string;
  Emails?: { Value?: string }[];
}

export interface AwsApi {
  findUserId(attributePath: 'userName' | 'emails.value', value: string): Promise<string | null>;
  describeUser(userId: string): Promise<AwsUserShape | null>;
  createUser(user: { userName: string; displayName: string; givenName: string; familyName: string; email: string }): Promise<string>;
  deleteUser(userId: string): Promise<void>;
  permissionSets(): AsyncIterable<{ arn: string; name: string }>;
  createAssignment(accountId: string, permissionSetArn: string, userId: string): Promise<{ status: string; failureReason?: string }>;
  deleteAssignment(accountId: string, permissionSetArn: string, userId: string): Promise<{ status: string; failureReason?: string }>;
  assignmentsOf(userId: string): AsyncIterable<{ accountId: string; permissionSetArn: string }>;
  principalsOf(accountId: string, permissionSetArn: string): AsyncIterable<{ principalId: string; principalType: string }>;
  users(): AsyncIterable<AwsUserShape>;
}

export function createAwsApi(config: AwsClientConfig): AwsApi {
  const sso = new SSOAdminClient({ region: config.region, maxAttempts: 1 });
  const store = new IdentitystoreClient({ region: config.region, maxAttempts: 1 });
  const notFound = (error: unknown) => (error as { name?: string }).name === 'ResourceNotFoundException';
  const InstanceArn = config.instanceArn;
  const IdentityStoreId = config.identityStoreId;

  return {
    async findUserId(attributePath, value) {
      try {
        return (await store.send(new GetUserIdCommand({ IdentityStoreId, AlternateIdentifier: { UniqueAttribute: { AttributePath: attributePath, AttributeValue: value } } }))).UserId ?? null;
      } catch (error) {
        if (notFound(error)) return null;
        throw error;
      }
    },
    async describeUser(userId) {
      try {
        const user = await store.send(new DescribeUserCommand({ IdentityStoreId, UserId: userId }));
        return { UserId: user.UserId!, UserName: user.UserName, Emails: user.Emails };
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
      );
      return out.UserId!;
    },
    async deleteUser(userId) {
      await store.send(new DeleteUserCommand({ IdentityStoreId, UserId: userId }));
    },
    async *permissionSets() {
      for await (const page of paginateListPermissionSets({ client: sso }, { InstanceArn })) {
        for (const arn of page.PermissionSets ?? []) {
          const { PermissionSet } = await sso.send(new DescribePermissionSetCommand({ InstanceArn, PermissionSetArn: arn }));
          yield { arn, name: PermissionSet?.Name ?? '' };
        }
      }
    },
    async createAssignment(accountId, permissionSetArn, userId) {
      const out = await sso.send(new CreateAccountAssignmentCommand({ InstanceArn, TargetId: accountId, TargetType: 'AWS_ACCOUNT', PermissionSetArn: permissionSetArn, PrincipalType: 'USER', PrincipalId: userId }));
      return { status: out.AccountAssignmentCreationStatus?.Status ?? 'IN_PROGRESS', failureReason: out.AccountAssignmentCreationStatus?.FailureReason };
    },
    async deleteAssignment(accountId, permissionSetArn, userId) {
      const out = await sso.send(new DeleteAccountAssignmentCommand({ InstanceArn, TargetId: accountId, TargetType: 'AWS_ACCOUNT', PermissionSetArn: permissionSetArn, PrincipalType: 'USER', PrincipalId: userId }));
      return { status: out.AccountAssignmentDeletionStatus?.Status ?? 'IN_PROGRESS', failureReason: out.AccountAssignmentDeletionStatus?.FailureReason };
    },
    async *assignmentsOf(userId) {
      for await (const page of paginateListAccountAssignmentsForPrincipal({ client: sso }, { InstanceArn, PrincipalId: userId, PrincipalType: 'USER' })) {
        for (const a of page.AccountAssignments ?? []) yield { accountId: a.AccountId!, permissionSetArn: a.PermissionSetArn! };
      }
    },
    async *principalsOf(accountId, permissionSetArn) {
      for await (const page of paginateListAccountAssignments({ client: sso }, { InstanceArn, AccountId: accountId, PermissionSetArn: permissionSetArn })) {
        for (const a of page.AccountAssignments ?? []) yield { principalId: a.PrincipalId!, principalType: a.PrincipalType! };
      }
    },
    async *users() {
      for await (const page of paginateListUsers({ client: store }, { IdentityStoreId })) {
        for (const u of page.Users ?? []) yield { UserId: u.UserId!, UserName: u.UserName, Emails: u.Emails };
      }
    },
  };
}
