import {
  type AccountRef,
  type Adapter,
  type AdapterDescription,
  AdapterError,
  type AdapterPerson,
  type GrantResult,
  type ObservedGrant,
  type ParsedEntitlement,
  type RevokeResult,
  splitEntitlement,
} from '../types.js';

/** The little of a Postgres client the sandbox needs; `pg.Pool` satisfies it. */
export interface SqlClient {
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

export interface SandboxOptions {
  /** The system this sandbox stands in for: `okta`, `github`, `scim:figma`, … */
  system: string;
  sql: SqlClient;
  /** Page size of list calls; small values exercise pagination. */
  pageSize?: number;
  /**
   * How long a call the faults time out takes before it fails, as a client's request timeout
   * would: benchmarks see the worker time a hung vendor really costs. Default 1000.
   */
  timeoutMs?: number;
  /**
   * Defaults describe a generous vendor that takes any well-formed entitlement; pass the live
   * connector's entitlement types to refuse what the real system would (a GitHub repo level
   * that does not exist).
   */
  description?: Partial<Omit<AdapterDescription, 'system' | 'mode'>>;
}

/** Without entitlement types: the types whose levels are exclusive (one repo role at a time). */
const RANKED = /^(github:(repo|team)|gitlab:(group|project)):/;

type FaultKind = '429' | '5xx' | 'timeout' | 'auth' | '404';

interface FaultRow {
  latency_ms: number;
  rate_429: number;
  retry_after_ms: number;
  rate_5xx: number;
  rate_timeout: number;
  auth_failing: boolean;
  fail_next: FaultKind | null;
}

export interface FaultSettings {
  latencyMs?: number;
  rate429?: number;
  retryAfterMs?: number;
  rate5xx?: number;
  rateTimeout?: number;
  authFailing?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sets a sandboxed system's faults, for every process using the same database: latency, shares
 * of 429 (with Retry-After), 5xx and timeouts, and a failing credential. It replaces the whole
 * configuration, so it also clears pending "fail next" faults.
 */
export async function setSandboxFaults(sql: SqlClient, system: string, faults: FaultSettings): Promise<void> {
  await sql.query(
    `insert into sandbox_faults (system, latency_ms, rate_429, retry_after_ms, rate_5xx, rate_timeout, auth_failing)
     values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (system) do update set latency_ms = $2, rate_429 = $3, retry_after_ms = $4, rate_5xx = $5, rate_timeout = $6, auth_failing = $7, fail_next = null, fail_next_count = 0`,
    [system, faults.latencyMs ?? 0, faults.rate429 ?? 0, faults.retryAfterMs ?? 1000, faults.rate5xx ?? 0, faults.rateTimeout ?? 0, faults.authFailing ?? false],
  );
}

/** Makes the next `count` calls to a sandboxed system fail with `kind` (deterministic, for tests). */
export async function failNextSandboxCalls(sql: SqlClient, system: string, kind: FaultKind, count = 1): Promise<void> {
  await sql.query(
    `insert into sandbox_faults (system, fail_next, fail_next_count) values ($1, $2, $3)
     on conflict (system) do update set fail_next = $2, fail_next_count = $3`,
    [system, kind, count],
  );
}

/** How many changes were made to each grant: the soak's proof of no duplicated side effects. */
export async function sandboxWriteCounts(sql: SqlClient, system?: string): Promise<{ system: string; account_id: string; entitlement: string; op: string; count: number }[]> {
  const { rows } = await sql.query<{ system: string; account_id: string; entitlement: string; op: string; count: number }>(
    `select system, account_id, entitlement, op, count from sandbox_writes ${system ? 'where system = $1' : ''} order by system, account_id, entitlement, op`,
    system ? [system] : [],
  );
  return rows;
}

interface AccountRow {
  id: string;
  employee_id: string | null;
  email: string;
  login: string | null;
  status: 'active' | 'suspended' | 'pending';
}

/**
 * The reference adapter: a target system kept in Postgres. Used for every system without
 * credentials, by the demo, and by tests and benchmarks, which can make it slow or failing.
 */
export function createSandboxAdapter(options: SandboxOptions): Adapter & { readonly sql: SqlClient } {
  const { system, sql } = options;
  const pageSize = options.pageSize ?? 100;
  const timeoutMs = options.timeoutMs ?? 1000;

  const toRef = (row: AccountRow): AccountRef => ({ system, id: row.id, login: row.login, email: row.email, employeeId: row.employee_id, status: row.status });

  /** Applies the configured faults: latency first, then at most one failure. */
  async function weather(operation: string): Promise<void> {
    // The CTE takes one of the "fail next" tokens atomically, so concurrent callers fail exactly
    // as many times as asked.
    const { rows } = await sql.query<FaultRow>(
      `with hit as (
         update sandbox_faults set fail_next_count = fail_next_count - 1
          where system = $1 and fail_next_count > 0 returning fail_next)
       select latency_ms, rate_429, retry_after_ms, rate_5xx, rate_timeout, auth_failing, (select fail_next from hit) as fail_next
         from sandbox_faults where system = $1`,
      [system],
    );
    const f = rows[0];
    if (!f) return;
    if (f.latency_ms > 0) await sleep(f.latency_ms);
    const roll = Math.random();
    const kind: FaultKind | null =
      f.fail_next ?? (f.auth_failing ? 'auth' : roll < f.rate_429 ? '429' : roll < f.rate_429 + f.rate_5xx ? '5xx' : roll < f.rate_429 + f.rate_5xx + f.rate_timeout ? 'timeout' : null);
    if (kind === null) return;
    const where = `sandbox ${system}: ${operation}`;
    if (kind === '404') throw new AdapterError(`${where}: not found (404)`, { kind: 'permanent', system, status: 404 });
    if (kind === '429') {
      throw new AdapterError(`${where} was rate limited (429); retry after ${f.retry_after_ms} ms`, { kind: 'retryable', system, status: 429, retryAfterMs: f.retry_after_ms, rateLimited: true, requestId: `sbx-${Date.now()}` });
    }
    if (kind === '5xx') throw new AdapterError(`${where} failed with 503 Service Unavailable; retry later`, { kind: 'retryable', system, status: 503 });
    if (kind === 'timeout') {
      await sleep(timeoutMs);
      throw new AdapterError(`${where} timed out after ${timeoutMs} ms; retry later`, { kind: 'retryable', system });
    }
    throw new AdapterError(`${where} was refused (401): the sandbox credential is failing; fix the credential`, { kind: 'auth', system, status: 401 });
  }

  async function countWrite(accountId: string, entitlement: string, op: string): Promise<void> {
    await sql.query(
      `insert into sandbox_writes (system, account_id, entitlement, op, count) values ($1, $2, $3, $4, 1)
       on conflict (system, account_id, entitlement, op) do update set count = sandbox_writes.count + 1`,
      [system, accountId, entitlement, op],
    );
  }

  const entitlementTypes = options.description?.entitlementTypes ?? [];

  function parseEntitlement(entitlement: string): ParsedEntitlement {
    const parsed = splitEntitlement(entitlement, system);
    const fail = (why: string) => new AdapterError(`"${entitlement}" is not a valid ${system} entitlement: ${why}`, { kind: 'permanent', system });
    if (parsed.type === 'account') {
      if (parsed.resource !== null || parsed.level !== null) throw fail(`${system}:account takes no resource or level`);
      return parsed;
    }
    if (parsed.resource === null) throw fail(`${system}:${parsed.type} needs a resource after "${system}:${parsed.type}:"`);
    if (parsed.level !== null && !/^[A-Za-z0-9+=,.@_ -]+$/.test(parsed.level)) throw fail(`"${parsed.level}" is not a level name`);
    if (entitlementTypes.length === 0) return parsed;
    const type = entitlementTypes.find((t) => t.type === parsed.type);
    if (!type) throw fail(`${system} has no type "${parsed.type}"; it has ${entitlementTypes.map((t) => t.type).join(', ')}`);
    if (type.levels === null && parsed.level !== null) throw fail(`${system}:${type.type} has no levels; drop "#${parsed.level}"`);
    if (Array.isArray(type.levels) && parsed.level !== null && !type.levels.includes(parsed.level)) {
      throw fail(`"${parsed.level}" is not a ${system} ${type.type} level; the levels are ${type.levels.join(', ')}`);
    }
    return parsed;
  }

  /** A grant names a resource; the account is ensureAccount's and suspendAccount's. */
  function parseGrantable(entitlement: string): ParsedEntitlement {
    const parsed = parseEntitlement(entitlement);
    if (parsed.type === 'account') {
      throw new AdapterError(`"${entitlement}" is the account itself: use ensureAccount/suspendAccount, not grant/revoke`, { kind: 'permanent', system });
    }
    return parsed;
  }

  const isRanked = (parsed: ParsedEntitlement) =>
    parsed.level !== null && (entitlementTypes.length > 0 ? Boolean(entitlementTypes.find((t) => t.type === parsed.type)?.ranked) : RANKED.test(parsed.uri));

  async function accountExists(account: AccountRef): Promise<void> {
    const { rows } = await sql.query('select 1 from sandbox_accounts where system = $1 and id = $2', [system, account.id]);
    if (rows.length === 0) throw new AdapterError(`sandbox ${system}: account ${account.id} does not exist; ensure the account first`, { kind: 'permanent', system, status: 404 });
  }

  const description: AdapterDescription = {
    system,
    displayName: options.description?.displayName ?? `${system} (sandbox)`,
    mode: 'sandbox',
    entitlementTypes,
    defaultRateLimit: options.description?.defaultRateLimit ?? { requestsPerMinute: 6000 },
    dependsOn: options.description?.dependsOn ?? [],
    supports: options.description?.supports ?? { deleteAccount: true, listMembers: true, listAccounts: true, expiringGrants: true },
  };

  const adapter = {
    system,
    sql,
    describe: () => description,
    parseEntitlement,

    async findAccount(person: AdapterPerson): Promise<AccountRef | null> {
      await weather('find account');
      const { rows } = await sql.query<AccountRow & { by_id: boolean }>(
        `select id, employee_id, email, login, status, (employee_id = $2) as by_id from sandbox_accounts
          where system = $1 and (employee_id = $2 or lower(email) = lower($3))
          order by (employee_id = $2) desc nulls last limit 1`,
        [system, person.employeeId, person.email],
      );
      return rows[0] ? toRef(rows[0]) : null;
    },

    async ensureAccount(person: AdapterPerson) {
      await weather('ensure account');
      const login = person.email.split('@')[0]!;
      const display = person.displayName ?? ([person.firstName, person.lastName].filter(Boolean).join(' ') || person.email);
      // One statement: concurrent ensures of the same person converge on one row.
      const { rows } = await sql.query<AccountRow & { inserted: boolean; was: string | null }>(
        `with existing as (
           select id, status from sandbox_accounts where system = $1 and (employee_id = $2 or lower(email) = lower($3))
           order by (employee_id = $2) desc nulls last limit 1
         ), reactivated as (
           update sandbox_accounts a set status = 'active', employee_id = coalesce(a.employee_id, $2), updated_at = now()
             from existing e where a.system = $1 and a.id = e.id
           returning a.id, a.employee_id, a.email, a.login, a.status, false as inserted, e.status as was
         ), inserted as (
           insert into sandbox_accounts (system, employee_id, email, login, display_name, status)
           select $1, $2, $3, $4, $5, 'active' where not exists (select 1 from existing)
           on conflict do nothing
           returning id, employee_id, email, login, status, true as inserted, null::text as was
         )
         select * from reactivated union all select * from inserted`,
        [system, person.employeeId, person.email, login, display],
      );
      let row = rows[0];
      if (!row) {
        // Lost a race with a concurrent insert: the account exists now.
        const again = await adapter.findAccount(person);
        if (!again) throw new AdapterError(`sandbox ${system}: could not create or find ${person.email}`, { kind: 'retryable', system });
        return { account: again, outcome: 'already_present' as const };
      }
      const changed = row.inserted || row.was !== 'active';
      if (changed) await countWrite(row.id, `${system}:account`, row.inserted ? 'create' : 'reactivate');
      row = { ...row, status: 'active' };
      return { account: toRef(row), outcome: changed ? ('applied' as const) : ('already_present' as const) };
    },

    async suspendAccount(account: AccountRef): Promise<RevokeResult> {
      await weather('suspend account');
      const { rowCount } = await sql.query(`update sandbox_accounts set status = 'suspended', updated_at = now() where system = $1 and id = $2 and status <> 'suspended'`, [system, account.id]);
      if (rowCount) await countWrite(account.id, `${system}:account`, 'suspend');
      return { outcome: rowCount ? 'applied' : 'already_absent' };
    },

    async deleteAccount(account: AccountRef): Promise<RevokeResult> {
      await weather('delete account');
      const { rowCount } = await sql.query('delete from sandbox_accounts where system = $1 and id = $2', [system, account.id]);
      if (rowCount) await countWrite(account.id, `${system}:account`, 'delete');
      return { outcome: rowCount ? 'applied' : 'already_absent' };
    },

    async grant(account: AccountRef, entitlement: string, grantOptions: { expiresAt?: string | null } = {}): Promise<GrantResult> {
      const parsed = parseGrantable(entitlement);
      await weather(`grant ${entitlement}`);
      await accountExists(account);
      // A ranked level replaces any other level of the same resource (a repo has one permission).
      const base = entitlement.includes('#') ? entitlement.slice(0, entitlement.indexOf('#')) : entitlement;
      if (isRanked(parsed)) {
        await sql.query(`delete from sandbox_grants where system = $1 and account_id = $2 and entitlement like $3 and entitlement <> $4`, [
          system,
          account.id,
          `${base.replace(/[\\%_]/g, '\\$&')}#%`,
          entitlement,
        ]);
      }
      const { rowCount } = await sql.query(
        `insert into sandbox_grants (system, account_id, entitlement, state, expires_at) values ($1, $2, $3, 'active', $4)
         on conflict (system, account_id, entitlement) do nothing`,
        [system, account.id, entitlement, grantOptions.expiresAt ?? null],
      );
      if (rowCount) await countWrite(account.id, entitlement, 'grant');
      return { outcome: rowCount ? 'applied' : 'already_present', state: 'active' };
    },

    async revoke(account: AccountRef, entitlement: string): Promise<RevokeResult> {
      parseGrantable(entitlement);
      try {
        await weather(`revoke ${entitlement}`);
      } catch (error) {
        // A vendor answering 404 to a revoke means the grant (or the account) is already gone.
        if (error instanceof AdapterError && error.status === 404) return { outcome: 'already_absent' };
        throw error;
      }
      const { rowCount } = await sql.query('delete from sandbox_grants where system = $1 and account_id = $2 and entitlement = $3', [system, account.id, entitlement]);
      if (rowCount) await countWrite(account.id, entitlement, 'revoke');
      return { outcome: rowCount ? 'applied' : 'already_absent' };
    },

    async *listGrants(account: AccountRef): AsyncIterable<ObservedGrant> {
      let after = '';
      for (;;) {
        await weather('list grants');
        const { rows } = await sql.query<{ entitlement: string; state: 'active' | 'pending'; expires_at: Date | null }>(
          `select entitlement, state, expires_at from sandbox_grants where system = $1 and account_id = $2 and entitlement collate "C" > $3
            order by entitlement collate "C" limit $4`,
          [system, account.id, after, pageSize],
        );
        for (const row of rows) yield { entitlement: row.entitlement, state: row.state, expiresAt: row.expires_at ? row.expires_at.toISOString() : null };
        if (rows.length < pageSize) return;
        after = rows.at(-1)!.entitlement;
      }
    },

    async *listMembers(entitlement: string): AsyncIterable<AccountRef> {
      parseGrantable(entitlement);
      let after = '';
      for (;;) {
        await weather(`list members of ${entitlement}`);
        const { rows } = await sql.query<AccountRow>(
          `select a.id, a.employee_id, a.email, a.login, a.status from sandbox_grants g
             join sandbox_accounts a on a.system = g.system and a.id = g.account_id
            where g.system = $1 and g.entitlement = $2 and a.id collate "C" > $3 order by a.id collate "C" limit $4`,
          [system, entitlement, after, pageSize],
        );
        for (const row of rows) yield toRef(row);
        if (rows.length < pageSize) return;
        after = rows.at(-1)!.id;
      }
    },

    async *listAccounts(): AsyncIterable<AccountRef> {
      let after = '';
      for (;;) {
        await weather('list accounts');
        const { rows } = await sql.query<AccountRow>(
          `select id, employee_id, email, login, status from sandbox_accounts where system = $1 and id collate "C" > $2 order by id collate "C" limit $3`,
          [system, after, pageSize],
        );
        for (const row of rows) yield toRef(row);
        if (rows.length < pageSize) return;
        after = rows.at(-1)!.id;
      }
    },
  };
  return adapter;
}
