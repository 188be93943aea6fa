import { covers } from '../policy/entitlement.js';
import type { PersonPlan } from '../policy/index.js';

/**
 * Whether the person's policies, evaluated on their record as it is now, still offer this
 * requested access: as something they may request, or as birthright that gives it (the same or a
 * higher level of the resource). A transfer, or a policy change, can take it away after filing.
 */
export function stillOffered(plan: Pick<PersonPlan, 'grants' | 'requestable'>, entitlement: string): boolean {
  return plan.requestable.some((r) => r.entitlement === entitlement) || plan.grants.some((g) => g.entitlement === entitlement || covers(g.entitlement, entitlement));
}
