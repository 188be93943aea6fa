import { transact } from '../../db/transact.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sql, type Transaction } from 'kysely';
import type { PgBoss } from 'pg-boss';
import { isDatabaseUnavailable } from '../../db/boss-transaction.js';
import type { Db } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import { BodyTooLargeError, readBody } from '../../http/body.js';
import type { Route } from '../../http/router.js';
import type { TimeZoneSettings } from '../../policy/index.js';
import { LIST_SCHEMA, resourceTypes, schemas, serviceProviderConfig } from './scim-discovery.js';
import { ScimError, sendScim, sendScimError } from './scim-error.js';
import { compileFilter, equalityOn } from './scim-filter.js';
import { applyPatch, assertSafeValue, readPatch } from './scim-patch.js';
import { assertUniqueUserName, findGroup, findUser, type GroupRow, UUID, groupResource, groupResources, setMembers, type SyncOptions, syncPerson, toBoolean, type UserRow, userResource, userResources, validateUser } from './scim-store.js';

export interface ScimDeps {
  db: Db;
  boss: PgBoss;
  token: string | undefined;
  /**
   * The URL Gatehouse is reached at, without a trailing slash (PUBLIC_URL, else the address it
   * listens on). A function because with PORT=0 the port is known only once the server listens.
   */
  publicUrl: () => string;
  joinerLeadTimeMs?: number;
  /** Where dates are counted for people whose record names no time_zone (config.timeZones). */
  timeZones?: TimeZoneSettings;
}

type Obj = Record<string, unknown>;
type Trx = Transaction<Database>;
const PREFIX = '/scim/v2';
/** The most resources one list response holds (ServiceProviderConfig → filter.maxResults). */
const MAX_RESULTS = 200;

/**
 * Whether an Authorization header carries this bearer token, compared in constant time: both sides
 * are hashed to 32 bytes first, so timingSafeEqual compares equal lengths whatever was sent, and
 * the time taken says nothing about how much of the token a guess got right.
 */
export function bearerTokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && given.length > 0;
}

function authorized(req: IncomingMessage, token: string): boolean {
  return bearerTokenMatches(req.headers.authorization, token);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ScimError(400, 'the body is not valid JSON', 'invalidSyntax');
  }
  // Every SCIM body (POST, PUT, PATCH) is later spread, merged or walked by key (issue 27).
  assertSafeValue(body, 'the body');
  return body;
}

/** `attributes=` / `excludedAttributes=` (RFC 7644 §3.4.2.5): id and schemas always stay. */
function project(resource: Obj, url: URL): Obj {
  const only = url.searchParams.get('attributes');
  const without = url.searchParams.get('excludedAttributes');
  if (!only && !without) return resource;
  const names = (s: string) => s.split(',').map((x) => x.trim().split('.')[0]!.toLowerCase()).filter(Boolean);
  if (only) {
    const keep = new Set([...names(only), 'id', 'schemas']);
    return Object.fromEntries(Object.entries(resource).filter(([k]) => keep.has(k.toLowerCase()) || (k.startsWith('urn:') && [...keep].some((x) => x.startsWith(k.toLowerCase())))));
  }
  const drop = new Set(names(without!));
  return Object.fromEntries(Object.entries(resource).filter(([k]) => !drop.has(k.toLowerCase()) || k === 'id' || k === 'schemas'));
}

/** startIndex (1-based) and count (RFC 7644 §3.4.2.4): out-of-range values are clamped, not refused. */
function paging(url: URL): { startIndex: number; count: number } {
  const startIndex = Math.max(1, Number.parseInt(url.searchParams.get('startIndex') ?? '1', 10) || 1);
  const requested = url.searchParams.get('count');
  const count = Math.min(MAX_RESULTS, Math.max(0, requested === null ? MAX_RESULTS : Number.parseInt(requested, 10) || 0));
  return { startIndex, count };
}

function listBody(page: Obj[], totalResults: number, url: URL): Obj {
  return { schemas: [LIST_SCHEMA], totalResults, startIndex: paging(url).startIndex, itemsPerPage: page.length, Resources: page.map((r) => project(r, url)) };
}

function listResponse(resources: Obj[], url: URL): Obj {
  const { startIndex, count } = paging(url);
  return listBody(resources.slice(startIndex - 1, startIndex - 1 + count), resources.length, url);
}

/**
 * If-Match (RFC 7644 §3.14): a client that sends the version it last read gets 412 instead of
 * overwriting a change it has not seen. Without the header the write goes ahead.
 */
function checkIfMatch(req: IncomingMessage, version: number): void {
  const header = req.headers['if-match'];
  if (!header || header.trim() === '*') return;
  const current = `W/"${version}"`;
  const given = header.split(',').map((t) => t.trim());
  if (!given.some((t) => t === current || t === `"${version}"`)) throw new ScimError(412, `the resource has changed: its version is ${current}, the request named ${header}`);
}

/**
 * A table-backed list: with no filter the page is read with LIMIT/OFFSET; an equality on an indexed
 * attribute narrows the rows in SQL; any other filter is evaluated over the rows in memory.
 */
async function listTable<Row extends { id: string }>(url: URL, opts: { count(): Promise<number>; page(offset: number, limit: number): Promise<Row[]>; matching(eq: { attribute: string; value: string } | undefined): Promise<Row[]>; build(rows: Row[]): Promise<Obj[]>; indexed: string[] }): Promise<Obj> {
  const filter = url.searchParams.get('filter');
  const matches = compileFilter(filter);
  const { startIndex, count } = paging(url);
  if (!filter || filter.trim() === '') {
    const total = await opts.count();
    return listBody(await opts.build(await opts.page(startIndex - 1, count)), total, url);
  }
  const resources = (await opts.build(await opts.matching(equalityOn(filter, opts.indexed)))).filter(matches);
  return listResponse(resources, url);
}

/**
 * The SCIM 2.0 service provider (ARCHITECTURE.md → SCIM; RFC 7643/7644). Every write runs in one
 * transaction with the person changes it causes, so an IdP's 2xx means the change is committed.
 */
export function createScimRoutes(deps: ScimDeps): Route[] {
  const handle =
    (fn: (req: IncomingMessage, res: ServerResponse, params: Record<string, string>, url: URL) => Promise<void>) =>
    async (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => {
      const url = new URL(req.url ?? '/', 'http://scim.invalid');
      try {
        if (!deps.token) throw new ScimError(503, 'SCIM is not configured: set SCIM_TOKEN');
        if (!authorized(req, deps.token)) throw new ScimError(401, 'a valid bearer token is required');
        await fn(req, res, params, url);
      } catch (error) {
        if (error instanceof ScimError) sendScimError(res, error);
        else if (error instanceof BodyTooLargeError) sendScimError(res, new ScimError(413, `the request body is larger than ${error.limitBytes} bytes`));
        else if (isDatabaseUnavailable(error)) sendScimError(res, new ScimError(503, 'the database is unavailable; retry later'));
        else if ((error as { code?: string }).code === '23505') sendScimError(res, new ScimError(409, 'a resource with that unique attribute already exists', 'uniqueness'));
        else throw error;
      }
    };
  const tx = <T>(fn: (trx: Trx) => Promise<T>) => transact(deps.db, fn);
  // Never from the Host or X-Forwarded-* headers: a client could make Gatehouse hand an IdP links
  // to another host, where the IdP would follow them with its bearer token (issue 27).
  const baseUrl = () => `${deps.publicUrl()}${PREFIX}`;
  const sync = (trx: Trx, userId: string, options: Omit<SyncOptions, 'joinerLeadTimeMs' | 'timeZones'> = {}) => syncPerson(trx, deps.boss, userId, { ...options, joinerLeadTimeMs: deps.joinerLeadTimeMs, timeZones: deps.timeZones });

  const userNotFound = (id: string) => new ScimError(404, `User ${id} not found`);
  const groupNotFound = (id: string) => new ScimError(404, `Group ${id} not found`);

  /** Creates (no `previous`) or replaces a user, then drives its person in the same transaction. */
  async function writeUser(trx: Trx, previous: UserRow | undefined, body: unknown) {
    const { resource, userName, active, externalId } = validateUser(body);
    await assertUniqueUserName(trx, userName, previous?.id);
    const values = { user_name: userName, active, external_id: externalId, resource: JSON.stringify(resource), updated_at: new Date() };
    const row = previous
      ? await trx.updateTable('scim_users').set({ ...values, version: sql`version + 1` }).where('id', '=', previous.id).returningAll().executeTakeFirstOrThrow()
      : await trx.insertInto('scim_users').values(values).returningAll().executeTakeFirstOrThrow();
    await sync(trx, row.id, { activeChanged: !previous || previous.active !== row.active, previous: (previous?.resource as Obj | undefined) ?? null });
    return row;
  }

  /** A user row for writing: locked, so two concurrent PATCHes apply one after the other. */
  const lockUser = async (trx: Trx, id: string) => {
    if (!(await findUser(trx, id))) throw userNotFound(id);
    return trx.selectFrom('scim_users').selectAll().where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
  };
  const lockGroup = async (trx: Trx, id: string) => {
    if (!(await findGroup(trx, id))) throw groupNotFound(id);
    return trx.selectFrom('scim_groups').selectAll().where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
  };
  /** RFC 7644 §3.5.2: 204 unless the client asked for a representation with attributes=/excludedAttributes=. */
  const wantsBody = (url: URL) => url.searchParams.has('attributes') || url.searchParams.has('excludedAttributes');

  const members = (value: unknown): { value: string; display: string | null }[] => {
    if (value === undefined || value === null) return [];
    const list = Array.isArray(value) ? value : [value];
    return list.map((m) => {
      const v = (m as Obj)?.value;
      // RFC 7644 §3.5.2.1: members is complex, so each value is an object with a value.
      if (typeof v !== 'string') throw new ScimError(400, 'each member must be an object with a value (a user id)', 'invalidValue');
      const display = (m as Obj).display ?? (m as Obj).displayName;
      return { value: v, display: typeof display === 'string' ? display : null };
    });
  };

  return [
    { method: 'GET', path: `${PREFIX}/ServiceProviderConfig`, handler: handle(async (req, res) => sendScim(res, 200, serviceProviderConfig(baseUrl()))) },
    { method: 'GET', path: `${PREFIX}/Schemas`, handler: handle(async (req, res, _p, url) => sendScim(res, 200, listResponse(schemas(baseUrl()), url))) },
    {
      method: 'GET',
      path: `${PREFIX}/Schemas/:id`,
      handler: handle(async (req, res, p) => {
        const found = schemas(baseUrl()).find((s) => s.id === p.id);
        if (!found) throw new ScimError(404, `Schema ${p.id} not found`);
        sendScim(res, 200, found);
      }),
    },
    { method: 'GET', path: `${PREFIX}/ResourceTypes`, handler: handle(async (req, res, _p, url) => sendScim(res, 200, listResponse(resourceTypes(baseUrl()), url))) },
    {
      method: 'GET',
      path: `${PREFIX}/ResourceTypes/:id`,
      handler: handle(async (req, res, p) => {
        const found = resourceTypes(baseUrl()).find((s) => s.id === p.id);
        if (!found) throw new ScimError(404, `ResourceType ${p.id} not found`);
        sendScim(res, 200, found);
      }),
    },

    {
      method: 'GET',
      path: `${PREFIX}/Users`,
      handler: handle(async (req, res, _p, url) => {
        const base = baseUrl();
        const body = await tx((trx) =>
          listTable<UserRow>(url, {
            indexed: ['userName', 'externalId', 'id'],
            count: async () => Number((await trx.selectFrom('scim_users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
            page: (offset, limit) => trx.selectFrom('scim_users').selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute(),
            matching: (eq) => {
              let q = trx.selectFrom('scim_users').selectAll().orderBy('created_at').orderBy('id');
              if (eq?.attribute === 'userName') q = q.where(sql`lower(user_name)`, '=', eq.value.toLowerCase());
              else if (eq?.attribute === 'externalId') q = q.where(sql`lower(external_id)`, '=', eq.value.toLowerCase());
              else if (eq?.attribute === 'id') q = UUID.test(eq.value) ? q.where('id', '=', eq.value) : q.where(sql<boolean>`false`);
              return q.execute();
            },
            build: (rows) => userResources(trx, base, rows),
          }),
        );
        sendScim(res, 200, body);
      }),
    },
    {
      method: 'POST',
      path: `${PREFIX}/Users`,
      handler: handle(async (req, res, _p, url) => {
        const body = await readJson(req);
        const resource = await tx(async (trx) => userResource(trx, baseUrl(), await writeUser(trx, undefined, body)));
        sendScim(res, 201, project(resource, url), { location: String((resource.meta as Obj).location), etag: String((resource.meta as Obj).version) });
      }),
    },
    {
      method: 'GET',
      path: `${PREFIX}/Users/:id`,
      handler: handle(async (req, res, p, url) => {
        const resource = await tx(async (trx) => {
          const row = await findUser(trx, p.id!);
          if (!row) throw userNotFound(p.id!);
          return userResource(trx, baseUrl(), row);
        });
        sendScim(res, 200, project(resource, url), { etag: String((resource.meta as Obj).version) });
      }),
    },
    {
      method: 'PUT',
      path: `${PREFIX}/Users/:id`,
      handler: handle(async (req, res, p, url) => {
        const body = await readJson(req);
        const resource = await tx(async (trx) => {
          const row = await lockUser(trx, p.id!);
          checkIfMatch(req, row.version);
          return userResource(trx, baseUrl(), await writeUser(trx, row, body));
        });
        sendScim(res, 200, project(resource, url), { etag: String((resource.meta as Obj).version) });
      }),
    },
    {
      method: 'PATCH',
      path: `${PREFIX}/Users/:id`,
      handler: handle(async (req, res, p, url) => {
        const operations = readPatch(await readJson(req));
        const resource = await tx(async (trx) => {
          const row = await lockUser(trx, p.id!);
          checkIfMatch(req, row.version);
          const current = { ...(row.resource as Obj), userName: row.user_name, active: row.active };
          const patched = applyPatch(current, operations);
          if (patched.active !== undefined) patched.active = toBoolean(patched.active, 'active');
          return userResource(trx, baseUrl(), await writeUser(trx, row, patched));
        });
        // RFC 7644 §3.5.2 allows 200 with the resource or 204; Entra ID expects 204.
        if (wantsBody(url)) sendScim(res, 200, project(resource, url), { etag: String((resource.meta as Obj).version) });
        else sendScim(res, 204, undefined, { etag: String((resource.meta as Obj).version) });
      }),
    },
    {
      method: 'DELETE',
      path: `${PREFIX}/Users/:id`,
      handler: handle(async (req, res, p) => {
        await tx(async (trx) => {
          const row = await lockUser(trx, p.id!);
          checkIfMatch(req, row.version);
          // A deleted user is a leaver: terminate the person before the SCIM record goes.
          await sync(trx, p.id!, { deleted: true });
          await trx.deleteFrom('scim_users').where('id', '=', p.id!).execute();
        });
        sendScim(res, 204, undefined);
      }),
    },

    {
      method: 'GET',
      path: `${PREFIX}/Groups`,
      handler: handle(async (req, res, _p, url) => {
        const base = baseUrl();
        const body = await tx((trx) =>
          listTable<GroupRow>(url, {
            indexed: ['displayName', 'externalId', 'id'],
            count: async () => Number((await trx.selectFrom('scim_groups').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
            page: (offset, limit) => trx.selectFrom('scim_groups').selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute(),
            matching: (eq) => {
              let q = trx.selectFrom('scim_groups').selectAll().orderBy('created_at').orderBy('id');
              if (eq?.attribute === 'displayName') q = q.where(sql`lower(display_name)`, '=', eq.value.toLowerCase());
              else if (eq?.attribute === 'externalId') q = q.where(sql`lower(external_id)`, '=', eq.value.toLowerCase());
              else if (eq?.attribute === 'id') q = UUID.test(eq.value) ? q.where('id', '=', eq.value) : q.where(sql<boolean>`false`);
              return q.execute();
            },
            build: (rows) => groupResources(trx, base, rows),
          }),
        );
        sendScim(res, 200, body);
      }),
    },
    {
      method: 'POST',
      path: `${PREFIX}/Groups`,
      handler: handle(async (req, res, _p, url) => {
        const body = (await readJson(req)) as Obj;
        const displayName = body?.displayName;
        if (typeof displayName !== 'string' || displayName.trim() === '') throw new ScimError(400, 'displayName is required', 'invalidValue');
        const resource = await tx(async (trx) => {
          if (await trx.selectFrom('scim_groups').select('id').where(sql`lower(display_name)`, '=', displayName.toLowerCase()).executeTakeFirst()) {
            throw new ScimError(409, `a group named "${displayName}" already exists`, 'uniqueness');
          }
          const { id: _i, meta: _m, schemas: _s, members: m, displayName: _d, ...rest } = body;
          const row = await trx
            .insertInto('scim_groups')
            .values({ display_name: displayName, external_id: typeof rest.externalId === 'string' ? rest.externalId : null, resource: JSON.stringify(rest) })
            .returningAll()
            .executeTakeFirstOrThrow();
          for (const userId of await setMembers(trx, row.id, members(m), 'add')) await sync(trx, userId);
          return groupResource(trx, baseUrl(), row);
        });
        sendScim(res, 201, project(resource, url), { location: String((resource.meta as Obj).location), etag: String((resource.meta as Obj).version) });
      }),
    },
    {
      method: 'GET',
      path: `${PREFIX}/Groups/:id`,
      handler: handle(async (req, res, p, url) => {
        const resource = await tx(async (trx) => {
          const row = await findGroup(trx, p.id!);
          if (!row) throw groupNotFound(p.id!);
          return groupResource(trx, baseUrl(), row);
        });
        sendScim(res, 200, project(resource, url), { etag: String((resource.meta as Obj).version) });
      }),
    },
    {
      method: 'PUT',
      path: `${PREFIX}/Groups/:id`,
      handler: handle(async (req, res, p, url) => {
        const body = (await readJson(req)) as Obj;
        const displayName = body?.displayName;
        if (typeof displayName !== 'string' || displayName.trim() === '') throw new ScimError(400, 'displayName is required', 'invalidValue');
        const resource = await tx(async (trx) => {
          checkIfMatch(req, (await lockGroup(trx, p.id!)).version);
          const { id: _i, meta: _m, schemas: _s, members: m, displayName: _d, ...rest } = body;
          const row = await trx
            .updateTable('scim_groups')
            .set({ display_name: displayName, resource: JSON.stringify(rest), version: sql`version + 1`, updated_at: new Date() })
            .where('id', '=', p.id!)
            .returningAll()
            .executeTakeFirstOrThrow();
          for (const userId of await setMembers(trx, row.id, members(m), 'replace')) await sync(trx, userId);
          return groupResource(trx, baseUrl(), row);
        });
        sendScim(res, 200, project(resource, url), { etag: String((resource.meta as Obj).version) });
      }),
    },
    {
      method: 'PATCH',
      path: `${PREFIX}/Groups/:id`,
      handler: handle(async (req, res, p) => {
        const operations = readPatch(await readJson(req));
        await tx(async (trx) => {
          const row = await lockGroup(trx, p.id!);
          checkIfMatch(req, row.version);
          const touched = new Set<string>();
          const memberOps: { mode: 'add' | 'remove' | 'replace'; ids: { value: string; display: string | null }[]; filter?: (x: unknown) => boolean }[] = [];
          const current = { ...(row.resource as Obj), displayName: row.display_name };
          const patched = applyPatch(current, operations, (op, filter) => {
            if (op.op === 'remove' && filter) {
              memberOps.push({ mode: 'remove', ids: [], filter });
              return;
            }
            memberOps.push({ mode: op.op === 'replace' ? 'replace' : op.op === 'add' ? 'add' : 'remove', ids: op.value === undefined ? [] : members(op.value) });
          });
          for (const m of memberOps) {
            let ids = m.ids;
            const current = async () => (await trx.selectFrom('scim_group_members').select('user_id').where('group_id', '=', row.id).execute()).map((r) => ({ value: r.user_id, display: null }));
            if (m.filter) ids = (await current()).filter((x) => m.filter!(x));
            // remove with path "members" and no value removes every member (RFC 7644 §3.5.2.2).
            else if (m.mode === 'remove' && ids.length === 0) ids = await current();
            for (const id of await setMembers(trx, row.id, ids, m.mode)) touched.add(id);
          }
          const displayName = typeof patched.displayName === 'string' && patched.displayName.trim() !== '' ? patched.displayName : row.display_name;
          const { displayName: _d, members: _m, ...rest } = patched;
          await trx.updateTable('scim_groups').set({ display_name: displayName, resource: JSON.stringify(rest), version: sql`version + 1`, updated_at: new Date() }).where('id', '=', row.id).execute();
          // A renamed group changes every member's `groups`.
          if (displayName !== row.display_name) for (const r of await trx.selectFrom('scim_group_members').select('user_id').where('group_id', '=', row.id).execute()) touched.add(r.user_id);
          for (const id of touched) await sync(trx, id);
        });
        sendScim(res, 204, undefined);
      }),
    },
    {
      method: 'DELETE',
      path: `${PREFIX}/Groups/:id`,
      handler: handle(async (req, res, p) => {
        await tx(async (trx) => {
          checkIfMatch(req, (await lockGroup(trx, p.id!)).version);
          const memberIds = (await trx.selectFrom('scim_group_members').select('user_id').where('group_id', '=', p.id!).execute()).map((r) => r.user_id);
          await trx.deleteFrom('scim_groups').where('id', '=', p.id!).execute();
          for (const id of memberIds) await sync(trx, id);
        });
        sendScim(res, 204, undefined);
      }),
    },
  ];
}
