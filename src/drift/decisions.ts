import { transact } from '../db/transact.js';
import type { PgBoss } from 'pg-boss';
import { appendAudit } from '../audit/append-audit.js';
import type { Db } from '../db/database.js';
import type { AdapterRegistry } from '../orchestrator/adapter-registry.js';
import { notify } from '../orchestrator/notifications.js';
import { reconcileLater } from '../requests/service.js';
import type { Authorization } from '../orchestrator/authorize-decider.js';
import { authorizeDriftDecision } from './authorize-drift-decision.js';
import { leaverOwningAccount, revokeThroughOrchestrator } from './scan.js';

export type DriftDecision = { ok: true; message: string } | { ok: false; message: string };

/**
 * "Revoke" on a drift item. Access of a known person goes through the orchestrator (recorded as
 * held, then revoked as nothing justifies it, verified, audited); an account nobody in the HRIS
 * owns is suspended through its adapter directly, and read back. Once decided, a second click
 * changes nothing. Only IT or the system's owners decide, never the person concerned
 * (authorizeDriftDecision).
 */
export async function revokeDriftItem(deps: { db: Db; boss: PgBoss; adapters: AdapterRegistry; authz: Authorization }, itemId: number, actor: string): Promise<DriftDecision> {
  const allowed = await authorizeDriftDecision(deps, { itemId, actor, decision: 'revoke' });
  if (!allowed.ok) return allowed;
  const item = allowed.item;
  if (item.status !== 'open') return { ok: false, message: `Drift item #${itemId} is already ${item.status}${item.decided_by ? ` (by ${item.decided_by.replace(/^slack:/, '<@')}${item.decided_by.startsWith('slack:') ? '>' : ''})` : ''}; nothing changed.` };
  if (item.class === 'missing') return { ok: false, message: `Drift item #${itemId} is access Gatehouse grants again by itself; there is nothing to revoke.` };
  const now = new Date();
  if (item.person_id) {
    const target = item.class === 'level' && item.expected ? item.entitlement : item.entitlement;
    await transact(deps.db, async (trx) => {
      await trx.updateTable('drift_items').set({ status: 'revoking', decided_by: actor, decided_at: now }).where('id', '=', itemId).execute();
      if (item.class === 'orphan') {
        // A person who should have no account here: their reconcile suspends it.
        await trx
          .insertInto('grants')
          .values({ person_id: item.person_id!, entitlement: item.entitlement, system: item.system, status: 'verified', source: `drift:${itemId}`, updated_at: now })
          .onConflict((oc) => oc.columns(['person_id', 'entitlement']).doUpdateSet({ status: 'verified', updated_at: now }))
          .execute();
      }
      await revokeThroughOrchestrator(trx as unknown as Db, deps.boss, { id: itemId, system: item.system, entitlement: target, personId: item.person_id!, now });
      await appendAudit(trx, { actor, action: 'drift.revoke', subject: item.email ?? item.account_id, entitlement: item.entitlement, reason: `drift:${itemId}`, result: 'through the orchestrator' });
    });
    return { ok: true, message: `Revoking \`${item.entitlement}\` from ${item.email ?? item.account_id}; the run summary will confirm it.` };
  }
  const adapter = deps.adapters.get(item.system);
  const account = { system: item.system, id: item.account_id, login: item.login, email: item.email, status: 'active' as const };
  if (item.class === 'orphan') await adapter.suspendAccount(account);
  else await adapter.revoke(account, item.entitlement);
  // Read back: "200 OK is not done".
  const still = item.class === 'orphan' ? (await adapter.findAccount({ employeeId: '', email: item.email ?? '' }))?.status === 'active' && Boolean(item.email) : adapter.checkGrant ? Boolean(await adapter.checkGrant(account, item.entitlement)) : false;
  await transact(deps.db, async (trx) => {
    await trx.updateTable('drift_items').set({ status: still ? 'open' : 'resolved', decided_by: actor, decided_at: now }).where('id', '=', itemId).execute();
    await appendAudit(trx, { actor, action: 'drift.revoke', subject: item.email ?? item.account_id, entitlement: item.entitlement, reason: `drift:${itemId}`, result: still ? 'still present after revoking' : 'revoked and verified' });
  });
  return still ? { ok: false, message: `${item.system} still shows \`${item.entitlement}\` for ${item.email ?? item.account_id} after revoking; check it by hand.` } : { ok: true, message: `Revoked \`${item.entitlement}\` from ${item.email ?? item.account_id} in ${item.system}, and verified.` };
}

/**
 * "Keep as exception": the access stays, with a reason and an optional expiry. For a known person
 * it joins their desired state (so Gatehouse records it as held) until it expires; then their
 * reconcile revokes it like anything else nothing justifies. Only IT or the system's owners
 * decide, never the person concerned (authorizeDriftDecision). A leaver's account is never kept:
 * an exception could not hide it anyway (see endLapsedExceptions in scan.ts).
 */
export async function keepDriftItem(deps: { db: Db; boss: PgBoss; authz: Authorization }, input: { itemId: number; actor: string; reason: string; expiresAt: Date | null }): Promise<DriftDecision> {
  const allowed = await authorizeDriftDecision(deps, { itemId: input.itemId, actor: input.actor, decision: 'keep' });
  if (!allowed.ok) return allowed;
  const reason = input.reason.trim();
  if (!reason) return { ok: false, message: 'Say why this access may stay (an auditor will read it).' };
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) return { ok: false, message: 'The expiry must be in the future.' };
  return transact(deps.db, async (trx) => {
    const item = await trx.selectFrom('drift_items').selectAll().where('id', '=', input.itemId).forUpdate().executeTakeFirst();
    if (!item) return { ok: false, message: `There is no drift item #${input.itemId}.` };
    if (item.status !== 'open') return { ok: false, message: `Drift item #${input.itemId} is already ${item.status}; nothing changed.` };
    const leaver = item.class === 'orphan' ? await leaverOwningAccount(trx as unknown as Db, item) : null;
    if (leaver) return { ok: false, message: `This account is ${leaver}'s, who has left: a leaver's account cannot be kept as an exception. Revoke it, or re-hire them in the HRIS.` };
    const now = new Date();
    const exception = await trx
      .insertInto('drift_exceptions')
      .values({ system: item.system, entitlement: item.entitlement, account_id: item.account_id, person_id: item.person_id, item_id: item.id, reason, created_by: input.actor, expires_at: input.expiresAt })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx.updateTable('drift_items').set({ status: 'kept', decided_by: input.actor, decided_at: now }).where('id', '=', item.id).execute();
    if (item.person_id && item.class !== 'orphan') {
      await trx
        .insertInto('grants')
        .values({ person_id: item.person_id, entitlement: item.entitlement, system: item.system, status: 'verified', source: `exception:${exception.id}`, expires_at: input.expiresAt, verified_at: now, updated_at: now })
        .onConflict((oc) => oc.columns(['person_id', 'entitlement']).doUpdateSet({ status: 'verified', source: `exception:${exception.id}`, expires_at: input.expiresAt, updated_at: now }))
        .execute();
    }
    await appendAudit(trx, { actor: input.actor, action: 'drift.exception', subject: item.email ?? item.account_id, entitlement: item.entitlement, reason, result: input.expiresAt ? `until ${input.expiresAt.toISOString()}` : 'until removed', detail: { itemId: item.id, exceptionId: exception.id } });
    await notify(trx as unknown as Db, deps.boss, { type: 'drift-alert', scanId: 0 });
    return { ok: true, message: `Kept \`${item.entitlement}\` for ${item.email ?? item.account_id} as exception #${exception.id}${input.expiresAt ? ` until ${input.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : ''}.` };
  });
}

/** Exceptions past their expiry end; their people are reconciled, which revokes the access. */
export async function expireDriftExceptions(deps: { db: Db; boss: PgBoss; now?: () => Date }): Promise<number> {
  const now = deps.now?.() ?? new Date();
  const ended = await deps.db.updateTable('drift_exceptions').set({ ended_at: now }).where('ended_at', 'is', null).where('expires_at', '<=', now).returning(['id', 'person_id', 'entitlement', 'account_id']).execute();
  for (const e of ended) {
    await transact(deps.db, async (trx) => {
      await appendAudit(trx, { actor: 'system', action: 'drift.exception_expired', subject: e.account_id, entitlement: e.entitlement, reason: `exception:${e.id}` });
      if (e.person_id) await reconcileLater(trx as unknown as Db, deps.boss, e.person_id);
    });
  }
  return ended.length;
}
