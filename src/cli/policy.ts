import { policiesDirFromEnv } from '../config.js';
import { readPeopleFile } from '../people/people-file.js';
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
  const now = new Date();
  const plans = (await readPeople(options.people)).map((p) => evaluate(set, p, { now })).sort((a, b) => a.email.localeCompare(b.email) || a.employee_id.localeCompare(b.employee_id));

  if (options.against) {
    const after = (await readPeople(options.against)).map((p) => evaluate(set, p, { now }));
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

export async function policyImpactCommand(options: { base: string; people: string; policies?: string; format: string }): Promise<void> {
  const format = checkFormat(options.format);
  const [base, next] = await Promise.all([loadSet(options.base), loadSet(policiesDir(options.policies))]);
  const people = await readPeople(options.people);
  const now = new Date();
  const deltas = diffPlans(
    people.map((p) => evaluate(base, p, { now })),
    people.map((p) => evaluate(next, p, { now })),
  );
  if (format === 'json') {
    console.log(JSON.stringify({ people: deltas.map((d) => ({ email: d.email, gain: d.add.map((g) => g.entitlement), lose: d.revoke.map((g) => g.entitlement) })) }, null, 2));
    return;
  }
  if (deltas.length === 0) {
    console.log(`no one gains or loses access (${people.length} people compared)`);
    return;
  }
  for (const d of deltas) {
    console.log(d.email);
    for (const g of d.add) console.log(`  gains ${g.entitlement}  (${g.policy})`);
    for (const g of d.revoke) console.log(`  loses ${g.entitlement}  (${g.policy})`);
  }
  const gains = deltas.reduce((n, d) => n + d.add.length, 0);
  const losses = deltas.reduce((n, d) => n + d.revoke.length, 0);
  console.log(`\n${deltas.length} of ${people.length} people affected: ${gains} grants gained, ${losses} lost`);
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
  const answer = why(set, person, entitlement);
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
