import type { AccountRef, Adapter, AdapterError, GrantResult } from '../../adapters/types.js';
import type { AdapterRegistry } from '../../src/orchestrator/adapter-registry.js';

/**
 * A scriptable faulty adapter: the real sandbox adapter of a system behind a script of what goes
 * wrong, for the behaviours the sandbox's fault table cannot express (writes that take a while to
 * show, writes that never show, asynchronous writes, a crash between the write and its record).
 */
export interface Script {
  /** Only this person's calls (by email) follow the script; everyone else's go straight through. */
  target?: string;
  /** Errors thrown by the next writes (grant/revoke/ensure/suspend), in order, before they happen. */
  failWrites?: AdapterError[];
  /** The next n verification reads (checkGrant/listGrants) do not show the write yet. */
  hiddenReads?: number;
  /** Grants are carried out asynchronously: checkProgress says in_progress this many times first. */
  inProgressChecks?: number;
  /** Called after a write reached the system, before the adapter returns (a crash goes here). */
  afterWrite?: (entitlement: string) => void | Promise<void>;
  /** Timestamps of every write attempt (including refused ones), for the tests' clocks. */
  writes: { at: number; entitlement: string; refused: boolean }[];
  reads: { at: number; entitlement: string }[];
}

export function scripted(inner: Adapter, script: Script): Adapter {
  let progressLeft = new Map<string, number>();
  const targeted = (email: string | null | undefined) => script.target === undefined || email === script.target;
  const beforeWrite = (entitlement: string, email: string | null | undefined) => {
    if (!targeted(email)) return;
    const error = script.failWrites?.shift();
    script.writes.push({ at: Date.now(), entitlement, refused: Boolean(error) });
    if (error) throw error;
  };
  const wrapped: Adapter = {
    system: inner.system,
    describe: () => inner.describe(),
    parseEntitlement: (e) => inner.parseEntitlement(e),
    findAccount: (p) => inner.findAccount(p),
    async ensureAccount(person) {
      beforeWrite(`${inner.system}:account`, person.email);
      const result = await inner.ensureAccount(person);
      await script.afterWrite?.(`${inner.system}:account`);
      return result;
    },
    async suspendAccount(account) {
      beforeWrite(`${inner.system}:account`, account.email);
      return inner.suspendAccount(account);
    },
    async grant(account, entitlement, options): Promise<GrantResult> {
      beforeWrite(entitlement, account.email);
      const result = await inner.grant(account, entitlement, options);
      await script.afterWrite?.(entitlement);
      if (script.inProgressChecks !== undefined && targeted(account.email)) {
        const reference = `req-${script.writes.length}`;
        progressLeft.set(reference, script.inProgressChecks);
        return { outcome: result.outcome, state: 'in_progress', reference, checkAfterMs: 100 };
      }
      return result;
    },
    async revoke(account, entitlement) {
      beforeWrite(entitlement, account.email);
      return inner.revoke(account, entitlement);
    },
    async checkProgress(reference) {
      const left = progressLeft.get(reference) ?? 0;
      if (left > 0) {
        progressLeft.set(reference, left - 1);
        return { state: 'in_progress', checkAfterMs: 100 };
      }
      return { state: 'done' };
    },
    async checkGrant(account: AccountRef, entitlement: string) {
      if (targeted(account.email)) script.reads.push({ at: Date.now(), entitlement });
      if (targeted(account.email) && (script.hiddenReads ?? 0) > 0) {
        script.hiddenReads! -= 1;
        return null;
      }
      for await (const g of inner.listGrants!(account)) if (g.entitlement === entitlement) return g;
      return null;
    },
  };
  progressLeft = new Map();
  return wrapped;
}

/** The registry with one system's adapter replaced by its scripted version. */
export function withScripted(registry: AdapterRegistry, system: string, script: Script): AdapterRegistry {
  const adapter = scripted(registry.get(system), script);
  return { ...registry, get: (s) => (s === system ? adapter : registry.get(s)) };
}
