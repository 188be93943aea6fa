import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Selectable } from 'kysely';
import type { Database, ScimGroupsTable, ScimUsersTable } from '../../db/schema.js';
import { applyPersonChange } from '../../people/apply-change.js';
import { personRecordSchema } from '../../people/person-record.js';
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from './scim-discovery.js';
import { ScimError } from './scim-error.js';

type Obj = Record<string, unknown>;
type Trx = Transaction<Database>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

export async function userResource(db: Trx, base: string, row: UserRow): Promise<Obj> {
  const groups = await db
    .selectFrom('scim_group_members')
    .innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id')
    .select(['scim_groups.id', 'scim_groups.display_name'])
    .where('scim_group_members.user_id', '=', row.id)
    .orderBy('scim_groups.display_name')
    .execute();
  const resource = row.resource as Obj;
  const schemas = [USER_SCHEMA, ...(resource[ENTERPRISE_SCHEMA] ? [ENTERPRISE_SCHEMA] : [])];
  return {
    schemas,
    id: row.id,
    ...resource,
    userName: row.user_name,
    active: row.active,
    groups: groups.map((g) => ({ value: g.id, display: g.display_name, $ref: `${base}/Groups/${g.id}` })),
    meta: meta('User', base, row),
  };
}

export async function groupResource(db: Trx, base: string, row: GroupRow): Promise<Obj> {
  const members = await db
    .selectFrom('scim_group_members')
    .innerJoin('scim_users', 'scim_users.id', 'scim_group_members.user_id')
    .select(['scim_users.id', 'scim_users.user_name', 'scim_group_members.display', sql<string | null>`scim_users.resource->>'displayName'`.as('display_name')])
    .where('scim_group_members.group_id', '=', row.id)
    .orderBy('scim_users.user_name')
    .execute();
  return {
    schemas: [GROUP_SCHEMA],
    id: row.id,
    ...(row.resource as Obj),
    displayName: row.display_name,
    members: members.map((m) => ({ value: m.id, display: m.display ?? m.display_name ?? m.user_name, $ref: `${base}/Users/${m.id}` })),
    meta: meta('Group', base, row),
  };
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

/**
 * Drives the person behind a SCIM user through the same path as the HRIS webhook. A user the
 * person record cannot describe (no email anywhere) is stored as SCIM data only.
 */
export async function syncPerson(db: Trx, boss: PgBoss, userId: string, options: { deleted?: boolean; joinerLeadTimeMs?: number } = {}): Promise<void> {
  const user = await findUser(db, userId);
  if (!user) return;
  const r = user.resource as Obj;
  const enterprise = (r[ENTERPRISE_SCHEMA] ?? {}) as Obj;
  const emails = Array.isArray(r.emails) ? (r.emails as unknown[]).filter((e): e is Obj => Boolean(e) && typeof e === 'object') : [];
  const email = (emails.find((e) => e.primary === true || e.primary === 'True') ?? emails.find((e) => e.type === 'work') ?? emails[0])?.value ?? user.user_name;
  const name = (r.name ?? {}) as Obj;
  const managerId = (enterprise.manager as Obj | undefined)?.value;
  const manager = typeof managerId === 'string' ? await findUser(db, managerId) : undefined;
  const groups = (
    await db.selectFrom('scim_group_members').innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id').select('scim_groups.display_name').where('user_id', '=', userId).execute()
  ).map((g) => g.display_name);
  const record = personRecordSchema.safeParse({
    employee_id: (enterprise.employeeNumber as string | undefined) || `scim-${user.id}`,
    email,
    first_name: name.givenName ?? undefined,
    last_name: name.familyName ?? undefined,
    job_title: r.title ?? undefined,
    department: enterprise.department ?? undefined,
    manager_email: manager ? ((manager.resource as Obj).emails as Obj[] | undefined)?.[0]?.value ?? manager.user_name : undefined,
    status: options.deleted || !user.active ? 'terminated' : 'active',
    groups: groups.sort(),
  });
  if (!record.success) return;
  await applyPersonChange(
    db,
    boss,
    {
      source: 'scim',
      eventId: randomUUID(),
      eventType: options.deleted ? 'scim.deleted' : 'scim.updated',
      occurredAt: new Date(),
      record: record.data,
      payload: { userId, resource: r, active: user.active, deleted: Boolean(options.deleted) },
      terminates: Boolean(options.deleted) || !user.active,
    },
    { joinerLeadTimeMs: options.joinerLeadTimeMs },
  );
}
