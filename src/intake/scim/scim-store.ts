import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Selectable } from 'kysely';
import type { Database, ScimGroupsTable, ScimUsersTable } from '../../db/schema.js';
import { applyPersonChange } from '../../people/apply-change.js';
import { type PersonRecord, personRecordSchema } from '../../people/person-record.js';
import { canonicalTimeZone, type TimeZoneSettings } from '../../policy/index.js';
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from './scim-discovery.js';
import { ScimError } from './scim-error.js';

type Obj = Record<string, unknown>;
type Trx = Transaction<Database>;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Entra sends booleans as "True"/"False" strings; RFC 7643 says boolean. Accept both. */
export function toBoolean(value: unknown, field: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw new ScimError(400, `${field} must be a boolean`, 'invalidValue');
}

/** Attributes the server owns: a client may send them, and they are ignored (RFC 7643 §3.1). */
function strip(resource: Obj): Obj {
  const { id: _id, meta: _meta, groups: _groups, schemas: _schemas, ...rest } = resource;
  return rest;
}

export function validateUser(body: unknown): { resource: Obj; userName: string; active: boolean; externalId: string | null } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ScimError(400, 'the body must be a User resource', 'invalidSyntax');
  const resource = strip(body as Obj);
  const userName = resource.userName;
  if (typeof userName !== 'string' || userName.trim() === '') throw new ScimError(400, 'userName is required', 'invalidValue');
  const active = resource.active === undefined ? true : toBoolean(resource.active, 'active');
  resource.active = active;
  if (resource.externalId !== undefined && resource.externalId !== null && typeof resource.externalId !== 'string') throw new ScimError(400, 'externalId must be a string', 'invalidValue');
  if (resource.emails !== undefined && resource.emails !== null) {
    if (!Array.isArray(resource.emails) || resource.emails.some((e) => !e || typeof e !== 'object' || typeof (e as Obj).value !== 'string')) {
      throw new ScimError(400, 'emails must be a list of objects with a string value', 'invalidValue');
    }
  }
  for (const complex of ['name', ENTERPRISE_SCHEMA]) {
    const v = resource[complex];
    if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))) throw new ScimError(400, `${complex} must be an object`, 'invalidValue');
  }
  return { resource, userName: userName.trim(), active, externalId: (resource.externalId as string | undefined) ?? null };
}

function meta(type: 'User' | 'Group', base: string, row: { id: string; created_at: Date; updated_at: Date; version: number }) {
  return { resourceType: type, created: row.created_at.toISOString(), lastModified: row.updated_at.toISOString(), location: `${base}/${type}s/${row.id}`, version: `W/"${row.version}"` };
}

export type UserRow = Selectable<ScimUsersTable>;
export type GroupRow = Selectable<ScimGroupsTable>;

/** User resources for many rows with one membership query (a list of 10,000 users is one round trip, not 10,000). */
export async function userResources(db: Trx, base: string, rows: UserRow[]): Promise<Obj[]> {
  if (rows.length === 0) return [];
  const memberships = await db
    .selectFrom('scim_group_members')
    .innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id')
    .select(['scim_group_members.user_id', 'scim_groups.id', 'scim_groups.display_name'])
    .where(sql<boolean>`scim_group_members.user_id = any(${rows.map((r) => r.id)}::uuid[])`)
    .orderBy('scim_groups.display_name')
    .execute();
  const groupsOf = new Map<string, { value: string; display: string; $ref: string }[]>();
  for (const m of memberships) {
    const list = groupsOf.get(m.user_id) ?? [];
    list.push({ value: m.id, display: m.display_name, $ref: `${base}/Groups/${m.id}` });
    groupsOf.set(m.user_id, list);
  }
  return rows.map((row) => {
    const resource = row.resource as Obj;
    const schemas = [USER_SCHEMA, ...(resource[ENTERPRISE_SCHEMA] ? [ENTERPRISE_SCHEMA] : [])];
    return { schemas, id: row.id, ...resource, userName: row.user_name, active: row.active, groups: groupsOf.get(row.id) ?? [], meta: meta('User', base, row) };
  });
}

export async function userResource(db: Trx, base: string, row: UserRow): Promise<Obj> {
  return (await userResources(db, base, [row]))[0]!;
}

/** Group resources for many rows with one member query. */
export async function groupResources(db: Trx, base: string, rows: GroupRow[]): Promise<Obj[]> {
  if (rows.length === 0) return [];
  const members = await db
    .selectFrom('scim_group_members')
    .innerJoin('scim_users', 'scim_users.id', 'scim_group_members.user_id')
    .select(['scim_group_members.group_id', 'scim_users.id', 'scim_users.user_name', 'scim_group_members.display', sql<string | null>`scim_users.resource->>'displayName'`.as('display_name')])
    .where(sql<boolean>`scim_group_members.group_id = any(${rows.map((r) => r.id)}::uuid[])`)
    .orderBy('scim_users.user_name')
    .execute();
  const membersOf = new Map<string, { value: string; display: string; $ref: string }[]>();
  for (const m of members) {
    const list = membersOf.get(m.group_id) ?? [];
    list.push({ value: m.id, display: m.display ?? m.display_name ?? m.user_name, $ref: `${base}/Users/${m.id}` });
    membersOf.set(m.group_id, list);
  }
  return rows.map((row) => ({ schemas: [GROUP_SCHEMA], id: row.id, ...(row.resource as Obj), displayName: row.display_name, members: membersOf.get(row.id) ?? [], meta: meta('Group', base, row) }));
}

export async function groupResource(db: Trx, base: string, row: GroupRow): Promise<Obj> {
  return (await groupResources(db, base, [row]))[0]!;
}

export async function findUser(db: Trx, id: string) {
  if (!UUID.test(id)) return undefined;
  return db.selectFrom('scim_users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findGroup(db: Trx, id: string) {
  if (!UUID.test(id)) return undefined;
  return db.selectFrom('scim_groups').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function assertUniqueUserName(db: Trx, userName: string, except?: string): Promise<void> {
  let q = db.selectFrom('scim_users').select('id').where(sql`lower(user_name)`, '=', userName.toLowerCase());
  if (except) q = q.where('id', '<>', except);
  if (await q.executeTakeFirst()) throw new ScimError(409, `a user with userName "${userName}" already exists`, 'uniqueness');
}

/** Group members must be existing users (RFC 7644 §3.5.2: an unknown member is invalidValue). */
export async function setMembers(db: Trx, groupId: string, members: { value: string; display?: string | null }[], mode: 'replace' | 'add' | 'remove'): Promise<string[]> {
  const displays = new Map(members.map((m) => [m.value, m.display ?? null]));
  const unique = [...displays.keys()];
  for (const id of unique) if (mode !== 'remove' && !(await findUser(db, id))) throw new ScimError(400, `member "${id}" is not a user`, 'invalidValue');
  const before = (await db.selectFrom('scim_group_members').select('user_id').where('group_id', '=', groupId).execute()).map((r) => r.user_id);
  if (mode === 'replace') await db.deleteFrom('scim_group_members').where('group_id', '=', groupId).execute();
  if (mode === 'remove') {
    if (unique.length > 0) await db.deleteFrom('scim_group_members').where('group_id', '=', groupId).where('user_id', 'in', unique.filter((id) => UUID.test(id))).execute();
  } else if (unique.length > 0) {
    await db
      .insertInto('scim_group_members')
      .values(unique.map((user_id) => ({ group_id: groupId, user_id, display: displays.get(user_id) ?? null })))
      .onConflict((oc) => oc.columns(['group_id', 'user_id']).doUpdateSet((eb) => ({ display: eb.fn.coalesce('excluded.display', 'scim_group_members.display') })))
      .execute();
  }
  // Everyone whose membership may have changed: their `groups` attribute must be re-synced.
  return [...new Set([...before, ...unique])];
}

const SCIM_PLACEHOLDER = 'scim-';

/** The person fields a SCIM User carries (RFC 7643 §4.1 and §4.3), for the attributes it has. */
function personFields(resource: Obj | null | undefined, managerEmail: string | undefined): Record<string, unknown> {
  if (!resource) return {};
  const enterprise = (resource[ENTERPRISE_SCHEMA] ?? {}) as Obj;
  const name = (resource.name ?? {}) as Obj;
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
  const fields: Record<string, unknown> = {
    first_name: text(name.givenName),
    last_name: text(name.familyName),
    job_title: text(resource.title),
    department: text(enterprise.department),
    cost_center: text(enterprise.costCenter),
    // RFC 7643 §4.1.1 timezone ("America/Los_Angeles"). One the zone database does not know is
    // left out rather than failing the whole user, which would drop every other change with it.
    time_zone: typeof resource.timezone === 'string' ? (canonicalTimeZone(resource.timezone.trim()) ?? undefined) : undefined,
    manager_email: managerEmail,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

function primaryEmail(resource: Obj, userName: string): string {
  const emails = Array.isArray(resource.emails) ? (resource.emails as unknown[]).filter((e): e is Obj => Boolean(e) && typeof e === 'object') : [];
  const chosen = emails.find((e) => e.primary === true || e.primary === 'True') ?? emails.find((e) => e.type === 'work') ?? emails[0];
  return typeof chosen?.value === 'string' ? chosen.value : userName;
}

export interface SyncOptions {
  /** DELETE: the person is terminated and unlinked. */
  deleted?: boolean;
  /**
   * The request created the user or changed its `active`. Only then does SCIM decide the person's
   * status: an IdP pushing a group change for a user the HRIS terminated must not rehire them.
   */
  activeChanged?: boolean;
  /** The resource before this request: attributes it had and this one lacks are cleared. */
  previous?: Obj | null;
  joinerLeadTimeMs?: number;
  /** Where dates are counted for people whose record names no time_zone (config.timeZones). */
  timeZones?: TimeZoneSettings;
}

async function changePerson(db: Trx, boss: PgBoss, record: PersonRecord, eventType: string, payload: unknown, terminates: boolean, options: Pick<SyncOptions, 'joinerLeadTimeMs' | 'timeZones'>) {
  return applyPersonChange(db, boss, { source: 'scim', eventId: randomUUID(), eventType, occurredAt: new Date(), record, payload, terminates }, { joinerLeadTimeMs: options.joinerLeadTimeMs, timeZones: options.timeZones });
}

/**
 * Drives the person behind a SCIM user through the same path as the HRIS webhook. The person is
 * found by the user's link, else by employeeNumber, else by email (an HRIS already knows them),
 * else gets a placeholder id `scim-<user id>`. SCIM's attributes are merged over what the store
 * knows, so fields only the HRIS sends (team, start_date, …) survive an IdP update. A user the
 * person record cannot describe (no usable email) stays SCIM data only.
 */
export async function syncPerson(db: Trx, boss: PgBoss, userId: string, options: SyncOptions = {}): Promise<void> {
  const user = await findUser(db, userId);
  if (!user) return;
  const resource = user.resource as Obj;
  const enterprise = (resource[ENTERPRISE_SCHEMA] ?? {}) as Obj;
  const email = primaryEmail(resource, user.user_name);
  const employeeNumber = typeof enterprise.employeeNumber === 'string' && enterprise.employeeNumber.trim() !== '' ? enterprise.employeeNumber.trim() : undefined;

  const linked = await db.selectFrom('people').selectAll().where('scim_user_id', '=', user.id).executeTakeFirst();
  let employeeId: string;
  if (employeeNumber) {
    employeeId = employeeNumber;
    if (linked && linked.employee_id !== employeeNumber) {
      const taken = await db.selectFrom('people').select('id').where('employee_id', '=', employeeNumber).executeTakeFirst();
      if (!taken && linked.employee_id.startsWith(SCIM_PLACEHOLDER)) {
        // The placeholder learns its real id: same person, renamed.
        await db.updateTable('people').set({ employee_id: employeeNumber }).where('id', '=', linked.id).execute();
      } else {
        // The user now names someone else: the old link goes, and a placeholder person that
        // stood for this user is terminated rather than left active beside the real one.
        await db.updateTable('people').set({ scim_user_id: null }).where('id', '=', linked.id).execute();
        if (linked.employee_id.startsWith(SCIM_PLACEHOLDER) && linked.status !== 'terminated') {
          const old = personRecordSchema.safeParse({ ...(linked.data as Obj), status: 'terminated' });
          if (old.success) await changePerson(db, boss, old.data, 'scim.unlinked', { userId, employeeNumber }, true, options);
        }
      }
    }
  } else if (linked) {
    employeeId = linked.employee_id;
  } else {
    const byEmail = await db.selectFrom('people').select('employee_id').where(sql`lower(email)`, '=', email.toLowerCase()).where('scim_user_id', 'is', null).executeTakeFirst();
    employeeId = byEmail?.employee_id ?? `${SCIM_PLACEHOLDER}${user.id}`;
  }
  const stored = await db.selectFrom('people').select(['data', 'status']).where('employee_id', '=', employeeId).executeTakeFirst();

  const managerOf = async (r: Obj | null | undefined) => {
    const managerId = ((r?.[ENTERPRISE_SCHEMA] as Obj | undefined)?.manager as Obj | undefined)?.value;
    const manager = typeof managerId === 'string' ? await findUser(db, managerId) : undefined;
    return manager ? primaryEmail(manager.resource as Obj, manager.user_name) : undefined;
  };
  const now = personFields(resource, await managerOf(resource));
  const before = personFields(options.previous, await managerOf(options.previous));
  const cleared = Object.fromEntries(Object.keys(before).filter((k) => !(k in now)).map((k) => [k, k === 'first_name' || k === 'last_name' ? undefined : null]));
  const groups = (
    await db.selectFrom('scim_group_members').innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id').select('scim_groups.display_name').where('user_id', '=', userId).execute()
  ).map((g) => g.display_name);

  const scimStatus = options.deleted || !user.active ? 'terminated' : 'active';
  const status = stored && !options.activeChanged && !options.deleted ? (stored.status === 'terminated' ? 'terminated' : 'active') : scimStatus;
  const record = personRecordSchema.safeParse({ ...((stored?.data as Obj) ?? {}), ...cleared, ...now, employee_id: employeeId, email, groups: groups.sort(), status });
  if (!record.success) return;
  const applied = await changePerson(
    db,
    boss,
    record.data,
    options.deleted ? 'scim.deleted' : 'scim.updated',
    { userId, resource, active: user.active, deleted: Boolean(options.deleted) },
    status === 'terminated' && (Boolean(options.deleted) || Boolean(options.activeChanged)),
    options,
  );
  if (applied.personId) {
    const link = options.deleted ? null : user.id;
    if (link) await db.updateTable('people').set({ scim_user_id: null }).where('scim_user_id', '=', link).where('id', '<>', applied.personId).execute();
    await db.updateTable('people').set({ scim_user_id: link }).where('id', '=', applied.personId).execute();
  }
}
