import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Adapter } from '../../adapters/types.js';
import { appendAudit } from '../audit/append-audit.js';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import type { DriftAction, DriftClass } from '../db/schema.js';
import type { AdapterRegistry } from '../orchestrator/adapter-registry.js';
import { notify } from '../orchestrator/notifications.js';
import { QUEUES } from '../orchestrator/queue.js';
import { runPriority } from '../orchestrator/run-state.js';
import { systemOf } from '../plan/operation-graph.js';
import type { DriftMode, PolicySet } from '../policy/index.js';

export interface DriftDeps {
  db: Db;
  boss: PgBoss;
  adapters: AdapterRegistry;
  policies: PolicySet;
  now?: () => Date;
}

export interface DriftItem {
  id: number;
  system: string;
  class: DriftClass;
  email: string | null;
  entitlement: string;
  accountId: string;
  expected: string | null;
  action: DriftAction;
}

export interface ScanResult {
  system: string;
  scanId: number | null;
  memberships: number;
  accounts: number;
  items: DriftItem[];
  /** Time spent reading the system (every page) and comparing and acting, in ms. */
  readMs?: number;
  compareMs?: number;
  /** Why the system was not scanned (no listMembers), or what failed. */
  skipped?: string;
}

const resourceOf = (entitlement: string) => (entitlement.includes('#') ? entitlement.slice(0, entitlement.lastIndexOf('#')) : entitlement);
const BATCH = 1_000;

/**
 * The entitlements of one system Gatehouse manages: every one named in a policy (granted or
 * requestable), held through Gatehouse, or requested; for a resource with ranked levels, every
 * level of it, so a level changed by hand is seen. Unmanaged resources are left alone.
 */
export async function managedEntitlements(deps: DriftDeps, system: string, adapter: Adapter): Promise<string[]> {
  const named = new Set<string>();
  for (const policy of deps.policies.policies) {
    for (const g of policy.grants) named.add(g.entitlement);
    for (const r of policy.requestable) named.add(r.entitlement);
  }
  for (const row of await deps.db.selectFrom('grants').select('entitlement').distinct().where('system', '=', system).execute()) named.add(row.entitlement);
  for (const row of await deps.db.selectFrom('access_requests').select('entitlement').distinct().execute()) named.add(row.entitlement);
  const mine = [...named].filter((e) => systemOf(e) === system && e !== `${system}:account`);
  const types = adapter.describe().entitlementTypes;
  const out = new Set(mine);
  for (const e of mine) {
    let parsed;
    try {
      parsed = adapter.parseEntitlement(e);
    } catch {
      continue;
    }
    const type = types.find((t) => t.type === parsed.type);
    if (type?.ranked && Array.isArray(type.levels)) for (const level of type.levels) out.add(`${resourceOf(e)}#${level}`);
  }
  return [...out].sort();
}

/** What the policies say to do about extra access to a resource: the first policy naming it decides; alert by default. */
function driftModeFor(policies: PolicySet, entitlement: string): DriftMode {
  const resource = resourceOf(entitlement);
  for (const policy of policies.policies) {
    for (const g of policy.grants) if (resourceOf(g.entitlement) === resource) return g.drift;
  }
  for (const policy of policies.policies) if (policy.requestable.some((r) => resourceOf(r.entitlement) === resource)) return policy.drift;
  return 'alert';
}

/** Reconciles a person at drift priority (coalesced with a reconcile already queued). */
async function reconcileForDrift(db: Db, boss: PgBoss, personId: string): Promise<void> {
  await boss.send(QUEUES.reconcilePerson.name, { personId, reason: 'drift' }, { db: bossOnTransaction(db as never), singletonKey: personId, priority: runPriority('drift') });
}

/**
 * Scans one system: streams who holds each managed entitlement (and every account, for orphans)
 * into Postgres page by page, compares the sets in SQL with what Gatehouse applied (grants) and the
 * exceptions people accepted, and acts: missing access is granted again, extra access is alerted,
 * revoked or ignored as its policy says (`drift:`), orphans and level mismatches are alerted. An
 * item still open from an earlier scan is the same item (not a new alert); one no longer seen is
 * resolved.
 */
export async function scanSystem(deps: DriftDeps, system: string): Promise<ScanResult> {
  const now = deps.now?.() ?? new Date();
  const adapter = deps.adapters.get(system);
  if (!adapter.listMembers) return { system, scanId: null, memberships: 0, accounts: 0, items: [], skipped: `${system} cannot list who holds an entitlement (no listMembers), so it is not scanned` };
  const managed = await managedEntitlements(deps, system, adapter);
  // Real time, not deps.now: it is compared with when operations finished.
  const readFrom = new Date();
  const scan = await deps.db.insertInto('drift_scans').values({ system, started_at: now }).returning('id').executeTakeFirstOrThrow();
  const scanId = scan.id;
  let memberships = 0;
  let accounts = 0;
  const readStarted = performance.now();
  try {
    let batch: { scan_id: number; entitlement: string; account_id: string; login: string | null; email: string | null; employee_id: string | null }[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await deps.db.insertInto('drift_observations').values(batch).execute();
      memberships += batch.length;
      batch = [];
    };
    for (const entitlement of managed) {
      for await (const member of adapter.listMembers(entitlement)) {
        batch.push({ scan_id: scanId, entitlement, account_id: member.id, login: member.login ?? null, email: member.email?.toLowerCase() ?? null, employee_id: member.employeeId ?? null });
        if (batch.length >= BATCH) await flush();
      }
    }
    await flush();
    if (adapter.listAccounts) {
      let rows: { scan_id: number; account_id: string; login: string | null; email: string | null; employee_id: string | null; status: string }[] = [];
      for await (const account of adapter.listAccounts()) {
        rows.push({ scan_id: scanId, account_id: account.id, login: account.login ?? null, email: account.email?.toLowerCase() ?? null, employee_id: account.employeeId ?? null, status: account.status });
        if (rows.length >= BATCH) {
          await deps.db.insertInto('drift_accounts').values(rows).execute();
          accounts += rows.length;
          rows = [];
        }
      }
      if (rows.length > 0) await deps.db.insertInto('drift_accounts').values(rows).execute();
      accounts += rows.length;
    }
  } catch (error) {
    await deps.db.updateTable('drift_scans').set({ finished_at: new Date(), error: (error as Error).message.slice(0, 1000) }).where('id', '=', scanId).execute();
    throw error;
  }

  const readMs = performance.now() - readStarted;
  const compareStarted = performance.now();
  const busy = await changingSince(deps.db, system, readFrom);
  await endLapsedExceptions(deps.db, { system, scanId, now });
  const found = await classify(deps.db, { system, scanId, managed, now, accountsScanned: Boolean(adapter.listAccounts), busy });
  const items: DriftItem[] = [];
  await deps.db.transaction().execute(async (trx) => {
    const db = trx as unknown as Db;
    for (const f of found) {
      let action: DriftAction = 'alerted';
      if (f.class === 'missing') action = 'regranted';
      else if (f.class === 'extra') {
        const mode = driftModeFor(deps.policies, f.entitlement);
        action = mode === 'ignore' ? 'ignored' : mode === 'revoke' && f.person_id ? 'revoked' : 'alerted';
      }
      const existing = await trx.selectFrom('drift_items').select(['id', 'action']).where('system', '=', system).where('class', '=', f.class).where('entitlement', '=', f.entitlement).where('account_id', '=', f.account_id).where('status', 'in', ['open', 'revoking']).executeTakeFirst();
      let id: number;
      if (existing) {
        id = existing.id;
        await trx.updateTable('drift_items').set({ last_seen: now, email: f.email, person_id: f.person_id }).where('id', '=', id).execute();
        action = existing.action;
      } else {
        id = (
          await trx
            .insertInto('drift_items')
            .values({ system, class: f.class, entitlement: f.entitlement, account_id: f.account_id, login: f.login, email: f.email, person_id: f.person_id, expected: f.expected, action, status: action === 'revoked' ? 'revoking' : 'open', first_seen: now, last_seen: now })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id;
        await appendAudit(trx, { actor: 'system', action: `drift.${f.class}`, subject: f.email ?? f.account_id, entitlement: f.entitlement, reason: `drift:${id}`, result: action, detail: { system, scanId, accountId: f.account_id, expected: f.expected } });
        if (action === 'regranted' && f.person_id) {
          // Gatehouse's record says it is there; the system says not: grant it again.
          await trx.updateTable('grants').set({ status: 'failed', last_error: `missing in ${system}: removed outside Gatehouse (drift ${id})`, updated_at: now }).where('person_id', '=', f.person_id).where('entitlement', '=', f.entitlement).execute();
          await reconcileForDrift(db, deps.boss, f.person_id);
        }
        if (action === 'revoked' && f.person_id) await revokeThroughOrchestrator(db, deps.boss, { id, system, entitlement: f.entitlement, personId: f.person_id, now });
      }
      items.push({ id, system, class: f.class, email: f.email, entitlement: f.entitlement, accountId: f.account_id, expected: f.expected, action });
    }
    // Open items this scan no longer sees were fixed (by hand, or by us); those it did not judge
    // (Gatehouse was changing them) stay as they are until a scan does.
    const seen = items.map((i) => i.id);
    const unseen = await trx
      .selectFrom('drift_items')
      .select(['id', 'person_id', 'entitlement'])
      .where('system', '=', system)
      .where('status', 'in', ['open', 'revoking'])
      .where('id', 'not in', seen.length > 0 ? seen : [-1])
      .execute();
    const busyKeys = new Set(busy.map((b) => `${b.person_id} ${b.resource}`));
    const fixed = unseen.filter((i) => !(i.person_id && busyKeys.has(`${i.person_id} ${resourceOf(i.entitlement)}`))).map((i) => i.id);
    if (fixed.length > 0) await trx.updateTable('drift_items').set({ status: 'resolved', decided_at: now }).where('id', 'in', fixed).execute();
    await trx.updateTable('drift_scans').set({ finished_at: new Date(), memberships, accounts }).where('id', '=', scanId).execute();
    // Keep only this system's latest observations.
    await trx.deleteFrom('drift_scans').where('system', '=', system).where('id', '<', scanId).execute();
    if (items.some((i) => i.action === 'alerted')) await notify(db, deps.boss, { type: 'drift-alert', scanId });
  });
  return { system, scanId, memberships, accounts, items, readMs, compareMs: performance.now() - compareStarted };
}

/** Extra access a person should not have: recorded as held, then the orchestrator revokes what nothing justifies. */
export async function revokeThroughOrchestrator(db: Db, boss: PgBoss, input: { id: number; system: string; entitlement: string; personId: string; now: Date }): Promise<void> {
  await db
    .insertInto('grants')
    .values({ person_id: input.personId, entitlement: input.entitlement, system: input.system, status: 'verified', source: `drift:${input.id}`, updated_at: input.now })
    .onConflict((oc) => oc.columns(['person_id', 'entitlement']).doUpdateSet({ status: 'verified', source: `drift:${input.id}`, updated_at: input.now }))
    .execute();
  await reconcileForDrift(db, boss, input.personId);
}

interface Busy {
  person_id: string;
  resource: string;
}

/**
 * What Gatehouse is changing in `system`, or changed after the scan began reading: a scan reads
 * the system page by page while operations go on, so a membership written after its page was
 * read would look missing (and be granted again), and one revoked after it would look extra.
 * These (person, resource) pairs are not judged by this scan; the next one sees them settled.
 * (Operations' finished_at is the worker's clock; replicas' clocks are assumed in sync.)
 */
async function changingSince(db: Db, system: string, readFrom: Date): Promise<Busy[]> {
  const { rows } = await sql<Busy>`
    select distinct person_id, split_part(entitlement, '#', 1) as resource from operations
     where system = ${system} and (state in ('pending', 'running', 'manual') or finished_at >= ${readFrom})`.execute(db);
  return rows;
}

/**
 * The terminated person an account belongs to, if any: the person Gatehouse linked it to, or
 * whose email or employee id the system shows on it. Such an account is a leaver's, not one
 * "nobody owns", so Keep must not turn it into an exception.
 */
export async function leaverOwningAccount(db: Db, account: { system: string; account_id: string; email: string | null }): Promise<string | null> {
  const { rows } = await sql<{ email: string }>`
    select p.email from people p
     where p.status = 'terminated'
       and (exists (select 1 from accounts a where a.person_id = p.id and a.system = ${account.system} and a.external_id = ${account.account_id})
            or (${account.email}::text is not null and lower(p.email) = lower(${account.email}::text))
            or exists (select 1 from drift_accounts d join drift_scans s on s.id = d.scan_id
                        where s.system = ${account.system} and d.account_id = ${account.account_id} and d.employee_id is not null and d.employee_id = p.employee_id))
     order by p.email limit 1`.execute(db);
  return rows[0]?.email ?? null;
}

/**
 * Exceptions stop hiding what they no longer describe (issue 27). Keep accepts one account or one
 * access as it was when someone looked at it; these end it (ended_at, audited
 * `drift.exception_ended`), so this scan judges the account afresh:
 * - an exception of a person who has left: a leaver has no access, kept or not;
 * - an orphan exception ("Keep" on an account nobody owns) once the account belongs to a person
 *   who has left (linked, or their email or employee id on it: a leaver's account that someone
 *   enabled again), or once the account is seen suspended: what was kept was an active account,
 *   and enabling it again is a new event someone must decide on. (A suspension and re-enabling
 *   both between two scans is not seen; the leaver rule still catches a leaver's account.)
 */
async function endLapsedExceptions(db: Db, input: { system: string; scanId: number; now: Date }): Promise<void> {
  const { system, scanId, now } = input;
  const account = `${system}:account`;
  await db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ id: number; entitlement: string; account_id: string; subject: string | null; why: string }>`
      with leaver_of as (
        select d.account_id, min(p.email) as email
          from drift_accounts d
          join people p on p.status = 'terminated'
           and (exists (select 1 from accounts a where a.person_id = p.id and a.system = ${system} and a.external_id = d.account_id)
                or (d.email is not null and lower(p.email) = d.email)
                or (d.employee_id is not null and p.employee_id = d.employee_id))
         where d.scan_id = ${scanId}
         group by d.account_id
      ),
      lapsed as (
        select x.id, p.email as subject, 'kept for ' || p.email || ', who has left' as why
          from drift_exceptions x join people p on p.id = x.person_id
         where x.system = ${system} and x.ended_at is null and p.status = 'terminated'
        union all
        select x.id, coalesce(d.email, d.account_id),
               case when l.email is not null then 'the account is ' || l.email || '''s, who has left'
                    else 'the account was suspended; the exception kept it while it was active' end
          from drift_exceptions x
          join drift_accounts d on d.scan_id = ${scanId} and d.account_id = x.account_id
          left join leaver_of l on l.account_id = d.account_id
         where x.system = ${system} and x.ended_at is null and x.person_id is null and x.entitlement = ${account}
           and (d.status = 'suspended' or l.email is not null)
      )
      update drift_exceptions x set ended_at = ${now}
        from (select distinct on (id) * from lapsed order by id) l
       where x.id = l.id
      returning x.id, x.entitlement, x.account_id, l.subject, l.why`.execute(trx);
    for (const r of rows) {
      await appendAudit(trx, { actor: 'system', action: 'drift.exception_ended', subject: r.subject ?? r.account_id, entitlement: r.entitlement, reason: `exception:${r.id}`, result: r.why, detail: { system, scanId, accountId: r.account_id } });
    }
  });
}

interface Found {
  class: DriftClass;
  entitlement: string;
  account_id: string;
  login: string | null;
  email: string | null;
  person_id: string | null;
  expected: string | null;
}

/** The set comparison, in SQL: observed members against what Gatehouse holds, less accepted exceptions. */
async function classify(db: Db, input: { system: string; scanId: number; managed: string[]; now: Date; accountsScanned: boolean; busy: Busy[] }): Promise<Found[]> {
  const { system, scanId, managed, now } = input;
  const busyPeople = input.busy.map((b) => b.person_id);
  const busyResources = input.busy.map((b) => b.resource);
  if (managed.length === 0 && !input.accountsScanned) return [];
  // Each side gets one match key (the system's account id when Gatehouse knows the account, else
  // the email), so every comparison is an equality Postgres can hash-join.
  const { rows } = await sql<Found>`
    with busy (person_id, resource) as (
      select * from unnest(${busyPeople}::uuid[], ${busyResources}::text[])
    ),
    expected as (
      select g.entitlement, split_part(g.entitlement, '#', 1) as resource, g.person_id, lower(p.email) as email,
             coalesce(a.external_id, 'email:' || lower(p.email)) as key
        from grants g
        join people p on p.id = g.person_id
        left join accounts a on a.person_id = g.person_id and a.system = g.system
       where g.system = ${system} and g.status in ('verified', 'applied') and g.entitlement = any(${managed}::text[])
         and not exists (select 1 from busy b where b.person_id = g.person_id and b.resource = split_part(g.entitlement, '#', 1))
    ),
    observed as (
      select o.entitlement, split_part(o.entitlement, '#', 1) as resource, o.account_id, o.login, o.email,
             case when acc.person_id is not null then o.account_id else 'email:' || coalesce(o.email, '') end as key,
             coalesce(acc.person_id, pe.id) as person_id, coalesce(lower(pa.email), o.email) as person_email
        from drift_observations o
        left join accounts acc on acc.system = ${system} and acc.external_id = o.account_id
        left join people pa on pa.id = acc.person_id
        left join people pe on acc.person_id is null and lower(pe.email) = o.email
       where o.scan_id = ${scanId}
         and not exists (select 1 from busy b where b.person_id = coalesce(acc.person_id, pe.id) and b.resource = split_part(o.entitlement, '#', 1))
    ),
    excepted as (
      select entitlement, account_id from drift_exceptions
       where system = ${system} and ended_at is null and (expires_at is null or expires_at > ${now})
    ),
    unexpected as (
      select o.* from observed o
        left join expected e on e.entitlement = o.entitlement and e.key = o.key
        left join excepted x on x.entitlement = o.entitlement and x.account_id = o.account_id
       where e.key is null and x.account_id is null
    ),
    level as (
      select u.*, e.entitlement as expected, e.key as expected_key from unexpected u
        join expected e on e.resource = u.resource and e.key = u.key and e.entitlement <> u.entitlement
       where u.entitlement like '%#%'
    )
    select 'level' as class, entitlement, account_id, login, person_email as email, person_id, expected from level
    union all
    select 'extra', u.entitlement, u.account_id, u.login, u.person_email, u.person_id, null from unexpected u
      left join level l on l.entitlement = u.entitlement and l.key = u.key
     where l.key is null
    union all
    select 'missing', e.entitlement, case when e.key like 'email:%' then '' else e.key end, null, e.email, e.person_id, null from expected e
      left join observed o on o.entitlement = e.entitlement and o.key = e.key
      left join level l on l.expected = e.entitlement and l.expected_key = e.key
     where o.key is null and l.key is null
    union all
    select 'orphan', ${`${system}:account`}, d.account_id, d.login, d.email, null, null from drift_accounts d
      left join accounts a on a.system = ${system} and a.external_id = d.account_id
      left join people pa on pa.id = a.person_id and pa.status <> 'terminated'
      left join people pe on pe.status <> 'terminated' and d.email is not null and lower(pe.email) = d.email
      left join people pi on pi.status <> 'terminated' and d.employee_id is not null and pi.employee_id = d.employee_id
      left join excepted x on x.entitlement = ${`${system}:account`} and x.account_id = d.account_id
     where d.scan_id = ${scanId} and d.status <> 'suspended' and pa.id is null and pe.id is null and pi.id is null and x.account_id is null
       and not exists (
         select 1 from busy b join people bp on bp.id = b.person_id
          where b.resource = ${`${system}:account`}
            and (bp.id = a.person_id or (d.email is not null and lower(bp.email) = d.email) or (d.employee_id is not null and bp.employee_id = d.employee_id)))
    order by 1, 2, 3`.execute(db);
  return rows;
}

/** Every managed system that can be scanned, one after another. */
export async function scanAll(deps: DriftDeps, systems?: string[]): Promise<ScanResult[]> {
  const results: ScanResult[] = [];
  for (const system of systems ?? deps.adapters.systems()) results.push(await scanSystem(deps, system));
  return results;
}
