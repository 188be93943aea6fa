/**
 * A stateful fake of IAM Identity Center's HTTP APIs (AWS JSON 1.1: `POST /` with
 * `X-Amz-Target: <service>.<operation>`), served through nock, so the real SDK clients sign,
 * serialize, deserialize errors and time out as they would against AWS. Shapes follow the API
 * references and the service models in @aws-sdk/client-sso-admin and client-identitystore:
 * - SSO Admin (target prefix SWBExternalService):
 *   https://docs.aws.amazon.com/singlesignon/latest/APIReference/ — CreateAccountAssignment and
 *   DeleteAccountAssignment answer an AccountAssignmentOperationStatus with Status IN_PROGRESS and
 *   a RequestId; DescribeAccountAssignmentCreationStatus / …DeletionStatus report IN_PROGRESS,
 *   SUCCEEDED or FAILED with FailureReason; the assignment shows in
 *   ListAccountAssignmentsForPrincipal only once it succeeded. Lists page by NextToken;
 *   timestamps are epoch seconds.
 * - Identity Store (target prefix AWSIdentityStore):
 *   https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/ — GetUserId by
 *   UniqueAttribute, DescribeUser (UserStatus ENABLED/DISABLED), CreateUser, DeleteUser, ListUsers.
 * - Errors (each API's "Errors" section and "Common Errors"): ThrottlingException (400; the
 *   Identity Store's carries Retry-After), AccessDeniedException (400),
 *   UnrecognizedClientException (400, bad credentials), ResourceNotFoundException (400),
 *   InternalServerException (500); JSON body `{"__type": …, "Message": …}` and x-amzn-RequestId.
 */
import { randomUUID } from 'node:crypto';
import nock from 'nock';

export type AwsFault = 'throttle' | '500' | 'timeout' | '401' | '403' | '404';
type Reply = [number, unknown, Record<string, string>];

interface User {
  UserId: string;
  UserName: string;
  DisplayName?: string;
  Name?: { GivenName?: string; FamilyName?: string };
  Emails: { Value: string; Type?: string; Primary?: boolean }[];
  UserStatus: 'ENABLED' | 'DISABLED';
}

interface Operation {
  kind: 'create' | 'delete';
  key: string;
  status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';
  failureReason?: string;
  created: number;
}

const JSON_11 = 'application/x-amz-json-1.1';

/** The request members the fake reads (each operation sends some of them). */
interface Input {
  IdentityStoreId: string;
  UserId: string;
  NextToken?: string;
  AlternateIdentifier: unknown;
  PermissionSetArn: string;
  TargetId: string;
  PrincipalId: string;
  AccountId: string;
  AccountAssignmentCreationRequestId: string;
  AccountAssignmentDeletionRequestId: string;
}

export class FakeAws {
  readonly region: string;
  readonly users = new Map<string, User>();
  readonly permissionSets = new Map<string, string>(); // arn → name
  /** Completed assignments: `${account}|${arn}|${userId}`. */
  readonly assignments = new Set<string>();
  readonly operations = new Map<string, Operation>();
  /** Every operation received, as `<Operation>`. */
  readonly calls: string[] = [];
  pageSize: number;
  /** Finish in-progress operations before answering the next request, as AWS does within moments. */
  autoSettle = true;
  /** How long a `timeout` fault stalls before answering: longer than any client should wait. */
  stallMs = 3_000;
  /** When set, every list answers this NextToken, forever (a broken or hostile endpoint). */
  stuckNextToken: string | undefined;
  #faults: { fault: AwsFault; only?: string; retryAfterSeconds?: number }[] = [];
  #failNextAssignment: string | undefined;
  #seq = 0;

  constructor(pageSize = 2, region = 'us-east-1') {
    this.pageSize = pageSize;
    this.region = region;
  }

  addPermissionSet(name: string): string {
    const arn = `arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-${(++this.#seq).toString(16).padStart(16, '0')}`;
    this.permissionSets.set(arn, name);
    return arn;
  }

  /** The next request (or the next of operation `only`) fails like AWS would. */
  failNext(fault: AwsFault, only?: string, retryAfterSeconds?: number): void {
    this.#faults.push({ fault, only, retryAfterSeconds });
  }

  /** The next assignment AWS accepts fails later, with this reason (e.g. an SCP denies the role). */
  failNextAssignment(reason: string): void {
    this.#failNextAssignment = reason;
  }

  /** Completes every in-progress operation, as AWS does a moment later. */
  settle(): void {
    for (const op of this.operations.values()) {
      if (op.status !== 'IN_PROGRESS') continue;
      if (op.failureReason) {
        op.status = 'FAILED';
        continue;
      }
      op.status = 'SUCCEEDED';
      if (op.kind === 'create') this.assignments.add(op.key);
      else this.assignments.delete(op.key);
    }
  }

  start(): this {
    for (const [host, prefix] of [
      [`https://sso.${this.region}.amazonaws.com`, 'SWBExternalService'],
      [`https://identitystore.${this.region}.amazonaws.com`, 'AWSIdentityStore'],
    ] as const) {
      nock(host)
        .persist()
        .post('/')
        .reply(async (request: unknown) => {
          // nock 15 hands the reply function the intercepted fetch Request.
          const req = request as { headers: { get(name: string): string | null }; text(): Promise<string> };
          const target = req.headers.get('x-amz-target') ?? '';
          if (!target.startsWith(`${prefix}.`)) return [400, { __type: 'UnknownOperationException' }, { 'content-type': JSON_11 }];
          if (!req.headers.get('authorization')?.startsWith('AWS4-HMAC-SHA256 Credential=')) return this.#error(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
          return this.#handle(target.slice(prefix.length + 1), JSON.parse((await req.text()) || '{}') as Input);
        });
    }
    return this;
  }

  stop(): void {
    nock.cleanAll();
  }

  #ok(body: unknown): Reply {
    return [200, body, { 'content-type': JSON_11, 'x-amzn-requestid': randomUUID() }];
  }

  #error(status: number, type: string, message: string, headers: Record<string, string> = {}): Reply {
    return [status, { __type: type, Message: message }, { 'content-type': JSON_11, 'x-amzn-requestid': randomUUID(), ...headers }];
  }

  #page<T>(items: T[], token: string | undefined): { items: T[]; NextToken?: string } {
    if (this.stuckNextToken !== undefined) return { items: items.slice(0, this.pageSize), NextToken: this.stuckNextToken };
    const start = Number(token ?? 0);
    const next = start + this.pageSize < items.length ? String(start + this.pageSize) : undefined;
    return { items: items.slice(start, start + this.pageSize), NextToken: next };
  }

  #status(id: string, op: Operation) {
    const [TargetId, PermissionSetArn, PrincipalId] = op.key.split('|');
    return { Status: op.status, RequestId: id, FailureReason: op.status === 'FAILED' ? op.failureReason : undefined, TargetId, TargetType: 'AWS_ACCOUNT', PermissionSetArn, PrincipalType: 'USER', PrincipalId, CreatedDate: op.created };
  }

  #handle(operation: string, input: Input): Reply | Promise<Reply> {
    this.calls.push(operation);
    // AWS finishes what earlier calls started; what this call starts is in progress in its answer.
    if (this.autoSettle) this.settle();
    const i = this.#faults.findIndex((f) => !f.only || f.only === operation);
    if (i >= 0) {
      const [{ fault, retryAfterSeconds }] = this.#faults.splice(i, 1) as [{ fault: AwsFault; retryAfterSeconds?: number }];
      if (fault === 'throttle') return this.#error(400, 'ThrottlingException', 'Rate exceeded', retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) });
      if (fault === '500') return this.#error(500, 'InternalServerException', 'An internal error occurred.');
      if (fault === '403') return this.#error(400, 'AccessDeniedException', `User is not authorized to perform: sso:${operation}`);
      if (fault === '401') return this.#error(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      if (fault === '404') return this.#error(400, 'ResourceNotFoundException', 'Account assignment not found');
      return new Promise((resolve) => setTimeout(() => resolve(this.#error(500, 'InternalServerException', 'Request timed out')), this.stallMs));
    }
    const userNotFound = () => this.#error(400, 'ResourceNotFoundException', 'USER not found.');
    const key = () => `${input.TargetId}|${input.PermissionSetArn}|${input.PrincipalId}`;

    switch (operation) {
      case 'GetUserId': {
        const { AttributePath, AttributeValue } = (input.AlternateIdentifier as unknown as { UniqueAttribute: { AttributePath: string; AttributeValue: string } }).UniqueAttribute;
        const user = [...this.users.values()].find((u) => (AttributePath === 'userName' ? u.UserName === AttributeValue : u.Emails.some((e) => e.Value === AttributeValue)));
        return user ? this.#ok({ UserId: user.UserId, IdentityStoreId: input.IdentityStoreId }) : userNotFound();
      }
      case 'DescribeUser': {
        const user = this.users.get(input.UserId);
        return user ? this.#ok({ ...user, IdentityStoreId: input.IdentityStoreId }) : userNotFound();
      }
      case 'CreateUser': {
        const body = input as unknown as Omit<User, 'UserId' | 'UserStatus'>;
        if ([...this.users.values()].some((u) => u.UserName === body.UserName)) return this.#error(400, 'ConflictException', 'Duplicate UserName');
        const UserId = `9067${(++this.#seq).toString().padStart(6, '0')}-1234-5678-9abc-def012345678`;
        this.users.set(UserId, { UserId, UserName: body.UserName, DisplayName: body.DisplayName, Name: body.Name, Emails: body.Emails, UserStatus: 'ENABLED' });
        return this.#ok({ UserId, IdentityStoreId: input.IdentityStoreId });
      }
      case 'DeleteUser':
        return this.users.delete(input.UserId) ? this.#ok({}) : userNotFound();
      case 'ListUsers': {
        const { items, NextToken } = this.#page([...this.users.values()], input.NextToken);
        return this.#ok({ Users: items.map((u) => ({ ...u, IdentityStoreId: input.IdentityStoreId })), NextToken });
      }
      case 'ListPermissionSets': {
        const { items, NextToken } = this.#page([...this.permissionSets.keys()], input.NextToken);
        return this.#ok({ PermissionSets: items, NextToken });
      }
      case 'DescribePermissionSet': {
        const name = this.permissionSets.get(input.PermissionSetArn);
        if (!name) return this.#error(400, 'ResourceNotFoundException', 'PermissionSet not found');
        return this.#ok({ PermissionSet: { Name: name, PermissionSetArn: input.PermissionSetArn, SessionDuration: 'PT1H', CreatedDate: 1767225600 } });
      }
      case 'CreateAccountAssignment':
      case 'DeleteAccountAssignment': {
        if (!this.permissionSets.has(input.PermissionSetArn)) return this.#error(400, 'ResourceNotFoundException', 'PermissionSet not found');
        const kind = operation === 'CreateAccountAssignment' ? 'create' : 'delete';
        if (kind === 'delete' && !this.assignments.has(key())) return this.#error(400, 'ResourceNotFoundException', 'Account assignment not found');
        const id = randomUUID();
        const op: Operation = { kind, key: key(), status: 'IN_PROGRESS', created: Math.floor(Date.now() / 1000) };
        if (kind === 'create' && this.#failNextAssignment) {
          op.failureReason = this.#failNextAssignment;
          this.#failNextAssignment = undefined;
        }
        this.operations.set(id, op);
        return this.#ok({ [kind === 'create' ? 'AccountAssignmentCreationStatus' : 'AccountAssignmentDeletionStatus']: this.#status(id, op) });
      }
      case 'DescribeAccountAssignmentCreationStatus':
      case 'DescribeAccountAssignmentDeletionStatus': {
        const creation = operation === 'DescribeAccountAssignmentCreationStatus';
        const id = creation ? input.AccountAssignmentCreationRequestId : input.AccountAssignmentDeletionRequestId;
        const op = this.operations.get(id);
        if (!op || op.kind !== (creation ? 'create' : 'delete')) return this.#error(400, 'ResourceNotFoundException', 'Request not found');
        return this.#ok({ [creation ? 'AccountAssignmentCreationStatus' : 'AccountAssignmentDeletionStatus']: this.#status(id, op) });
      }
      case 'ListAccountAssignmentsForPrincipal': {
        const mine = [...this.assignments].map((k) => k.split('|') as [string, string, string]).filter(([, , p]) => p === input.PrincipalId);
        const { items, NextToken } = this.#page(mine, input.NextToken);
        return this.#ok({ AccountAssignments: items.map(([AccountId, PermissionSetArn, PrincipalId]) => ({ AccountId, PermissionSetArn, PrincipalId, PrincipalType: 'USER' })), NextToken });
      }
      case 'ListAccountAssignments': {
        const on = [...this.assignments].map((k) => k.split('|') as [string, string, string]).filter(([a, ps]) => a === input.AccountId && ps === input.PermissionSetArn);
        const { items, NextToken } = this.#page(on, input.NextToken);
        return this.#ok({ AccountAssignments: items.map(([AccountId, PermissionSetArn, PrincipalId]) => ({ AccountId, PermissionSetArn, PrincipalId, PrincipalType: 'USER' })), NextToken });
      }
      default:
        return this.#error(400, 'UnknownOperationException', `The fake does not know ${operation}`);
    }
  }
}
