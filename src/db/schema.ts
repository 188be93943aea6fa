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

export interface Database {
  people: PeopleTable;
  person_events: PersonEventsTable;
  audit_log: AuditLogTable;
  rate_limits: RateLimitsTable;
  scim_users: ScimUsersTable;
  scim_groups: ScimGroupsTable;
  scim_group_members: ScimGroupMembersTable;
}

export type Person = Selectable<PeopleTable>;
export type NewPerson = Insertable<PeopleTable>;
export type PersonUpdate = Updateable<PeopleTable>;
