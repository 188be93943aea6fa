/**
 * The conformance suite every adapter must pass, as kysely runs one suite over every dialect.
 * It asserts round trips through the adapter (grant → read back → grant again → revoke → read
 * back), not that some HTTP call was made. Each adapter's test file calls it with a harness that
 * stands up the vendor (the sandbox's Postgres, or nock fixtures of the vendor's API).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AccountRef, type Adapter, AdapterError, type AdapterPerson, type GrantResult, type RevokeResult } from './types.js';

export type InjectedFault = '429' | '5xx' | 'timeout' | '401' | '403' | '404-on-revoke';

export interface ConformanceHarness {
  /** A fresh adapter over a clean vendor state. */
  setup(): Promise<{ adapter: Adapter; teardown?: () => Promise<void> }>;
  /**
   * Entitlements of this system that can be granted to one account: at least 7, so that with
   * `pageSize` ≤ 3 the read-back spans 3 or more pages.
   */
  entitlements: string[];
  /** Something that looks like an entitlement of this system but is not valid. */
  invalidEntitlement: string;
  /** False for vendors that send no Retry-After (AWS): the 429 test then expects none. Default true. */
  retryAfterFromVendor?: boolean;
  /**
   * Makes the vendor answer the adapter's next call with this failure. A `timeout` must be a
   * vendor that really does not answer in time (a delayed response), so that the adapter's own
   * request timeout is what ends the call.
   */
  inject(adapter: Adapter, fault: InjectedFault, options: { retryAfterMs: number }): Promise<void>;
  /** How many requests the vendor has received, to prove that refused input sent none. */
  vendorCalls?(): number;
}

/** Longest a timed-out call may take: the harness's vendor stalls for longer than this. */
export const TIMEOUT_BOUND_MS = 2_000;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function failure(promise: Promise<unknown>): Promise<AdapterError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AdapterError);
    return error as AdapterError;
  }
  throw new Error('expected the call to fail');
}

const people = {
  ascii: { employeeId: 'emp_1001', email: 'sarah.chen@company.com', firstName: 'Sarah', lastName: 'Chen', handles: { github: 'sarahchen' } },
  nonAscii: { employeeId: 'emp_1002', email: 'zoe.angstrom@company.com', firstName: 'Zoë', lastName: 'Ångström-Ñúñez', handles: { github: 'zoe-a' } },
  singleWord: { employeeId: 'emp_1003', email: 'madonna@company.com', firstName: 'Madonna', lastName: null, handles: { github: 'madonna' } },
} satisfies Record<string, AdapterPerson>;

/** An account the person can use: present and not suspended. */
const usable = (account: AccountRef | null) => account !== null && account.status !== 'suspended';

export function defineAdapterConformance(name: string, harness: ConformanceHarness): void {
  describe(`adapter conformance: ${name}`, () => {
    async function withAdapter(fn: (adapter: Adapter) => Promise<void>): Promise<void> {
      const { adapter, teardown } = await harness.setup();
      try {
        await fn(adapter);
      } finally {
        await teardown?.();
      }
    }

    /** The verification read: the person's grants, or (without listGrants) a check per entitlement. */
    const grants = async (adapter: Adapter, account: AccountRef) => {
      if (adapter.listGrants) return (await collect(adapter.listGrants(account))).map((g) => g.entitlement).sort();
      const held: string[] = [];
      for (const e of harness.entitlements) if (await adapter.checkGrant!(account, e)) held.push(e);
      return held.sort();
    };

    /**
     * A grant the system carries out asynchronously is followed through checkProgress, as the
     * orchestrator does: bounded re-checks, with `advance` standing in for the vendor's time.
     */
    const settled = async (adapter: Adapter, result: GrantResult): Promise<GrantResult> => {
      if (result.state !== 'in_progress') return result;
      expect(adapter.checkProgress).toBeDefined();
      expect(result.reference).toEqual(expect.any(String));
      expect(result.checkAfterMs).toBeGreaterThan(0);
      for (let check = 0; check < 5; check++) {
        if ((await adapter.checkProgress!(result.reference!)).state === 'done') return { ...result, state: 'active' };
      }
      throw new Error(`${adapter.system}: ${result.reference} still in progress after 5 checks`);
    };
    const revoked = async (adapter: Adapter, result: RevokeResult): Promise<RevokeResult> => {
      if (result.state === 'in_progress') await settled(adapter, { outcome: 'applied', state: 'in_progress', reference: result.reference, checkAfterMs: result.checkAfterMs });
      return { outcome: result.outcome };
    };

    it('can verify a write by reading it back', () =>
      withAdapter(async (adapter) => {
        expect(Boolean(adapter.listGrants || adapter.checkGrant)).toBe(true);
      }));

    it('describes itself, and what it says it supports is what it implements', () =>
      withAdapter(async (adapter) => {
        const d = adapter.describe();
        expect(d.system).toBe(adapter.system);
        expect(d.defaultRateLimit.requestsPerMinute).toBeGreaterThan(0);
        expect(Array.isArray(d.dependsOn)).toBe(true);
        expect(d.supports).toMatchObject({ deleteAccount: Boolean(adapter.deleteAccount), listMembers: Boolean(adapter.listMembers), listAccounts: Boolean(adapter.listAccounts) });
        for (const e of harness.entitlements) expect(d.entitlementTypes.map((t) => t.type)).toContain(adapter.parseEntitlement(e).type);
      }));

    it('parses its entitlements into parts that put them back together, and refuses anything else with a permanent error quoting it', () =>
      withAdapter(async (adapter) => {
        const join = (p: { system: string; type: string; resource: string | null; level: string | null }) =>
          `${p.system}:${p.type}${p.resource === null ? '' : `:${p.resource}`}${p.level === null ? '' : `#${p.level}`}`;
        for (const e of harness.entitlements) {
          const parsed = adapter.parseEntitlement(e);
          expect(parsed).toMatchObject({ uri: e, system: adapter.system });
          expect(join(parsed)).toBe(e);
        }
        const valid = fc.constantFrom(...harness.entitlements);
        const mangled = fc.oneof(
          fc.string(),
          fc.tuple(valid, fc.string({ minLength: 1 })).map(([e, junk]) => e + junk),
          fc.tuple(valid, fc.nat()).map(([e, cut]) => e.slice(0, cut % e.length)),
          fc.tuple(valid, fc.constantFrom(' ', '#', ':', '\n', '\u00a0'), fc.nat()).map(([e, c, at]) => e.slice(0, at % e.length) + c + e.slice(at % e.length)),
          fc.constant(harness.invalidEntitlement),
        );
        fc.assert(
          fc.property(mangled, (uri) => {
            let parsed;
            try {
              parsed = adapter.parseEntitlement(uri);
            } catch (error) {
              // Refused: one permanent AdapterError that quotes what it refused.
              return error instanceof AdapterError && error.kind === 'permanent' && error.message.includes(uri);
            }
            // Accepted (a mangling can still be valid): then it belongs here and round-trips.
            return parsed.uri === uri && parsed.system === adapter.system && join(parsed) === uri && uri.trim() === uri;
          }),
        );
      }));

    it('ensureAccount is idempotent and findAccount finds the account it made', () =>
      withAdapter(async (adapter) => {
        expect(usable(await adapter.findAccount(people.ascii))).toBe(false);
        const first = await adapter.ensureAccount(people.ascii);
        expect(first.outcome).toBe('applied');
        // Active at once, or pending where the system invites (GitHub) until the person accepts.
        expect(['active', 'pending']).toContain(first.account.status);
        const second = await adapter.ensureAccount(people.ascii);
        expect(second).toEqual({ account: first.account, outcome: 'already_present' });
        expect((await adapter.findAccount(people.ascii))?.id).toBe(first.account.id);
      }));

    it('handles non-ASCII and single-word names', () =>
      withAdapter(async (adapter) => {
        for (const person of [people.nonAscii, people.singleWord]) {
          const { account, outcome } = await adapter.ensureAccount(person);
          expect(outcome).toBe('applied');
          expect((await adapter.findAccount(person))?.id).toBe(account.id);
        }
      }));

    it('grant → read back → grant again is already_present → revoke → gone → revoke again is already_absent', () =>
      withAdapter(async (adapter) => {
        const { account } = await adapter.ensureAccount(people.ascii);
        const [entitlement] = harness.entitlements;
        expect(await settled(adapter, await adapter.grant(account, entitlement!))).toMatchObject({ outcome: 'applied' });
        expect(await grants(adapter, account)).toContain(entitlement);
        expect(await adapter.grant(account, entitlement!)).toMatchObject({ outcome: 'already_present' });
        expect(await revoked(adapter, await adapter.revoke(account, entitlement!))).toEqual({ outcome: 'applied' });
        expect(await grants(adapter, account)).not.toContain(entitlement);
        expect(await adapter.revoke(account, entitlement!)).toEqual({ outcome: 'already_absent' });
      }));

    it('reads back every grant across 3 or more pages', () =>
      withAdapter(async (adapter) => {
        expect(harness.entitlements.length).toBeGreaterThanOrEqual(7);
        if (adapter.listGrants) {
          const { account } = await adapter.ensureAccount(people.ascii);
          for (const e of harness.entitlements) await settled(adapter, await adapter.grant(account, e));
          expect(await grants(adapter, account)).toEqual([...harness.entitlements].sort());
          return;
        }
        // Without a per-person listing, pagination is exercised where the system lists: members.
        expect(adapter.listMembers).toBeDefined();
        const entitlement = harness.entitlements[0]!;
        const emails: string[] = [];
        for (let i = 0; i < 7; i++) {
          const person = { employeeId: `emp_p${i}`, email: `page${i}@company.com`, firstName: 'Page', lastName: String(i), handles: { [adapter.system]: `page-${i}` } };
          const { account } = await adapter.ensureAccount(person);
          await settled(adapter, await adapter.grant(account, entitlement));
          emails.push(account.login ?? account.email ?? account.id);
        }
        const members = (await collect(adapter.listMembers!(entitlement))).map((m) => m.login ?? m.email ?? m.id);
        expect(members.sort()).toEqual(emails.sort());
      }));

    it('suspendAccount is idempotent', () =>
      withAdapter(async (adapter) => {
        const { account } = await adapter.ensureAccount(people.ascii);
        expect(await adapter.suspendAccount(account)).toEqual({ outcome: 'applied' });
        expect(await adapter.suspendAccount(account)).toEqual({ outcome: 'already_absent' });
        // Suspended, or gone where removal is how a system suspends (GitHub org membership).
        expect(usable(await adapter.findAccount(people.ascii))).toBe(false);
      }));

    it('deleteAccount, where there is one, is idempotent and leaves no usable account', () =>
      withAdapter(async (adapter) => {
        if (!adapter.deleteAccount) return;
        const { account } = await adapter.ensureAccount(people.ascii);
        expect(await adapter.deleteAccount(account)).toEqual({ outcome: 'applied' });
        expect(await adapter.deleteAccount(account)).toEqual({ outcome: 'already_absent' });
        expect(usable(await adapter.findAccount(people.ascii))).toBe(false);
      }));

    it('an invalid entitlement is a permanent error, before any call to the vendor', () =>
      withAdapter(async (adapter) => {
        const { account } = await adapter.ensureAccount(people.ascii);
        const before = harness.vendorCalls?.();
        for (const call of [() => adapter.grant(account, harness.invalidEntitlement), () => adapter.revoke(account, harness.invalidEntitlement)]) {
          const error = await failure(call());
          expect(error.kind).toBe('permanent');
          expect(error.message).toContain(harness.invalidEntitlement);
        }
        expect(harness.vendorCalls?.()).toBe(before);
      }));

    it('429 is retryable, with retryAfterMs from the vendor', () =>
      withAdapter(async (adapter) => {
        const { account } = await adapter.ensureAccount(people.ascii);
        await harness.inject(adapter, '429', { retryAfterMs: 7000 });
        const error = await failure(adapter.grant(account, harness.entitlements[0]!));
        expect(error).toMatchObject({ kind: 'retryable', rateLimited: true, system: adapter.system });
        expect(error.retryAfterMs).toBe(harness.retryAfterFromVendor === false ? undefined : 7000);
      }));

    it('5xx and timeouts are retryable', () =>
      withAdapter(async (adapter) => {
        const { account } = await adapter.ensureAccount(people.ascii);
        for (const fault of ['5xx', 'timeout'] as const) {
          await harness.inject(adapter, fault, { retryAfterMs: 0 });
          const started = Date.now();
          expect((await failure(adapter.grant(account, harness.entitlements[0]!))).kind).toBe('retryable');
          // The adapter's own request timeout ended the call, not the stalled vendor.
          expect(Date.now() - started).toBeLessThan(TIMEOUT_BOUND_MS);
        }
        // After the faults, the same call goes through.
        expect((await settled(adapter, await adapter.grant(account, harness.entitlements[0]!))).outcome).toBe('applied');
      }));

    it('401 and 403 are auth errors', () =>
      withAdapter(async (adapter) => {
        const { account } = await adapter.ensureAccount(people.ascii);
        for (const fault of ['401', '403'] as const) {
          await harness.inject(adapter, fault, { retryAfterMs: 0 });
          expect((await failure(adapter.grant(account, harness.entitlements[0]!))).kind).toBe('auth');
        }
      }));

    it('a 404 on revoke means already absent', () =>
      withAdapter(async (adapter) => {
        const { account } = await adapter.ensureAccount(people.ascii);
        await settled(adapter, await adapter.grant(account, harness.entitlements[0]!));
        await harness.inject(adapter, '404-on-revoke', { retryAfterMs: 0 });
        expect(await adapter.revoke(account, harness.entitlements[0]!)).toEqual({ outcome: 'already_absent' });
      }));
  });
}
