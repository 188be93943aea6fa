import { policiesDirFromEnv, timeZonesFromEnv } from '../config.js';
import { sql } from 'kysely';
import { readPeopleFile } from '../people/people-file.js';
import { conflictsIntroduced, type ImpactConflict } from '../policy/separation-of-duties.js';
import type { PersonRecord } from '../people/person-record.js';
import {
  buildPolicySet,
  diffPlans,
  evaluate,
  type Explanation,
  formatPolicyError,
  loadPolicies,
  type PersonPlan,
  type PolicySet,
  policyJsonSchema,
  why,
} from '../policy/index.js';
import { CliError, EXIT } from './exit.js';

/** `--policies DIR`, else POLICIES_DIR, else `policies`. */
function policiesDir(option: string | undefined): string {
  return option ?? policiesDirFromEnv();
}

async function loadSet(dir: string): Promise<PolicySet> {
  const loaded = await loadPolicies(dir);
  if (loaded.errors.length > 0) {
    throw new CliError(
      `${loaded.errors.map(formatPolicyError).join('\n')}\n${loaded.errors.length} error(s) in ${dir}; run \`gatehouse policy check --policies ${dir}\``,
      EXIT.failed,
    );
  }
  return buildPolicySet(loaded);
}

async function readPeople(file: string): Promise<PersonRecord[]> {
  let result: Awaited<ReturnType<typeof readPeopleFile>>;
  try {
    result = await readPeopleFile(file);
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.failed);
  }
  if (result.errors.length > 0) {
    const lines = result.errors.map((e) => `${file}: row ${e.row}: ${e.path}: ${e.message}`);
    throw new CliError(`${lines.join('\n')}\n${result.errors.length} invalid value(s) in ${file}; nothing was planned`, EXIT.failed);
  }
  return result.records;
}

function checkFormat(format: string): 'table' | 'json' {
  if (format !== 'table' && format !== 'json') throw new CliError(`--format must be table or json, not "${format}"`, EXIT.usage);
  return format;
}

/** The contract's JSON (ARCHITECTURE.md → CLI): grants carry entitlement, policy and expires_at. */
function planJson(plan: PersonPlan) {
  return {
    email: plan.email,
    grants: plan.grants.map((g) => ({ entitlement: g.entitlement, policy: g.policy, expires_at: g.expires_at })),
    requestable: plan.requestable.map((r) => ({
      entitlement: r.entitlement,
      policy: r.policy,
      max_duration: r.max_duration,
      justification: r.justification,
      approvers: r.approvers,
      auto_approve: r.auto_approve,
    })),
    violations: plan.violations,
  };
}

function printTable(rows: string[][], indent = '  '): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows) console.log(indent + row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

export async function planCommand(options: { people: string; policies?: string; format: string; against?: string }): Promise<void> {
  const format = checkFormat(options.format);
  const set = await loadSet(policiesDir(options.policies));
  // DEFAULT_TIME_ZONE and LOCATION_TIME_ZONES as `serve` reads them, so end dates end where they do there.
  const evaluation = { now: new Date(), timeZones: timeZonesFromEnv() };
  const plans = (await readPeople(options.people)).map((p) => evaluate(set, p, evaluation)).sort((a, b) => a.email.localeCompare(b.email) || a.employee_id.localeCompare(b.employee_id));

  if (options.against) {
    const after = (await readPeople(options.against)).map((p) => evaluate(set, p, evaluation));
    const deltas = diffPlans(plans, after);
    if (format === 'json') {
      console.log(
        JSON.stringify(
          {
            people: deltas.map((d) => ({
              email: d.email,
              add: d.add.map((g) => ({ entitlement: g.entitlement, policy: g.policy, expires_at: g.expires_at })),
              revoke: d.revoke.map((g) => ({ entitlement: g.entitlement, policy: g.policy, expires_at: g.expires_at })),
            })),
          },
          null,
          2,
        ),
      );
      return;
    }
    if (deltas.length === 0) console.log('no changes');
    for (const d of deltas) {
      console.log(`${d.email}`);
      for (const g of d.add) console.log(`  + ${g.entitlement}  (${g.policy})`);
      for (const g of d.revoke) console.log(`  - ${g.entitlement}  (${g.policy})`);
    }
    return;
  }

  if (format === 'json') {
    console.log(JSON.stringify({ people: plans.map(planJson) }, null, 2));
    return;
  }
  for (const plan of plans) {
    console.log(`${plan.email}${plan.active ? '' : '  (not active: no access)'}`);
    if (plan.grants.length > 0) {
      printTable([['ENTITLEMENT', 'POLICY', 'EXPIRES'], ...plan.grants.map((g) => [g.entitlement, g.policy, g.expires_at?.slice(0, 10) ?? '-'])]);
    } else {
      console.log('  no birthright grants');
    }
    if (plan.requestable.length > 0) {
      console.log('  may request:');
      for (const r of plan.requestable) {
        const auto = r.auto_approve?.eligible ? `, auto-approved up to ${r.auto_approve.max_duration}` : '';
        console.log(`    ${r.entitlement} (max ${r.max_duration ?? 'permanent'}${auto})`);
      }
    }
    for (const v of plan.violations) console.log(`  ! ${v.kind === 'sod' ? 'separation of duties' : 'expiry'}: ${v.name}: ${v.reason}`);
    console.log('');
  }
  const grants = plans.reduce((n, p) => n + p.grants.length, 0);
  const violations = plans.reduce((n, p) => n + p.violations.length, 0);
  console.log(`${plans.length} people, ${grants} grants, ${violations} violation(s)`);
}

export async function policyCheckCommand(options: { policies?: string }): Promise<void> {
  const dir = policiesDir(options.policies);
  const loaded = await loadPolicies(dir);
  for (const error of loaded.errors) console.log(formatPolicyError(error));
  if (loaded.errors.length > 0) throw new CliError(`${loaded.errors.length} error(s)`, EXIT.failed);
  console.log(`${loaded.policies.length} policies and ${loaded.conflicts.length} conflict rules in ${dir}: OK`);
}

export function policySchemaCommand(): void {
  console.log(JSON.stringify(policyJsonSchema(), null, 2));
}

export async function policyImpactCommand(options: { base: string; people: string; policies?: string; format: string; requests?: boolean }): Promise<void> {
  const format = checkFormat(options.format);
  const [base, next] = await Promise.all([loadSet(options.base), loadSet(policiesDir(options.policies))]);
  const people = await readPeople(options.people);
  const evaluation = { now: new Date(), timeZones: timeZonesFromEnv() };
  const before = people.map((p) => evaluate(base, p, evaluation));
  const after = people.map((p) => evaluate(next, p, evaluation));
  const deltas = diffPlans(before, after);
  // Separation of duties: rules the change makes someone break, among birthright grants or (with
  // --requests) against the requests they hold or wait for in Gatehouse's database.
  const requests = options.requests ? await requestsByEmail(people.map((p) => p.email)) : new Map<string, { id: number; entitlement: string; state: string }[]>();
  const conflicts = new Map<string, ImpactConflict[]>();
  people.forEach((p, i) => {
    const found = conflictsIntroduced(base, next, { before: before[i]!.grants.map((g) => g.entitlement), after: after[i]!.grants.map((g) => g.entitlement) }, requests.get(p.email.toLowerCase()) ?? []);
    if (found.length > 0) conflicts.set(p.email, found);
  });
  const emails = [...new Set([...deltas.map((d) => d.email), ...conflicts.keys()])];
  const deltaOf = (email: string) => deltas.find((d) => d.email === email);
  if (format === 'json') {
    console.log(
      JSON.stringify(
        { people: emails.map((email) => ({ email, gain: deltaOf(email)?.add.map((g) => g.entitlement) ?? [], lose: deltaOf(email)?.revoke.map((g) => g.entitlement) ?? [], ...(conflicts.has(email) ? { conflicts: conflicts.get(email) } : {}) })) },
        null,
        2,
      ),
    );
    return;
  }
  if (emails.length === 0) {
    console.log(`no one gains or loses access, and no separation-of-duties rule is newly broken (${people.length} people compared${options.requests ? ', with their requests' : ''})`);
    return;
  }
  for (const email of emails) {
    console.log(email);
    for (const g of deltaOf(email)?.add ?? []) console.log(`  gains ${g.entitlement}  (${g.policy})`);
    for (const g of deltaOf(email)?.revoke ?? []) console.log(`  loses ${g.entitlement}  (${g.policy})`);
    for (const c of conflicts.get(email) ?? []) {
      const against = c.request ? ` with request #${c.request.id} for ${c.request.entitlement} (${c.request.state})` : ' among their birthright grants';
      console.log(`  breaks separation of duties${against}: ${c.rule} (${c.entitlements.join(' + ')}): ${c.reason}`);
    }
  }
  const gains = deltas.reduce((n, d) => n + d.add.length, 0);
  const losses = deltas.reduce((n, d) => n + d.revoke.length, 0);
  const broken = [...conflicts.values()].reduce((n, c) => n + c.length, 0);
  console.log(`\n${emails.length} of ${people.length} people affected: ${gains} grants gained, ${losses} lost${broken > 0 ? `, ${broken} separation-of-duties conflict(s) introduced (Gatehouse will withhold those grants and alert IT)` : ''}`);
}

/** Pending and live requests of these people, from Gatehouse's database (DATABASE_URL, or the embedded one). */
async function requestsByEmail(emails: string[]): Promise<Map<string, { id: number; entitlement: string; state: string }[]>> {
  const { openDatabase } = await import('./open-database.js');
  const database = await openDatabase();
  try {
    const rows = await database.handle.db
      .selectFrom('access_requests')
      .innerJoin('people', 'people.id', 'access_requests.person_id')
      .select(['access_requests.id', 'access_requests.entitlement', 'access_requests.state', 'people.email'])
      .where('access_requests.state', 'in', ['pending', 'approved', 'provisioning', 'active'])
      .where(sql<boolean>`lower(people.email) in (${sql.join(emails.length > 0 ? emails.map((e) => e.toLowerCase()) : [''])})`)
      .orderBy('access_requests.id')
      .execute();
    const out = new Map<string, { id: number; entitlement: string; state: string }[]>();
    for (const r of rows) out.set(r.email.toLowerCase(), [...(out.get(r.email.toLowerCase()) ?? []), { id: Number(r.id), entitlement: r.entitlement, state: r.state }]);
    return out;
  } finally {
    await database.close();
  }
}

function printExplanation(e: Explanation, depth: number): void {
  const mark = e.holds ? '✓' : '✗';
  const actual = e.children ? '' : `  (has ${JSON.stringify(e.actual ?? null)})`;
  console.log(`${'  '.repeat(depth)}${mark} ${e.text}${actual}`);
  for (const child of e.children ?? []) printExplanation(child, depth + 1);
}

export async function whyCommand(email: string, entitlement: string, options: { people: string; policies?: string }): Promise<void> {
  const set = await loadSet(policiesDir(options.policies));
  const person = (await readPeople(options.people)).find((p) => p.email.toLowerCase() === email.toLowerCase());
  if (!person) throw new CliError(`${email} is not in ${options.people}`, EXIT.failed);
  const answer = why(set, person, entitlement, { timeZones: timeZonesFromEnv() });
  if (answer.granted) {
    console.log(`${email} gets ${entitlement} from:`);
    for (const g of answer.grantedBy) {
      console.log(`  policy ${g.policy}, because:`);
      printExplanation(g.explanation, 2);
    }
    return;
  }
  if (answer.grantedBy.length > 0) {
    console.log(`${email} matches ${answer.grantedBy.map((g) => g.policy).join(', ')}, which grant ${entitlement}, but does not get it: ${answer.note}`);
    return;
  }
  if (!answer.closest) {
    console.log(`no policy grants ${entitlement}`);
    return;
  }
  console.log(`${email} does not get ${entitlement}. The closest policy is ${answer.closest.policy}; it fails on:`);
  for (const f of answer.closest.failed) printExplanation(f, 1);
  console.log('\nFull condition:');
  printExplanation(answer.closest.explanation, 1);
}
