import type { App } from '@slack/bolt';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.js';
import { authorizeDriftDecision } from '../drift/authorize-drift-decision.js';
import { keepDriftItem, revokeDriftItem } from '../drift/decisions.js';
import type { Logger } from '../log.js';
import { failureText, logFailureWithReference } from './failure-reference.js';
import type { AdapterRegistry } from '../orchestrator/adapter-registry.js';
import type { Authorization } from '../orchestrator/authorize-decider.js';
import { notify } from '../orchestrator/notifications.js';
import { parseDuration } from '../requests/command.js';
import { DRIFT_ACTION, DRIFT_VIEW, keepExceptionModal } from './messages/drift.js';

/** The id a button carries in its value; 0 (which matches nothing) when the payload is not a number. */
function idFrom(action: unknown): number {
  const value = (action as { value?: unknown }).value;
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : 0;
}

/**
 * The drift alert's buttons: Revoke (through the orchestrator, or the adapter for an account
 * nobody owns) and Keep as exception (a modal for the reason and an optional expiry). The rules
 * are in src/drift/decisions.ts (who may decide: authorize-drift-decision.ts); this turns clicks
 * into those calls, tells a refused clicker alone (ephemeral), and refreshes the alert.
 */
export function registerDriftHandlers(app: App, deps: { db: Db; boss: PgBoss; adapters: AdapterRegistry; authz: Authorization; log: Logger }): void {
  const refresh = () => deps.db.transaction().execute((trx) => notify(trx as unknown as Db, deps.boss, { type: 'drift-alert', scanId: 0 }));

  app.action(DRIFT_ACTION.revoke, async ({ ack, body, action, respond }) => {
    await ack();
    const itemId = idFrom(action);
    try {
      const result = await revokeDriftItem(deps, itemId, `slack:${body.user.id}`);
      await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
      if (result.ok) await refresh();
    } catch (error) {
      const ref = logFailureWithReference(deps.log, error, { itemId }, 'drift revoke failed');
      await respond({ response_type: 'ephemeral', replace_original: false, text: failureText(`Gatehouse could not revoke drift item #${itemId}`, ref, { nothingChanged: false }) });
    }
  });

  app.action(DRIFT_ACTION.keep, async ({ ack, body, action, client, respond }) => {
    await ack();
    const itemId = idFrom(action);
    // Asked here too, so nobody fills in a modal only to be refused; the submission asks again.
    const allowed = await authorizeDriftDecision(deps, { itemId, actor: `slack:${body.user.id}`, decision: 'keep' });
    if (!allowed.ok) return void (await respond({ response_type: 'ephemeral', replace_original: false, text: allowed.message }));
    const item = allowed.item;
    await client.views.open({ trigger_id: (body as { trigger_id: string }).trigger_id, view: keepExceptionModal(itemId, { entitlement: item.entitlement, who: item.email ?? item.account_id }) as never });
  });

  app.view(DRIFT_VIEW, async ({ ack, view, body }) => {
    const { itemId } = JSON.parse(view.private_metadata || '{}') as { itemId?: number };
    const reason = view.state.values.reason?.reason?.value?.replaceAll('\u0000', '') ?? '';
    const expiryText = view.state.values.expiry?.expiry?.value?.replaceAll('\u0000', '').trim() ?? '';
    const expiry = expiryText ? parseDuration(expiryText) : null;
    if (expiryText && !expiry) return void (await ack({ response_action: 'errors', errors: { expiry: `"${expiryText.slice(0, 30)}" is not a duration: write it as 7d, 2w or 12h` } }));
    const result = await keepDriftItem(deps, { itemId: Number(itemId), actor: `slack:${body.user.id}`, reason, expiresAt: expiry ? new Date(Date.now() + expiry.ms) : null });
    if (!result.ok) return void (await ack({ response_action: 'errors', errors: { reason: result.message } }));
    await ack();
  });
}
