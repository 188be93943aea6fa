import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { ApproverEntry, ResolvedStep } from '../db/schema.js';
import type { SlackDirectory } from '../slack/directory.js';

export interface ApproverContext {
  /** The requester's manager, from their HR record as it is now. */
  managerEmail: string | null | undefined;
  /** The policy's owner label (`@platform-leads`, a user id). */
  owner: string;
}

/**
 * One approver label to the Slack users it names now, or why it names nobody. `manager` is the
 * HR record's manager found in Slack by email (not when that record is terminated: a leaver never
 * approves); `owner` the policy's owner; `@group` the user group's members (`fresh` reads Slack
 * now rather than the ten-minute cache); a user id itself.
 */
export async function resolveApprover(deps: { db: Db; directory: SlackDirectory }, label: string, context: ApproverContext, options: { fresh?: boolean } = {}): Promise<string[] | string> {
  if (label === 'manager') {
    if (!context.managerEmail) return 'your HR record names no manager';
    if (await isTerminated(deps.db, context.managerEmail)) return `your manager (${context.managerEmail}) has left: their HR record is not active`;
    const id = await deps.directory.idForEmail(context.managerEmail);
    return id ? [id] : `your manager (${context.managerEmail}) is not in Slack`;
  }
  if (label === 'owner') return resolveApprover(deps, context.owner, context, options);
  if (label.startsWith('@')) {
    const members = await deps.directory.groupMembers(label, options);
    return members && members.length > 0 ? members : `the Slack user group ${label} does not exist or is empty`;
  }
  if (/^[UW][A-Z0-9]{2,}$/.test(label)) return [label];
  return `"${label}" is not a Slack user id, @user-group, manager or owner`;
}

/** Whether the newest HR record for this email is terminated (the person left). */
export async function isTerminated(db: Db, email: string): Promise<boolean> {
  const person = await db.selectFrom('people').select('status').where(sql`lower(email)`, '=', email.toLowerCase()).orderBy('updated_at', 'desc').executeTakeFirst();
  return person?.status === 'terminated';
}

/**
 * A step's entries resolved again now, from their labels: who may approve it at this moment. An
 * entry that names nobody now (the group is gone, the manager left) has no users. `excluded`
 * (the requester, and with distinct approvers whoever approved an earlier step) is left out.
 */
export async function resolveStepNow(deps: { db: Db; directory: SlackDirectory }, step: ResolvedStep, context: ApproverContext, excluded: ReadonlySet<string>, options: { fresh?: boolean } = {}): Promise<ResolvedStep> {
  const approvers: ApproverEntry[] = [];
  for (const entry of step.approvers) {
    const users = await resolveApprover(deps, entry.label, context, options);
    approvers.push({ label: entry.label, users: typeof users === 'string' ? [] : users.filter((u) => !excluded.has(u)) });
  }
  return { mode: step.mode, approvers };
}

/** A step nobody is left to approve once every earlier step has its approvers: which, and who could have. */
export interface NobodyElse {
  step: number;
  label: string;
  /** Everyone who could approve that step; each of them is needed for an earlier one. */
  people: string[];
  /** The earlier steps those people are needed for: index and labels. */
  earlier: { step: number; label: string }[];
}

// The search below gives up after this many tries and lets the request be filed: a real policy
// never comes near it, and the decision refuses a repeated approver anyway.
const SEARCH_BUDGET = 10_000;

/**
 * Separation between steps at filing: whether each step can have approvers who approve no other
 * step of the request. A step of `any` needs one person of any entry; a step of `all` one person
 * per entry (one person may fill several entries of the same step). Returns the first step that
 * cannot, or null. Exact for real policies (a small search over who approves which step), so
 * three steps over the same two people are refused too, not only a step whose one approver is the
 * only approver of an earlier one.
 */
export function stepWithNobodyElse(steps: readonly ResolvedStep[]): NobodyElse | null {
  const slotsOf = (s: ResolvedStep): { label: string; users: string[] }[] =>
    s.mode === 'all' ? s.approvers.map((a) => ({ label: a.label, users: [...new Set(a.users)] })) : [{ label: s.approvers.map((a) => a.label).join(' or '), users: [...new Set(s.approvers.flatMap((a) => a.users))] }];
  const slots = steps.map(slotsOf);
  let budget = SEARCH_BUDGET;
  // owner: person → the step they approve in the assignment being tried.
  const feasible = (upTo: number, owner: Map<string, number>, step: number, slot: number): boolean => {
    if (step > upTo) return true;
    if (slot >= slots[step]!.length) return feasible(upTo, owner, step + 1, 0);
    if (--budget < 0) return true;
    const candidates = slots[step]![slot]!.users;
    // Someone already approving this step covers this entry too, at no cost to the others.
    if (candidates.some((u) => owner.get(u) === step)) return feasible(upTo, owner, step, slot + 1);
    for (const u of candidates) {
      if (owner.has(u)) continue;
      owner.set(u, step);
      if (feasible(upTo, owner, step, slot + 1)) return true;
      owner.delete(u);
    }
    return false;
  };
  for (let k = 0; k < steps.length; k++) {
    budget = SEARCH_BUDGET;
    if (feasible(k, new Map(), 0, 0)) continue;
    // The entry of step k with the fewest people, for the message.
    const slot = [...slots[k]!].sort((a, b) => a.users.length - b.users.length)[0]!;
    const earlier = slots.slice(0, k).flatMap((ss, i) => (ss.some((s) => s.users.some((u) => slot.users.includes(u))) ? [{ step: i, label: steps[i]!.approvers.map((a) => a.label).join(steps[i]!.mode === 'all' ? ' and ' : ' or ') }] : []));
    return { step: k, label: slot.label, people: slot.users, earlier };
  }
  return null;
}
