import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** A timestamp column: Postgres returns Date, and we write Date or an ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Json = ColumnType<unknown, string, string>;

/** The lifecycle of a person as Gatehouse sees it; only `active` people have desired access. */
export type PersonStatus = 'pending' | 'active' | 'terminated';

export interface PeopleTable {
  id: Generated<string>;
  employee_id: string;
  email: string;
  slack_user_id: string | null;
  status: PersonStatus;
  /** The canonical HRIS record (the webhook's `data` fields and `attributes`). */
  data: Json;
  manager_id: string | null;
  /** The SCIM user (scim_users.id) that drives this person, when an IdP pushes them over SCIM. */
  scim_user_id: string | null;
  /** When the HRIS says the newest applied change happened; older events do not overwrite. */
  source_updated_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface PersonEventsTable {
  id: Generated<string>;
  source: string;
  event_id: string;
  event_type: string;
  occurred_at: Timestamp;
  received_at: CreatedAt;
  person_id: string | null;
  /** The event as received, kept for audit. */
  payload: Json;
  /** joiner | mover | leaver | rehire | none, decided when the event is applied. */
  classification: string | null;
  applied: Generated<boolean>;
}

export interface AuditLogTable {
  seq: Generated<number>;
  at: Timestamp;
  actor: string;
  action: string;
  subject: string | null;
  entitlement: string | null;
  reason: string | null;
  result: string | null;
  detail: Json;
  prev_hash: string;
  hash: string;
  /** HMAC-SHA256 of hash under AUDIT_KEY; null for rows written before a key was set. */
  mac: ColumnType<string | null, string | null | undefined, never>;
}

/** A head of audit_log published outside the database (migration 0014). */
export interface AuditAnchorsTable {
  id: Generated<number>;
  seq: number;
  hash: string;
  row_mac: string | null;
  at: Timestamp;
  mac: string | null;
  /** Where it was published: `cli`, `file:<path>`, `slack:<channel>`. */
  published_to: string;
}

export interface RateLimitsTable {
  system: string;
  capacity: number;
  refill_per_second: number;
  tokens: number;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  paused_until: Timestamp | null;
  pause_reason: string | null;
}

export interface ScimUsersTable {
  id: Generated<string>;
  user_name: string;
  external_id: string | null;
  active: Generated<boolean>;
  resource: Json;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ScimGroupsTable {
  id: Generated<string>;
  display_name: string;
  external_id: string | null;
  resource: Json;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ScimGroupMembersTable {
  group_id: string;
  user_id: string;
  display: string | null;
}

export type GrantStatus = 'pending' | 'applied' | 'verified' | 'failed' | 'manual' | 'revoking' | 'revoked';
export type OperationState = 'pending' | 'running' | 'applied' | 'verified' | 'failed' | 'manual' | 'cancelled';

export interface GrantsTable {
  id: Generated<number>;
  person_id: string;
  entitlement: string;
  system: string;
  status: GrantStatus;
  source: string | null;
  expires_at: Timestamp | null;
  applied_at: Timestamp | null;
  verified_at: Timestamp | null;
  revoked_at: Timestamp | null;
  last_error: string | null;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface AccountsTable {
  person_id: string;
  system: string;
  external_id: string;
  login: string | null;
  status: string;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface RunsTable {
  id: Generated<string>;
  person_id: string;
  reason: string;
  status: 'running' | 'settled';
  started_at: CreatedAt;
  settled_at: Timestamp | null;
  summary: Json | null;
  sla_alerted_at: Timestamp | null;
  summary_channel: string | null;
  summary_ts: string | null;
}

export interface ContractorNoticesTable {
  person_id: string;
  end_date: string;
  days_before: number;
  sent_at: CreatedAt;
}

export interface OperationsTable {
  id: Generated<number>;
  run_id: string;
  person_id: string;
  key: string;
  kind: 'grant' | 'revoke';
  system: string;
  entitlement: string;
  depends_on: ColumnType<string[], string[] | undefined, string[]>;
  tier: number;
  critical: Generated<boolean>;
  source: string | null;
  expires_at: Timestamp | null;
  not_before: Timestamp | null;
  state: OperationState;
  outcome: string | null;
  attempts: Generated<number>;
  error_kind: string | null;
  last_error: string | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  phase: ColumnType<'write' | 'progress' | 'verify', 'write' | 'progress' | 'verify' | undefined, 'write' | 'progress' | 'verify'>;
  reference: string | null;
  checks: Generated<number>;
}

export interface AlertsTable {
  id: Generated<number>;
  kind: 'auth' | 'leaver_sla' | 'sod' | 'event_order';
  subject: string;
  message: string;
  opened_at: CreatedAt;
  resolved_at: Timestamp | null;
}

export interface ManualTasksTable {
  id: Generated<number>;
  operation_id: number;
  person_id: string;
  kind: 'grant' | 'revoke';
  entitlement: string;
  reason: string | null;
  status: ColumnType<'open' | 'done' | 'cancelled', 'open' | 'done' | 'cancelled' | undefined, 'open' | 'done' | 'cancelled'>;
  created_at: CreatedAt;
  done_at: Timestamp | null;
  done_by: string | null;
  slack_channel: string | null;
  slack_ts: string | null;
}

export type RequestState = 'pending' | 'approved' | 'provisioning' | 'active' | 'expired' | 'revoked' | 'denied' | 'cancelled' | 'timed_out';

export interface ApproverEntry {
  /** What the policy said: `manager`, `owner`, `@security-oncall`, `U024BE7LH`. */
  label: string;
  /** The Slack users who may decide for it. */
  users: string[];
}

export interface ResolvedStep {
  mode: 'any' | 'all';
  approvers: ApproverEntry[];
}

export interface AccessRequestsTable {
  id: Generated<number>;
  person_id: string;
  requester_slack_id: string | null;
  entitlement: string;
  policy: string;
  description: string | null;
  duration_ms: number | null;
  justification: string | null;
  state: RequestState;
  steps: ColumnType<ResolvedStep[], string, string>;
  current_step: Generated<number>;
  auto_approved: Generated<boolean>;
  created_at: CreatedAt;
  step_started_at: ColumnType<Date, Date | string | undefined, Date | string>;
  decided_at: Timestamp | null;
  activated_at: Timestamp | null;
  expires_at: Timestamp | null;
  ended_at: Timestamp | null;
  end_reason: string | null;
  reminded_at: Timestamp | null;
  expiry_reminded_at: Timestamp | null;
  holder_notified_at: Timestamp | null;
}

export interface RequestDecisionsTable {
  id: Generated<number>;
  request_id: number;
  step: number;
  approver_slack_id: string;
  decision: 'approved' | 'denied';
  reason: string | null;
  decided_at: CreatedAt;
}

export interface RequestMessagesTable {
  request_id: number;
  step: number;
  approver_slack_id: string;
  channel: string;
  ts: string;
}

export interface SlackUsersTable {
  email: string;
  user_id: string | null;
  fetched_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export type DriftClass = 'missing' | 'extra' | 'orphan' | 'level';
export type DriftAction = 'regranted' | 'alerted' | 'revoked' | 'ignored';

export interface DriftScansTable {
  id: Generated<number>;
  system: string;
  started_at: CreatedAt;
  finished_at: Timestamp | null;
  memberships: Generated<number>;
  accounts: Generated<number>;
  error: string | null;
}

export interface DriftObservationsTable {
  scan_id: number;
  entitlement: string;
  account_id: string;
  login: string | null;
  email: string | null;
  employee_id: string | null;
}

export interface DriftAccountsTable {
  scan_id: number;
  account_id: string;
  login: string | null;
  email: string | null;
  employee_id: string | null;
  status: string;
}

export interface DriftItemsTable {
  id: Generated<number>;
  system: string;
  class: DriftClass;
  entitlement: string;
  account_id: string;
  login: string | null;
  email: string | null;
  person_id: string | null;
  expected: string | null;
  action: DriftAction;
  status: ColumnType<'open' | 'resolved' | 'revoking' | 'kept', 'open' | 'resolved' | 'revoking' | 'kept' | undefined, 'open' | 'resolved' | 'revoking' | 'kept'>;
  first_seen: CreatedAt;
  last_seen: ColumnType<Date, Date | string | undefined, Date | string>;
  decided_by: string | null;
  decided_at: Timestamp | null;
}

export interface DriftExceptionsTable {
  id: Generated<number>;
  system: string;
  entitlement: string;
  account_id: string;
  person_id: string | null;
  item_id: number | null;
  reason: string;
  created_by: string;
  created_at: CreatedAt;
  expires_at: Timestamp | null;
  ended_at: Timestamp | null;
}

export interface DriftAlertsTable {
  id: Generated<number>;
  channel: string;
  ts: string | null;
  digest: string;
  posted_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface Database {
  people: PeopleTable;
  person_events: PersonEventsTable;
  audit_log: AuditLogTable;
  audit_anchors: AuditAnchorsTable;
  rate_limits: RateLimitsTable;
  scim_users: ScimUsersTable;
  scim_groups: ScimGroupsTable;
  scim_group_members: ScimGroupMembersTable;
  grants: GrantsTable;
  accounts: AccountsTable;
  runs: RunsTable;
  operations: OperationsTable;
  alerts: AlertsTable;
  manual_tasks: ManualTasksTable;
  access_requests: AccessRequestsTable;
  request_decisions: RequestDecisionsTable;
  request_messages: RequestMessagesTable;
  slack_users: SlackUsersTable;
  contractor_notices: ContractorNoticesTable;
  drift_scans: DriftScansTable;
  drift_observations: DriftObservationsTable;
  drift_accounts: DriftAccountsTable;
  drift_items: DriftItemsTable;
  drift_exceptions: DriftExceptionsTable;
  drift_alerts: DriftAlertsTable;
}

export type Person = Selectable<PeopleTable>;
export type NewPerson = Insertable<PeopleTable>;
export type PersonUpdate = Updateable<PeopleTable>;
