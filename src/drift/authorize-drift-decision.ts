import type { Selectable } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
import type { Db } from '../db/database.js';
import type { DriftItemsTable } from '../db/schema.js';
import { type Authorization, authorizeDecider } from '../orchestrator/authorize-decider.js';

export type DriftDecisionKind = 'revoke' | 'keep';

export type AuthorizedDriftItem = { ok: true; item: Selectable<DriftItemsTable> } | { ok: false; message: string };

/**
 * May `actor` Revoke or Keep drift item `itemId`? Only IT_ADMINS or the system's owners
 * (SYSTEM_OWNERS), and never the person the item is about: otherwise whoever was given admin
 * rights behind Gatehouse's back could keep them as a permanent exception. The person is every
 * one the item points at: the person it was matched to, the person Gatehouse linked the account
 * to, and the account's own email. A refusal changes nothing and is audited
 * (`drift.decision_refused`, with who and why), so repeated attempts are visible.
 */
export async function authorizeDriftDecision(deps: { db: Db; authz: Authorization }, input: { itemId: number; actor: string; decision: DriftDecisionKind }): Promise<AuthorizedDriftItem> {
  const item = await deps.db.selectFrom('drift_items').selectAll().where('id', '=', input.itemId).executeTakeFirst();
  if (!item) return { ok: false, message: `There is no drift item #${input.itemId}.` };
  const people = await deps.db
    .selectFrom('people')
    .select(['email', 'slack_user_id'])
    .where((eb) => {
      const linked = eb.exists(eb.selectFrom('accounts').select('accounts.person_id').whereRef('accounts.person_id', '=', 'people.id').where('accounts.system', '=', item.system).where('accounts.external_id', '=', item.account_id));
      return item.person_id ? eb.or([eb('people.id', '=', item.person_id), linked]) : linked;
    })
    .execute();
  const verdict = await authorizeDecider(deps.authz, {
    actor: input.actor,
    system: item.system,
    concerned: { emails: [item.email, ...people.map((p) => p.email)], slackIds: people.map((p) => p.slack_user_id) },
  });
  if (verdict.ok) return { ok: true, item };
  await appendAudit(deps.db, { actor: input.actor, action: 'drift.decision_refused', subject: item.email ?? item.account_id, entitlement: item.entitlement, reason: `drift:${item.id}`, result: verdict.message, detail: { itemId: item.id, decision: input.decision, system: item.system } });
  return { ok: false, message: verdict.message };
}
