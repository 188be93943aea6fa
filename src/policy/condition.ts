import { suggest } from './entitlement.js';
import type { AttributeTest, Condition } from './schema.js';

/**
 * The person as policies see it: the HRIS record's fields, custom `attributes`, and the IdP
 * `groups`. Structural, so the policy layer needs nothing from the people store.
 */
export interface PolicyPerson {
  employee_id: string;
  email: string;
  status?: string | null;
  attributes?: Record<string, unknown>;
  groups?: readonly string[];
  [field: string]: unknown;
}

export const PERSON_FIELDS = [
  'employee_id',
  'email',
  'first_name',
  'last_name',
  'job_title',
  'department',
  'team',
  'employment_type',
  'start_date',
  'end_date',
  'manager_email',
  'location',
  'time_zone',
  'cost_center',
  'status',
  'groups',
] as const;

/** Attributes that hold lists: `attr: value` means contains, `in` means shares any. */
const LIST_FIELDS = new Set(['groups']);

export type Path = (string | number)[];

export interface CompileError {
  path: Path;
  message: string;
  /** The problem is the key at the end of `path` (an attribute name), not its value. */
  atKey?: boolean;
}

/** Why a condition held or not, for `gatehouse why`. */
export interface Explanation {
  /** The condition in words: `department equals "Sales"`, `any of`, `not`. */
  text: string;
  holds: boolean;
  /** For attribute tests: what the person has. */
  actual?: unknown;
  children?: Explanation[];
}

export interface CompiledCondition {
  test(person: PolicyPerson): boolean;
  explain(person: PolicyPerson): Explanation;
  /** Equality tests every match needs, for indexing: attribute → allowed values. */
  required: Map<string, Set<string>>;
  /** Every attribute the condition reads. */
  attributes: Set<string>;
}

/**
 * Own properties only: a value inherited from a prototype is not the person's (issue 27: a
 * polluted Object.prototype.groups put everyone without groups into the attacker's group).
 */
const own = (obj: object | undefined, key: string): unknown => (obj !== undefined && obj !== null && Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined);

export function readAttribute(person: PolicyPerson, attribute: string): unknown {
  if (attribute.startsWith('attributes.')) return own(own(person, 'attributes') as object | undefined, attribute.slice('attributes.'.length));
  if (attribute === 'groups') return own(person, 'groups') ?? [];
  // The HRIS record defaults status to active; a person file that omits it means the same.
  if (attribute === 'status') return own(person, 'status') ?? 'active';
  return own(person, attribute);
}

function isPresent(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

const asText = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);

function globToRegExp(glob: string): RegExp {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's');
}

/** One value-level predicate and its description. */
function compileTest(attribute: string, test: AttributeTest, path: Path, errors: CompileError[]): { predicate: (v: unknown) => boolean; text: string; equals?: string[] } {
  const list = LIST_FIELDS.has(attribute);
  const anyOf = (p: (s: string) => boolean) => (v: unknown) => (Array.isArray(v) ? v.some((x) => asText(x) !== undefined && p(asText(x)!)) : asText(v) !== undefined && p(asText(v)!));
  if (typeof test !== 'object' || test === null) {
    const expected = String(test);
    return { predicate: anyOf((s) => s === expected), text: `${attribute} ${list ? 'contains' : 'equals'} ${JSON.stringify(test)}`, equals: list ? undefined : [expected] };
  }
  if ('in' in test) {
    const set = new Set(test.in.map(String));
    return { predicate: anyOf((s) => set.has(s)), text: `${attribute} ${list ? 'shares any of' : 'is one of'} ${JSON.stringify(test.in)}`, equals: list ? undefined : [...set] };
  }
  if ('matches' in test) {
    const re = globToRegExp(test.matches);
    return { predicate: anyOf((s) => re.test(s)), text: `${attribute} matches "${test.matches}"` };
  }
  if ('regex' in test) {
    let re: RegExp;
    try {
      re = new RegExp(test.regex);
    } catch (error) {
      errors.push({ path: [...path, 'regex'], message: `invalid regular expression: ${(error as Error).message}` });
      re = /$^/;
    }
    return { predicate: anyOf((s) => re.test(s)), text: `${attribute} matches /${test.regex}/` };
  }
  if ('exists' in test) {
    const want = test.exists;
    return { predicate: (v) => isPresent(v) === want, text: `${attribute} ${want ? 'is present' : 'is absent'}` };
  }
  if ('before' in test) {
    const limit = test.before;
    return { predicate: anyOf((s) => /^\d{4}-\d{2}-\d{2}/.test(s) && s.slice(0, 10) < limit), text: `${attribute} is before ${limit}` };
  }
  const limit = test.after;
  return { predicate: anyOf((s) => /^\d{4}-\d{2}-\d{2}/.test(s) && s.slice(0, 10) > limit), text: `${attribute} is after ${limit}` };
}

function checkAttributeName(attribute: string, path: Path, errors: CompileError[]): void {
  if (attribute.startsWith('attributes.')) {
    if (!/^attributes\.[A-Za-z_][A-Za-z0-9_.-]*$/.test(attribute)) errors.push({ path, atKey: true, message: `"${attribute}" is not a valid custom attribute name` });
    // The intake refuses these as attribute names (src/people/prototype-keys.ts), so no person has them.
    else if (/^(__proto__|constructor|prototype)$/i.test(attribute.slice('attributes.'.length))) errors.push({ path, atKey: true, message: `"${attribute}" is not a valid custom attribute name: __proto__, constructor and prototype are reserved` });
    return;
  }
  if (!(PERSON_FIELDS as readonly string[]).includes(attribute)) {
    errors.push({
      path,
      atKey: true,
      message: `unknown attribute "${attribute}"${suggest(attribute, PERSON_FIELDS)}; use a person field (${PERSON_FIELDS.join(', ')}) or attributes.<key>`,
    });
  }
}

/**
 * Compiles a condition once into closures, so evaluating thousands of people re-parses nothing.
 * Problems (unknown attributes, bad regexes) are reported with their path in the policy file.
 */
export function compileCondition(condition: Condition, path: Path, errors: CompileError[]): CompiledCondition {
  const parts: CompiledCondition[] = [];
  const required = new Map<string, Set<string>>();
  const attributes = new Set<string>();

  for (const [key, value] of Object.entries(condition)) {
    if (value === undefined) continue;
    if (key === 'all' || key === 'any') {
      const children = (value as Condition[]).map((c, i) => compileCondition(c, [...path, key, i], errors));
      for (const child of children) for (const a of child.attributes) attributes.add(a);
      if (key === 'all') {
        for (const child of children) for (const [a, vals] of child.required) required.set(a, vals);
      }
      parts.push({
        test: key === 'all' ? (p) => children.every((c) => c.test(p)) : (p) => children.some((c) => c.test(p)),
        explain: (p) => {
          const kids = children.map((c) => c.explain(p));
          return { text: key === 'all' ? 'all of' : 'any of', holds: key === 'all' ? kids.every((k) => k.holds) : kids.some((k) => k.holds), children: kids };
        },
        required: new Map(),
        attributes: new Set(),
      });
      continue;
    }
    if (key === 'not') {
      const inner = compileCondition(value as Condition, [...path, key], errors);
      for (const a of inner.attributes) attributes.add(a);
      parts.push({
        test: (p) => !inner.test(p),
        explain: (p) => {
          const child = inner.explain(p);
          return { text: 'not', holds: !child.holds, children: [child] };
        },
        required: new Map(),
        attributes: new Set(),
      });
      continue;
    }
    checkAttributeName(key, [...path, key], errors);
    attributes.add(key);
    const { predicate, text, equals } = compileTest(key, value as AttributeTest, [...path, key], errors);
    if (equals) required.set(key, new Set(equals));
    parts.push({
      test: (p) => predicate(readAttribute(p, key)),
      explain: (p) => {
        const actual = readAttribute(p, key);
        return { text, holds: predicate(actual), actual: actual ?? null };
      },
      required: new Map(),
      attributes: new Set(),
    });
  }

  if (parts.length === 0) errors.push({ path, message: 'an empty condition matches everyone; write the test explicitly (e.g. status: active)' });
  const single = parts.length === 1 ? parts[0]! : undefined;
  return {
    test: single ? single.test : (p) => parts.every((part) => part.test(p)),
    explain: single
      ? single.explain
      : (p) => {
          const kids = parts.map((part) => part.explain(p));
          return { text: 'all of', holds: kids.every((k) => k.holds), children: kids };
        },
    required,
    attributes,
  };
}
