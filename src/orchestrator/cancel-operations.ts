import type { ExpressionBuilder } from 'kysely';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';

export interface CancellableOperation {
  id: number;
  run_id: string;
  key: string;
  depends_on: string[];
  kind: 'grant' | 'revoke';
  entitlement: string;
  state: string;
  phase: string;
  attempts: number;
}

/**
 * Cancels operations and, transitively, the pending operations of the same run that wait on them
 * (a leaver's account suspension must not wait on a revoke that will never run); the person's next
 * plan covers whatever is still needed. Each cancelled operation's grant row is set to what is
 * known: one that may have written already (verifying, or retrying) is `failed`, so the plan
 * settles it either way; a grant never made is dropped, unless it may be there from before (then
 * `failed` too); a revoke never made leaves it held when it was known to be there, else `failed`.
 * `seedsOwnGrant: false` leaves the seeds' rows alone (a newer operation owns that entitlement).
 */
export async function cancelWithDependents(
  db: Db,
  input: { personId: string; seeds: CancellableOperation[]; pending: CancellableOperation[]; why: string; now: Date; seedsOwnGrant: boolean },
): Promise<CancellableOperation[]> {
  const cancelled = [...input.seeds];
  for (let grew = true; grew; ) {
    grew = false;
    for (const o of input.pending) {
      if (o.state !== 'pending' || cancelled.some((c) => c.id === o.id)) continue;
      if (cancelled.some((c) => c.run_id === o.run_id && o.depends_on.includes(c.key))) {
        cancelled.push(o);
        grew = true;
      }
    }
  }
  if (cancelled.length === 0) return cancelled;
  await db.updateTable('operations').set({ state: 'cancelled', finished_at: input.now, last_error: input.why }).where('id', 'in', cancelled.map((o) => o.id)).where('state', 'in', ['pending', 'running', 'manual']).execute();
  await db.updateTable('manual_tasks').set({ status: 'cancelled' }).where('operation_id', 'in', cancelled.map((o) => o.id)).where('status', '=', 'open').execute();
  for (const o of cancelled) {
    if (!input.seedsOwnGrant && input.seeds.includes(o)) continue;
    const grant = db.updateTable('grants').where('person_id', '=', input.personId).where('entitlement', '=', o.entitlement);
    if (o.phase !== 'write' || o.attempts > 0) {
      await grant.set({ status: 'failed', last_error: `${input.why}, after its ${o.kind} may have been made`, updated_at: input.now }).execute();
    } else if (o.kind === 'grant' && input.pending.some((x) => x.kind === 'grant' && x.entitlement === o.entitlement && x.id !== o.id && !cancelled.some((c) => c.id === x.id))) {
      // Another grant of it is still under way (an older one, running): the row is its.
      continue;
    } else if (o.kind === 'grant') {
      // Never made by this operation; but it may be there from before (applied once and not
      // revoked since, e.g. a leaver's revoke that was cancelled in turn): then it is unknown, so
      // the plan settles it, rather than forgotten while the system still has it.
      // Or an earlier grant of it tried a write and ended without knowing (a timeout, a crash).
      const maybeThere = (eb: ExpressionBuilder<Database, 'grants'>) =>
        eb.or([
          eb.and([eb('applied_at', 'is not', null), eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '<', eb.ref('applied_at'))])]),
          eb.exists(
            eb
              .selectFrom('operations as earlier')
              .select('earlier.id')
              .where('earlier.person_id', '=', input.personId)
              .where('earlier.entitlement', '=', o.entitlement)
              .where('earlier.kind', '=', 'grant')
              .where('earlier.id', '<', o.id)
              .where('earlier.state', 'in', ['cancelled', 'failed'])
              .where((x) => x.or([x('earlier.attempts', '>', 0), x('earlier.phase', '!=', 'write')]))
              .where((x) => x.or([x('grants.revoked_at', 'is', null), x('earlier.started_at', '>', x.ref('grants.revoked_at'))])),
          ),
        ]);
      await grant.set({ status: 'failed', last_error: `${input.why}, before it ran; it may still be in place from before`, updated_at: input.now }).where('status', 'in', ['pending', 'manual']).where(maybeThere).execute();
      await db.deleteFrom('grants').where('person_id', '=', input.personId).where('entitlement', '=', o.entitlement).where('status', 'in', ['pending', 'manual']).execute();
    } else {
      // A revoke never made leaves the access as it was: held, when it was verified and nothing
      // has failed or been revoked since; otherwise unknown (its grant may never have landed), so
      // the plan settles it.
      const knownThere = (eb: ExpressionBuilder<Database, 'grants'>) => eb.and([eb('verified_at', 'is not', null), eb('last_error', 'is', null), eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '<', eb.ref('verified_at'))])]);
      await grant.set({ status: 'verified', updated_at: input.now }).where('status', '=', 'revoking').where(knownThere).execute();
      await grant.set({ status: 'failed', last_error: `${input.why}; whether it is in place is not known`, updated_at: input.now }).where('status', '=', 'revoking').execute();
    }
  }
  return cancelled;
}
