import { type Filter, parse } from 'scim2-parse-filter';
import { ScimError } from './scim-error.js';

/**
 * SCIM filters (RFC 7644 §3.4.2.2), parsed by scim2-parse-filter and evaluated here because the
 * library compares strings case-sensitively, while userName, emails and most SCIM attributes are
 * caseExact false (RFC 7643 §2.2): `userName eq "ALICE@x.com"` must find alice@x.com.
 */
export function compileFilter(expression: string | undefined | null): (resource: unknown) => boolean {
  if (!expression || expression.trim() === '') return () => true;
  let ast: Filter;
  try {
    ast = parse(quoteBareValues(expression));
  } catch (error) {
    throw new ScimError(400, `invalid filter "${expression}": ${(error as Error).message}`, 'invalidFilter');
  }
  return (resource) => test(ast, resource);
}

/**
 * RFC 7644 §3.4.2.2 wants comparison values as JSON literals (`userName eq "bjensen"`), but some
 * clients (Entra ID's test suite among them) send bare words and dates: `userName sw O`,
 * `meta.created gt 2015-10-10T14:38:21Z`. A bare value that is not true, false, null or a number
 * can only mean a string, so it is quoted before parsing.
 */
export function quoteBareValues(expression: string): string {
  // Only outside quoted strings: `userName eq "a eq b"` stays as it is.
  return expression
    .split(/("(?:[^"\\]|\\.)*")/)
    .map((part, i) => (i % 2 === 1 ? part : quoteSegment(part)))
    .join('');
}

function quoteSegment(expression: string): string {
  return expression.replace(/(\b(?:eq|ne|co|sw|ew|gt|lt|ge|le)\s+)([^\s"()[\]]+)/gi, (match, op: string, value: string) =>
    /^(true|false|null|-?\d+(\.\d+)?)$/i.test(value) ? match : `${op}"${value.replace(/\\/g, '\\\\')}"`,
  );
}

function values(resource: unknown, path: string): unknown[] {
  let current: unknown[] = [resource];
  // An extension attribute names its schema URN first: urn:…:User:department.
  const urn = /^(urn:[^ ]+):([^:]+)$/.exec(path);
  const parts = urn ? [urn[1]!, ...urn[2]!.split('.')] : path.split('.');
  for (const part of parts) {
    const next: unknown[] = [];
    for (const value of current) {
      if (value === null || typeof value !== 'object') continue;
      const key = Object.keys(value).find((k) => k.toLowerCase() === part.toLowerCase());
      if (key === undefined) continue;
      const v = (value as Record<string, unknown>)[key];
      if (Array.isArray(v)) next.push(...v);
      else next.push(v);
    }
    current = next;
  }
  return current.filter((v) => v !== undefined);
}

const norm = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);

function compare(op: string, actual: unknown, expected: unknown): boolean {
  if (actual === null || actual === undefined) return false;
  // Dates compare as instants; other strings case-insensitively.
  const asDate = (v: unknown) => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : Number.NaN);
  if (['gt', 'ge', 'lt', 'le'].includes(op) && !Number.isNaN(asDate(actual)) && !Number.isNaN(asDate(expected))) {
    const [a, e] = [asDate(actual), asDate(expected)];
    return op === 'gt' ? a > e : op === 'ge' ? a >= e : op === 'lt' ? a < e : a <= e;
  }
  const a = norm(typeof actual === 'object' ? JSON.stringify(actual) : actual);
  const e = norm(expected);
  switch (op) {
    case 'eq':
      return a === e || (typeof a === 'boolean' && String(a) === String(e).toLowerCase());
    case 'ne':
      return a !== e;
    case 'co':
      return String(a).includes(String(e));
    case 'sw':
      return String(a).startsWith(String(e));
    case 'ew':
      return String(a).endsWith(String(e));
    case 'gt':
      return (a as number) > (e as number);
    case 'ge':
      return (a as number) >= (e as number);
    case 'lt':
      return (a as number) < (e as number);
    case 'le':
      return (a as number) <= (e as number);
    default:
      throw new ScimError(400, `unsupported filter operator "${op}"`, 'invalidFilter');
  }
}

function test(f: Filter, resource: unknown): boolean {
  switch (f.op) {
    case 'and':
      return (f as { filters: Filter[] }).filters.every((x) => test(x, resource));
    case 'or':
      return (f as { filters: Filter[] }).filters.some((x) => test(x, resource));
    case 'not':
      return !test((f as { filter: Filter }).filter, resource);
    case '[]': {
      const vp = f as { attrPath: string; valFilter: Filter };
      return values(resource, vp.attrPath).some((item) => test(vp.valFilter, item));
    }
    case 'pr':
      return values(resource, (f as { attrPath: string }).attrPath).some((v) => v !== null && v !== '' && !(Array.isArray(v) && v.length === 0));
    default: {
      const c = f as { op: string; attrPath: string; compValue: unknown };
      const found = values(resource, c.attrPath);
      if (c.op === 'ne') return found.length === 0 || found.every((v) => compare('ne', v, c.compValue));
      return found.some((v) => compare(c.op, v, c.compValue));
    }
  }
}

/**
 * When the whole filter is `<attribute> eq "<text>"` on one of `attributes` (what Okta and Entra
 * send before every create: `userName eq "…"`, `externalId eq "…"`, `displayName eq "…"`), that
 * attribute and value, so the lookup can use an index; otherwise undefined. The caller still
 * applies the full filter to what the lookup returns.
 */
export function equalityOn(expression: string | undefined | null, attributes: string[]): { attribute: string; value: string } | undefined {
  if (!expression || expression.trim() === '') return undefined;
  let ast: Filter;
  try {
    ast = parse(quoteBareValues(expression));
  } catch {
    return undefined;
  }
  const c = ast as { op: string; attrPath?: string; compValue?: unknown };
  if (c.op !== 'eq' || typeof c.compValue !== 'string' || typeof c.attrPath !== 'string') return undefined;
  const attribute = attributes.find((a) => a.toLowerCase() === c.attrPath!.toLowerCase());
  return attribute ? { attribute, value: c.compValue } : undefined;
}
