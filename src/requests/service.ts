import { transact } from '../db/transact.js';
import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import { appendAudit } from '../audit/append-audit.js';
import { bossOnTransaction } from '../db/boss-transaction.js';
import type { Db } from '../db/database.js';
import type { ApproverEntry, RequestState, ResolvedStep } from '../db/schema.js';
import { notify } from '../orchestrator/notifications.js';
import { QUEUES } from '../orchestrator/queue.js';
import { runPriority } from '../orchestrator/run-state.js';
import type { PersonRecord } from '../people/person-record.js';
import { suggest } from '../policy/entitlement.js';
import { evaluate, type PolicySet, type RequestableEntry, type TimeZoneSettings } from '../policy/index.js';
import { durationMs } from '../policy/schema.js';
import type { SlackDirectory } from '../slack/directory.js';
import { conflictsCompletedBy, describeConflict, holdingsOf } from './separation-of-duties.js';
import { isTerminated, resolveApprover, resolveStepNow, stepWithNobodyElse } from './approval-steps.js';
import { stillOffered } from './still-offered.js';

export interface RequestDeps {
  db: Db;
  boss: PgBoss;
  policies: PolicySet;
  directory: SlackDirectory;
  /** Where end dates end for people whose record names no time_zone (config.timeZones); UTC without it. */
  timeZones?: TimeZoneSettings;
  /**
   * Each approval step needs someone who approved no earlier step of the request
   * (config.approvalDistinctApprovers, APPROVAL_DISTINCT_APPROVERS); on unless set to false.
   */
  distinctApprovers?: boolean;
  now?: () => Date;
}

/** Requests that hold (or are about to hold) access: they are part of the person's desired set. */
export const LIVE_STATES: RequestState[] = ['approved', 'provisioning', 'active'];
const OPEN_STATES: RequestState[] = ['pending', ...LIVE_STATES];

/** A refusal, saying why; `field` is the part of the request it is about (for the modal's error). */
export type Refusal = { ok: false; message: string; field?: 'entitlement' | 'duration' | 'justification' };

export interface FiledRequest {
  ok: true;
  id: number;
  entitlement: string;
  state: RequestState;
  durationMs: number | null;
  autoApproved: boolean;
  /** Labels of the first step's approvers (`manager`, `@security-oncall`), for the confirmation. */
  firstApprovers: string[];
  policy: string;
}

export function formatDurationShort(ms: number): string {
  if (ms % 604_800_000 === 0) return `${ms / 604_800_000}w`;
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.round(ms / 60_000)}m`;
}

/** The requester, as the HRIS knows them, by their Slack user. */
export async function personForSlackUser(deps: Pick<RequestDeps, 'db' | 'directory'>, slackUserId: string): Promise<{ id: string; email: string; record: PersonRecord; status: string } | Refusal> {
  const email = await deps.directory.emailForId(slackUserId);
  if (!email) return { ok: false, message: 'Gatehouse cannot see your email address in Slack, so it cannot tell who you are in the HR system (the app needs the users:read.email scope).' };
  const person = await deps.db.selectFrom('people').select(['id', 'email', 'data', 'status']).where(sql`lower(email)`, '=', email.toLowerCase()).orderBy('updated_at', 'desc').executeTakeFirst();
  if (!person) return { ok: false, message: `Gatehouse has no HR record for ${email}. If you joined recently, your record may not have arrived yet; IT can check.` };
  if (person.status === 'terminated') return { ok: false, message: `The HR record for ${email} is not active, so you cannot request access.` };
  return { id: person.id, email: person.email, record: person.data as PersonRecord, status: person.status };
}

/** What this person may request now (the policy engine's catalog), minus what they already hold. */
export async function requestableFor(deps: RequestDeps, record: PersonRecord): Promise<RequestableEntry[]> {
  const plan = evaluate(deps.policies, { ...record, status: 'active' }, { now: deps.now?.() ?? new Date(), timeZones: deps.timeZones });
  const held = new Set(plan.grants.map((g) => g.entitlement));
  return plan.requestable.filter((r) => !held.has(r.entitlement));
}

/**
 * Files a request: checks that a policy offers it to this person, the duration, the
 * justification and separation of duties; resolves each approval step to Slack users (refusing a
 * step nobody but the requester, or nobody who approves no other step, could approve); stores it;
 * and either approves it at once (`auto_approve`) or queues the first approvers' DMs. Bad input
 * is refused with the reason and changes nothing.
 */
export async function fileRequest(
  deps: RequestDeps,
  input: { slackUserId: string; entitlement: string; durationMs: number | null; justification: string | null; extending?: number },
): Promise<FiledRequest | Refusal> {
  const now = deps.now?.() ?? new Date();
  const person = await personForSlackUser(deps, input.slackUserId);
  if (!('id' in person)) return person;
  const plan = evaluate(deps.policies, { ...person.record, status: 'active' }, { now, timeZones: deps.timeZones });
  const entitlement = input.entitlement.trim();
  const already = plan.grants.find((g) => g.entitlement === entitlement);
  if (already) return { ok: false, message: `You already have \`${entitlement}\` from policy ${already.policy}; there is nothing to request.` };
  const entry = plan.requestable.find((r) => r.entitlement === entitlement);
  if (!entry) {
    const offered = plan.requestable.map((r) => r.entitlement);
    if (offered.length === 0) return { ok: false, message: `No policy lets you request \`${entitlement}\`, and none offers you anything to request.` };
    const hint = suggest(entitlement, offered);
    return { ok: false, message: `No policy lets you request \`${entitlement}\`${hint}. You can request: ${offered.slice(0, 8).map((e) => `\`${e}\``).join(', ')}${offered.length > 8 ? ` and ${offered.length - 8} more (\`/access\` lists them)` : ''}.` };
  }
  const max = entry.max_duration ? durationMs(entry.max_duration) : null;
  const duration = input.durationMs ?? max;
  if (max !== null && duration !== null && duration > max) return { ok: false, field: 'duration', message: `\`${entitlement}\` can be granted for at most ${entry.max_duration}; ask for ${entry.max_duration} or less.` };
  const justification = input.justification?.trim() || null;
  if (entry.justification === 'required' && !justification) return { ok: false, field: 'justification', message: `\`${entitlement}\` needs a reason: add \`because <reason>\` (an incident or ticket number helps your approvers).` };

  const open = await deps.db.selectFrom('access_requests').select(['id', 'entitlement', 'state']).where('person_id', '=', person.id).where('state', 'in', OPEN_STATES).execute();
  // An extension is a new request for what an active one holds: it takes over when approved.
  const same = open.find((r) => r.entitlement === entitlement && !(r.id === input.extending && r.state === 'active'));
  if (same) return { ok: false, message: `You already have request #${same.id} for \`${entitlement}\` (${same.state}).` };
  // Separation of duties counts what is still waiting for approval too: two pending requests for
  // the two sides of a rule could otherwise both be approved. (The final approval checks again.)
  const holdings = await holdingsOf(deps.db, { personId: person.id, birthright: plan.grants, pending: true, excludeRequestId: input.extending, now });
  const conflict = conflictsCompletedBy(deps.policies, holdings, entitlement)[0];
  if (conflict) return { ok: false, message: `${describeConflict(entitlement, conflict, 'you')}. Nothing was filed; ask IT if you need both.` };

  const auto = entry.auto_approve?.eligible === true && duration !== null && duration <= durationMs(entry.auto_approve.max_duration);
  const policy = deps.policies.policies.find((p) => p.name === entry.policy);
  const steps: ResolvedStep[] = [];
  if (!auto) {
    for (const [i, step] of entry.approvers.entries()) {
      const approvers: ApproverEntry[] = [];
      for (const label of step.approvers) {
        const users = await resolveApprover(deps, label, { managerEmail: person.record.manager_email, owner: policy?.owner ?? '' });
        if (typeof users === 'string') return { ok: false, message: `Gatehouse cannot find who approves step ${i + 1} (${label}): ${users}. Ask IT to fix the policy ${entry.policy} or the directory.` };
        // Nobody approves their own request.
        const others = users.filter((u) => u !== input.slackUserId);
        if (others.length === 0 && step.mode === 'all') return { ok: false, message: `Step ${i + 1} (${label}) of ${entry.policy} would need you to approve your own request; ask IT to name another approver.` };
        if (others.length > 0) approvers.push({ label, users: others });
      }
      if (approvers.length === 0) return { ok: false, message: `Only you could approve step ${i + 1} of ${entry.policy}; ask IT to name another approver.` };
      steps.push({ mode: step.mode, approvers });
    }
    // Each step is a different person's check: a manager who is also on the security rota would
    // otherwise approve both steps alone. A step nobody else could approve is refused now, not
    // left to wait until it times out.
    const alone = deps.distinctApprovers === false ? null : stepWithNobodyElse(steps);
    if (alone) {
      const who = alone.people.map((u) => `<@${u}>`).join(', ');
      const earlier = alone.earlier.map((e) => `step ${e.step + 1} (${e.label})`).join(' and ');
      return { ok: false, message: `Step ${alone.step + 1} (${alone.label}) of ${entry.policy} could only be approved by ${who}, who ${alone.people.length === 1 ? 'approves' : 'approve'} ${earlier || 'an earlier step'}; each step needs a different person. Nothing was filed; ask IT to name another approver.` };
    }
  }

  return transact(deps.db, async (trx): Promise<FiledRequest | Refusal> => {
    // One filing per person at a time, so two quick /access commands cannot both pass the check
    // above: the second sees the first here.
    await sql`select pg_advisory_xact_lock(hashtext(${`requests:${person.id}`}))`.execute(trx);
    const twin = await trx.selectFrom('access_requests').select(['id', 'state']).where('person_id', '=', person.id).where('entitlement', '=', entitlement).where('state', 'in', OPEN_STATES).where('id', '!=', input.extending ?? -1).executeTakeFirst();
    if (twin) return { ok: false, message: `You already have request #${twin.id} for \`${entitlement}\` (${twin.state}).` };
    const row = await trx
      .insertInto('access_requests')
      .values({
        person_id: person.id,
        requester_slack_id: input.slackUserId,
        entitlement,
        policy: entry.policy,
        description: entry.description,
        duration_ms: duration,
        justification,
        state: auto ? 'approved' : 'pending',
        steps: JSON.stringify(steps),
        auto_approved: auto,
        decided_at: auto ? now : null,
        created_at: now,
        step_started_at: now,
      })
      .returning(['id', 'state'])
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actor: `slack:${input.slackUserId}`,
      action: 'request.filed',
      subject: person.email,
      entitlement,
      reason: justification,
      result: auto ? 'auto-approved' : 'pending',
      detail: { requestId: row.id, policy: entry.policy, durationMs: duration, steps: steps.map((s) => ({ mode: s.mode, approvers: s.approvers.map((a) => a.label) })) },
    });
    if (auto) {
      await appendAudit(trx, { actor: `policy:${entry.policy}`, action: 'request.approved', subject: person.email, entitlement, reason: `auto_approve (up to ${entry.auto_approve!.max_duration})`, detail: { requestId: row.id } });
      await reconcileLater(trx as unknown as Db, deps.boss, person.id);
    } else {
      await notify(trx as unknown as Db, deps.boss, { type: 'approval-requested', requestId: row.id, step: 0 });
    }
    return { ok: true as const, id: row.id, entitlement, state: row.state, durationMs: duration, autoApproved: auto, firstApprovers: steps[0]?.approvers.map((a) => a.label) ?? [], policy: entry.policy };
  });
}

/** A reconcile of the person at the priority of an approved request, coalesced with one already queued. */
export async function reconcileLater(db: Db, boss: PgBoss, personId: string): Promise<void> {
  await boss.send(QUEUES.reconcilePerson.name, { personId, reason: 'request' }, { db: bossOnTransaction(db as never), singletonKey: personId, priority: runPriority('request') });
}

export type Decision =
  | { ok: true; outcome: 'approved' | 'denied' | 'next-step' | 'waiting'; requestId: number; entitlement: string; state: RequestState }
  /** The approval was the last one needed, but granting would break separation of duties: the request is denied with why. */
  | { ok: true; outcome: 'refused'; requestId: number; entitlement: string; state: 'denied'; message: string }
  | { ok: false; message: string };

/**
 * Separation of duties at the final approval: the plain-words reason the request cannot be
 * granted, or null. Counts birthright (from the person's record now), live and approved requests,
 * kept drift exceptions and access in place; not other pending requests, which face this check
 * when they are approved.
 */
async function sodAtDecision(db: Db, deps: RequestDeps, request: { id: number; person_id: string; entitlement: string }, now: Date): Promise<string | null> {
  if (deps.policies.conflicts.length === 0) return null;
  const person = await db.selectFrom('people').select(['data', 'status']).where('id', '=', request.person_id).executeTakeFirstOrThrow();
  const plan = evaluate(deps.policies, { ...(person.data as PersonRecord), status: 'active' }, { now, timeZones: deps.timeZones });
  const holdings = await holdingsOf(db, { personId: request.person_id, birthright: plan.grants, pending: false, excludeRequestId: request.id, now });
  const conflict = conflictsCompletedBy(deps.policies, holdings, request.entitlement)[0];
  return conflict ? describeConflict(request.entitlement, conflict, 'they') : null;
}

/**
 * An approver's decision. Under the request's row lock, so a double click or two approvers at once
 * decide once: the requester cannot approve their own request (compared by email, so not from a
 * second Slack account either), a terminated approver is refused, the current step's labels are
 * resolved again now and someone they no longer name is refused, whoever approved an earlier step
 * is refused (unless distinctApprovers is false), and a request already decided says by whom. A
 * step of `all` needs one approval per entry; `any` needs one. The last approval checks that a
 * policy still offers the access and separation of duties, then hands it to the orchestrator.
 */
export async function decide(deps: RequestDeps, input: { requestId: number; slackUserId: string; decision: 'approved' | 'denied'; reason?: string | null }): Promise<Decision> {
  const now = deps.now?.() ?? new Date();
  return transact(deps.db, async (trx) => {
    const request = await trx.selectFrom('access_requests').selectAll().where('id', '=', input.requestId).forUpdate().executeTakeFirst();
    if (!request) return { ok: false, message: `There is no request #${input.requestId}.` };
    if (request.state !== 'pending') {
      const last = await trx.selectFrom('request_decisions').select(['approver_slack_id', 'decision', 'decided_at']).where('request_id', '=', request.id).orderBy('decided_at', 'desc').executeTakeFirst();
      const by = last ? ` (${last.decision} by <@${last.approver_slack_id}> at ${last.decided_at.toISOString().slice(0, 16).replace('T', ' ')} UTC)` : '';
      return { ok: false, message: `Request #${request.id} is already ${request.state.replace('_', ' ')}${by}; nothing changed.` };
    }
    const verb = input.decision === 'approved' ? 'approve' : 'deny';
    const own = { ok: false as const, message: `You cannot ${verb} your own request (#${request.id}).` };
    if (input.slackUserId === request.requester_slack_id) return own;
    // People, not Slack ids: a second Slack account with the requester's email, or one that reaches
    // the requester's HR record, is the requester. Without an email Gatehouse cannot tell.
    const clicker = (await deps.directory.emailForId(input.slackUserId))?.toLowerCase() ?? null;
    if (!clicker) return { ok: false, message: `Gatehouse cannot see your email address in Slack, so it cannot tell whether request #${request.id} is your own; nothing changed (the app needs the users:read.email scope).` };
    const person = await trx.selectFrom('people').select(['email', 'data']).where('id', '=', request.person_id).executeTakeFirstOrThrow();
    const requesterEmail = request.requester_slack_id ? ((await deps.directory.emailForId(request.requester_slack_id))?.toLowerCase() ?? null) : null;
    if (clicker === person.email.toLowerCase() || clicker === requesterEmail) return own;
    // A leaver never decides, even while their Slack account is still open.
    if (await isTerminated(trx as unknown as Db, clicker)) return { ok: false, message: `Your HR record (${clicker}) is not active, so you cannot ${verb} request #${request.id}; nothing changed.` };
    // Who approves this step is decided now, not at filing: someone since removed from the group,
    // or no longer the requester's manager, is refused; whoever the labels name now may decide.
    const record = person.data as PersonRecord;
    const context = { managerEmail: record.manager_email, owner: deps.policies.policies.find((p) => p.name === request.policy)?.owner ?? '' };
    const excluded = new Set(request.requester_slack_id ? [request.requester_slack_id] : []);
    const step = await resolveStepNow({ db: trx as unknown as Db, directory: deps.directory }, request.steps[request.current_step]!, context, excluded, { fresh: true });
    const mine = step.approvers.filter((a) => a.users.includes(input.slackUserId));
    if (mine.length === 0) return { ok: false, message: `You are not an approver of step ${request.current_step + 1} of request #${request.id} (${step.approvers.map((a) => a.label).join(step.mode === 'all' ? ' and ' : ' or ')}); nothing changed.` };
    // Each step is another person's check (APPROVAL_DISTINCT_APPROVERS): whoever approved an
    // earlier step, under this Slack id or another with their email, does not decide this one.
    const earlier = deps.distinctApprovers === false ? [] : await earlierApprovers(trx as unknown as Db, deps, request.id, request.current_step);
    const repeated = earlier.find((e) => e.slackId === input.slackUserId || e.email === clicker);
    if (repeated) return { ok: false, message: `You approved step ${repeated.step + 1} of request #${request.id}; step ${request.current_step + 1} needs someone else (each step is approved by a different person). Nothing changed.` };
    const inserted = await trx
      .insertInto('request_decisions')
      .values({ request_id: request.id, step: request.current_step, approver_slack_id: input.slackUserId, decision: input.decision, reason: input.reason ?? null, decided_at: now })
      .onConflict((oc) => oc.columns(['request_id', 'step', 'approver_slack_id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return { ok: false, message: `You already decided on request #${request.id}; nothing changed.` };
    const audit = (action: string, result: string) =>
      appendAudit(trx, { actor: `slack:${input.slackUserId}`, action, subject: person.email, entitlement: request.entitlement, reason: input.reason ?? null, result, detail: { requestId: request.id, step: request.current_step + 1 } });

    if (input.decision === 'denied') {
      await trx.updateTable('access_requests').set({ state: 'denied', decided_at: now, ended_at: now, end_reason: input.reason ?? 'denied' }).where('id', '=', request.id).execute();
      await audit('request.denied', 'denied');
      await notify(trx as unknown as Db, deps.boss, { type: 'request-decided', requestId: request.id, step: request.current_step });
      return { ok: true, outcome: 'denied', requestId: request.id, entitlement: request.entitlement, state: 'denied' };
    }
    const approvals = new Set(
      (await trx.selectFrom('request_decisions').select('approver_slack_id').where('request_id', '=', request.id).where('step', '=', request.current_step).where('decision', '=', 'approved').execute()).map((d) => d.approver_slack_id),
    );
    const satisfied = step.mode === 'any' ? true : step.approvers.every((a) => a.users.some((u) => approvals.has(u)));
    if (!satisfied) {
      await audit('request.step_approved', `waiting for ${step.approvers.filter((a) => !a.users.some((u) => approvals.has(u))).map((a) => a.label).join(', ')}`);
      return { ok: true, outcome: 'waiting', requestId: request.id, entitlement: request.entitlement, state: 'pending' };
    }
    if (request.current_step + 1 >= request.steps.length) {
      // The final approval checks that a policy still offers it: a transfer since filing (or a
      // policy change) can have taken it away, and reconcile would only take it back again.
      const plan = evaluate(deps.policies, { ...record, status: 'active' }, { now, timeZones: deps.timeZones });
      if (!stillOffered(plan, request.entitlement)) {
        const why = `no policy offers \`${request.entitlement}\` to ${person.email} any more (their role or the policies changed since they asked)`;
        await trx.updateTable('access_requests').set({ state: 'denied', decided_at: now, ended_at: now, end_reason: why }).where('id', '=', request.id).execute();
        await trx.deleteFrom('request_decisions').where('id', '=', inserted.id).execute();
        await appendAudit(trx, { actor: `slack:${input.slackUserId}`, action: 'request.refused', subject: person.email, entitlement: request.entitlement, reason: why, result: 'refused: no longer offered', detail: { requestId: request.id, step: request.current_step + 1 } });
        await notify(trx as unknown as Db, deps.boss, { type: 'request-refused', requestId: request.id, step: request.current_step, reason: why, why: 'no-longer-offered' });
        return { ok: true, outcome: 'refused', requestId: request.id, entitlement: request.entitlement, state: 'denied', message: `Request #${request.id} cannot be approved: ${why}. Nothing was granted; the requester has been told why.` };
      }
      // The final approval checks separation of duties again, against what the person holds or
      // will hold now: filing could not see a request filed later, or approved since.
      const refusal = await sodAtDecision(trx as unknown as Db, deps, request, now);
      if (refusal) {
        await trx.updateTable('access_requests').set({ state: 'denied', decided_at: now, ended_at: now, end_reason: refusal }).where('id', '=', request.id).execute();
        await trx.deleteFrom('request_decisions').where('id', '=', inserted.id).execute();
        await appendAudit(trx, { actor: `slack:${input.slackUserId}`, action: 'request.refused', subject: person.email, entitlement: request.entitlement, reason: refusal, result: 'refused: separation of duties', detail: { requestId: request.id, step: request.current_step + 1 } });
        await notify(trx as unknown as Db, deps.boss, { type: 'request-refused', requestId: request.id, step: request.current_step, reason: refusal });
        return { ok: true, outcome: 'refused', requestId: request.id, entitlement: request.entitlement, state: 'denied', message: `Request #${request.id} cannot be approved: ${refusal}. Nothing was granted; the requester has been told why.` };
      }
    }
    await notify(trx as unknown as Db, deps.boss, { type: 'request-decided', requestId: request.id, step: request.current_step });
    if (request.current_step + 1 < request.steps.length) {
      // The next step's approvers as they are now, without the requester and, with distinct
      // approvers, without whoever approved this or an earlier step: they are the ones DMed.
      const steps = [...request.steps];
      const done = deps.distinctApprovers === false ? [] : [...earlier.map((e) => e.slackId), ...approvals];
      steps[request.current_step + 1] = await resolveStepNow({ db: trx as unknown as Db, directory: deps.directory }, steps[request.current_step + 1]!, context, new Set([...excluded, ...done]));
      await trx.updateTable('access_requests').set({ current_step: request.current_step + 1, steps: JSON.stringify(steps), step_started_at: now, reminded_at: null }).where('id', '=', request.id).execute();
      await audit('request.step_approved', `step ${request.current_step + 1} of ${request.steps.length} approved`);
      await notify(trx as unknown as Db, deps.boss, { type: 'approval-requested', requestId: request.id, step: request.current_step + 1 });
      return { ok: true, outcome: 'next-step', requestId: request.id, entitlement: request.entitlement, state: 'pending' };
    }
    await trx.updateTable('access_requests').set({ state: 'approved', decided_at: now }).where('id', '=', request.id).execute();
    await audit('request.approved', 'approved');
    await reconcileLater(trx as unknown as Db, deps.boss, request.person_id);
    return { ok: true, outcome: 'approved', requestId: request.id, entitlement: request.entitlement, state: 'approved' };
  });
}

/** Who approved the steps before `step` of a request, with their email (to recognise a second Slack account). */
async function earlierApprovers(db: Db, deps: Pick<RequestDeps, 'directory'>, requestId: number, step: number): Promise<{ step: number; slackId: string; email: string | null }[]> {
  if (step === 0) return [];
  const rows = await db.selectFrom('request_decisions').select(['step', 'approver_slack_id']).where('request_id', '=', requestId).where('step', '<', step).where('decision', '=', 'approved').orderBy('step').execute();
  const out = [];
  for (const r of rows) out.push({ step: r.step, slackId: r.approver_slack_id, email: (await deps.directory.emailForId(r.approver_slack_id))?.toLowerCase() ?? null });
  return out;
}

/**
 * Ends live requests and has the person reconciled (their grant is then revoked, and the holder
 * told once the revoke is verified). `expired`: past expires_at (the timer, or the sweeper when a
 * timer was lost); `revoked`: released early by the holder or removed by IT.
 */
export async function endRequests(deps: Pick<RequestDeps, 'db' | 'boss' | 'now'>, filter: { ids?: number[]; dueBy?: Date }, state: 'expired' | 'revoked', reason: string, actor: string): Promise<number[]> {
  const now = deps.now?.() ?? new Date();
  return transact(deps.db, async (trx) => {
    let query = trx.updateTable('access_requests').set({ state, ended_at: now, end_reason: reason });
    if (filter.ids) query = query.where('id', 'in', filter.ids.length > 0 ? filter.ids : [-1]).where('state', 'in', LIVE_STATES);
    if (filter.dueBy) query = query.where('state', '=', 'active').where('expires_at', '<=', filter.dueBy);
    const ended = await query.returning(['id', 'person_id', 'entitlement']).execute();
    for (const r of ended) {
      const person = await trx.selectFrom('people').select('email').where('id', '=', r.person_id).executeTakeFirstOrThrow();
      await appendAudit(trx, { actor, action: `request.${state}`, subject: person.email, entitlement: r.entitlement, reason, detail: { requestId: r.id } });
    }
    for (const personId of new Set(ended.map((r) => r.person_id))) await reconcileLater(trx as unknown as Db, deps.boss, personId);
    return ended.map((r) => r.id);
  });
}

/** Withdraws a request still waiting for approval (its requester only). */
export async function cancelRequest(deps: RequestDeps, requestId: number, slackUserId: string): Promise<{ ok: true } | Refusal> {
  return transact(deps.db, async (trx) => {
    const request = await trx.selectFrom('access_requests').selectAll().where('id', '=', requestId).forUpdate().executeTakeFirst();
    if (!request || request.requester_slack_id !== slackUserId) return { ok: false, message: `You have no request #${requestId}.` };
    if (request.state !== 'pending') return { ok: false, message: `Request #${requestId} is ${request.state}; only pending requests can be cancelled${LIVE_STATES.includes(request.state) ? ' (use `/access release` to give access up)' : ''}.` };
    const now = deps.now?.() ?? new Date();
    await trx.updateTable('access_requests').set({ state: 'cancelled', ended_at: now, end_reason: 'cancelled by the requester' }).where('id', '=', requestId).execute();
    const person = await trx.selectFrom('people').select('email').where('id', '=', request.person_id).executeTakeFirstOrThrow();
    await appendAudit(trx, { actor: `slack:${slackUserId}`, action: 'request.cancelled', subject: person.email, entitlement: request.entitlement, detail: { requestId } });
    await notify(trx as unknown as Db, deps.boss, { type: 'request-decided', requestId, step: request.current_step });
    return { ok: true };
  });
}

/** `/access release <entitlement>`: the holder gives time-bound access up now; it is revoked at once. */
export async function releaseRequests(deps: RequestDeps, slackUserId: string, entitlement: string): Promise<{ ok: true; released: number } | Refusal> {
  const person = await personForSlackUser(deps, slackUserId);
  if (!('id' in person)) return person;
  const active = await deps.db.selectFrom('access_requests').select('id').where('person_id', '=', person.id).where('entitlement', '=', entitlement).where('state', '=', 'active').execute();
  if (active.length === 0) return { ok: false, message: `You hold no requested access to \`${entitlement}\` to release (birthright access ends with your role; \`/access mine\` lists what you hold).` };
  await endRequests(deps, { ids: active.map((r) => r.id) }, 'revoked', 'released early by the holder', `slack:${slackUserId}`);
  return { ok: true, released: active.length };
}

/**
 * A contractor's manager asks for their contract to be extended: IT is asked (through the
 * notification queue) to update end_date in the HRIS, and the request is audited. Only the
 * contractor's manager may ask.
 */
export async function requestContractorExtension(deps: RequestDeps, personId: string, slackUserId: string): Promise<{ ok: true; email: string; endDate: string } | Refusal> {
  const person = /^[0-9a-f-]{36}$/i.test(personId) ? await deps.db.selectFrom('people').select(['email', 'data']).where('id', '=', personId).executeTakeFirst() : undefined;
  const manager = (person?.data as PersonRecord | undefined)?.manager_email;
  if (!person || !manager || (await deps.directory.idForEmail(manager)) !== slackUserId) return { ok: false, message: "Only the contractor's manager can ask for their extension." };
  const endDate = (person.data as PersonRecord).end_date ?? 'their end date';
  await transact(deps.db, async (trx) => {
    await appendAudit(trx, { actor: `slack:${slackUserId}`, action: 'contractor.extension_requested', subject: person.email, reason: `end_date ${endDate}` });
    await notify(trx as unknown as Db, deps.boss, { type: 'contractor-extension', personId, requestedBy: slackUserId });
  });
  return { ok: true, email: person.email, endDate };
}
