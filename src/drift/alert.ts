import type { Db } from '../db/database.js';
import { type DriftAlertItem, driftAlertMessage } from '../slack/messages/drift.js';
import type { Notifier } from '../slack/notifier.js';

/**
 * The drift message in DRIFT_CHANNEL, from the items open now. A scan that finds nothing new
 * updates the last message in place (fixed items drop off it); new items, or a day passing with
 * items still open, post a fresh one. So an unresolved item is not re-alerted every scan.
 */
export async function deliverDriftAlert(deps: { db: Db; notifier: Notifier; channel: string; remindMs?: number; now?: () => Date }): Promise<'posted' | 'updated' | 'nothing'> {
  const now = deps.now?.() ?? new Date();
  const rows = await deps.db.selectFrom('drift_items').selectAll().where('status', '=', 'open').where('action', '=', 'alerted').orderBy('system').orderBy('first_seen').orderBy('id').execute();
  const items: DriftAlertItem[] = rows.map((r) => ({ id: r.id, system: r.system, class: r.class, entitlement: r.entitlement, email: r.email, accountId: r.account_id, login: r.login, expected: r.expected, firstSeen: r.first_seen }));
  const digest = items.map((i) => i.id).join(',');
  const last = await deps.db.selectFrom('drift_alerts').selectAll().where('channel', '=', deps.channel).orderBy('id', 'desc').executeTakeFirst();
  const message = driftAlertMessage(items, now);
  const shown = new Set(last?.digest ? last.digest.split(',') : []);
  const somethingNew = items.some((i) => !shown.has(String(i.id)));
  const reminderDue = last ? now.getTime() - last.posted_at.getTime() >= (deps.remindMs ?? 86_400_000) && items.length > 0 : false;
  if (last?.ts && deps.notifier.update && !somethingNew && !reminderDue) {
    if (last.digest === digest && items.length > 0) {
      await deps.notifier.update({ channel: last.channel, ts: last.ts, ...message });
      await deps.db.updateTable('drift_alerts').set({ updated_at: now }).where('id', '=', last.id).execute();
      return 'updated';
    }
    await deps.notifier.update({ channel: last.channel, ts: last.ts, ...message });
    await deps.db.updateTable('drift_alerts').set({ digest, updated_at: now }).where('id', '=', last.id).execute();
    return 'updated';
  }
  if (items.length === 0) return 'nothing';
  const posted = await deps.notifier.post({ channel: deps.channel, ...message });
  await deps.db.insertInto('drift_alerts').values({ channel: posted.channel, ts: posted.ts ?? null, digest, posted_at: now, updated_at: now }).execute();
  return 'posted';
}
