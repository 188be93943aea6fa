/**
 * npm run bench:policy — evaluates 10,000 generated people against 200 generated policies and
 * prints people/second (median, min and max over the runs) with the machine it ran on.
 * The data is generated from a fixed seed, so every run measures the same work.
 */
import { cpus } from 'node:os';
import { report } from './result.js';
import { buildPolicySet, evaluate, type PolicyPerson } from '../src/policy/index.js';
import { parsePolicyText } from '../src/policy/loader.js';
import type { CompiledConflict, CompiledPolicy } from '../src/policy/types.js';

const PEOPLE = 10_000;
const POLICIES = 200;
const RUNS = Number(process.env.BENCH_RUNS ?? 9);

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(20261123);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

const DEPARTMENTS = Array.from({ length: 25 }, (_, i) => `Dept${i}`);
const TEAMS = Array.from({ length: 12 }, (_, i) => `Team${i}`);
const TITLES = ['Engineer', 'Senior Engineer', 'Manager', 'Analyst', 'Designer', 'Account Executive', 'Sales Engineer', 'Director'];
const LOCATIONS = ['London', 'Berlin', 'New York', 'San Francisco', 'Remote', 'Paris', 'Tokyo'];
const TYPES = ['FTE', 'Contractor', 'Intern'];

function policyYaml(i: number): string {
  const dept = DEPARTMENTS[i % DEPARTMENTS.length]!;
  const grants = Array.from({ length: 4 + (i % 6) }, (_, j) => {
    const k = (i * 7 + j) % 60;
    return pick([`okta:group:g${k}`, `github:repo:acme/repo${k}#write`, `slack:channel:c${k}`, `jira:project:P${k}X#Developers`, `google:group:l${k}@company.com`]);
  });
  const shapes = [
    `when:\n  department: ${dept}\n  job_title: { in: [${pick(TITLES)}, ${pick(TITLES)}] }\n`,
    `when:\n  all:\n    - department: ${dept}\n    - team: ${pick(TEAMS)}\n    - not: { employment_type: Contractor }\n`,
    `when:\n  any:\n    - location: ${pick(LOCATIONS)}\n    - job_title: { matches: "${pick(['Senior*', '*Engineer', 'Dir*'])}" }\n  department: ${dept}\n`,
    `when:\n  any:\n    - groups: oncall-${i % 5}\n    - attributes.clearance: { in: [secret, top-secret] }\n`,
  ];
  return `name: policy-${i}\ndescription: generated\nowner: "@owners"\n${shapes[i % shapes.length]}grants:\n${[...new Set(grants)].map((g) => `  - "${g}"`).join('\n')}\n${
    i % 10 === 0 ? 'requestable:\n  - entitlement: "okta:group:elevated"\n    max_duration: 8h\n    approvers: [manager]\n' : ''
  }`;
}

function person(i: number): PolicyPerson {
  return {
    employee_id: `e${i}`,
    email: `person${i}@company.com`,
    status: random() < 0.97 ? 'active' : 'terminated',
    department: pick(DEPARTMENTS),
    team: pick(TEAMS),
    job_title: pick(TITLES),
    employment_type: pick(TYPES),
    location: pick(LOCATIONS),
    start_date: '2025-01-01',
    end_date: random() < 0.1 ? '2027-06-30' : null,
    groups: random() < 0.2 ? [`oncall-${Math.floor(random() * 5)}`] : [],
    attributes: { clearance: pick(['none', 'secret', 'public', 'top-secret']) },
  };
}

const parseStart = performance.now();
const policies: CompiledPolicy[] = [];
const conflicts: CompiledConflict[] = [];
for (let i = 0; i < POLICIES; i++) {
  const r = parsePolicyText(`policy-${i}.yaml`, policyYaml(i), {});
  if (r.errors.length > 0) throw new Error(`generated policy ${i} is invalid: ${r.errors[0]!.message}`);
  policies.push(r.policy!);
}
for (let i = 0; i < 20; i++) conflicts.push({ name: `c${i}`, entitlements: [`okta:group:g${i}`, `slack:channel:c${i + 1}`], reason: 'generated', file: 'generated' });
const set = buildPolicySet({ policies, conflicts });
const parseMs = performance.now() - parseStart;
const people = Array.from({ length: PEOPLE }, (_, i) => person(i));

const now = new Date('2026-11-23T12:00:00Z');
const rates: number[] = [];
let grants = 0;
for (let run = 0; run < RUNS + 1; run++) {
  const start = performance.now();
  grants = 0;
  for (const p of people) grants += evaluate(set, p, { now }).grants.length;
  const ms = performance.now() - start;
  if (run > 0) rates.push(PEOPLE / (ms / 1000)); // run 0 warms up the JIT
}
rates.sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

console.log('bench:policy — policy evaluation');
console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores (one used), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
console.log(`work: ${fmt(PEOPLE)} people × ${POLICIES} policies (+20 conflict rules), ${fmt(grants)} grants per pass; parse+compile+index ${parseMs.toFixed(1)} ms`);
console.log(`runs: ${RUNS} (after 1 warm-up)`);
console.log(`people/second: median ${fmt(median)}, min ${fmt(rates[0]!)}, max ${fmt(rates.at(-1)!)}`);
console.log(`whole plan (${fmt(PEOPLE)} people): median ${((PEOPLE / median) * 1000).toFixed(0)} ms`);
report({ name: 'policy evaluation', work: `${fmt(PEOPLE)} people × ${POLICIES} policies (+20 conflict rules), one core`, runs: RUNS, unit: 'people/s', median: Math.round(median), min: Math.round(rates[0]!), max: Math.round(rates.at(-1)!), notes: `whole plan ${((PEOPLE / median) * 1000).toFixed(0)} ms` });
