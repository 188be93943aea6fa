import { parse } from 'scim2-parse-filter';
import { findPrototypeKey, isPrototypeKey, PROTOTYPE_KEYS } from '../../people/prototype-keys.js';
import { compileFilter } from './scim-filter.js';
import { ScimError } from './scim-error.js';

export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

type Obj = Record<string, unknown>;

/**
 * Refuses a path that names `__proto__`, `constructor` or `prototype` anywhere: as an attribute, a
 * sub-attribute, after a URN, or inside a filter (issue 27: `__proto__.groups` was walked into
 * Object.prototype). Quoted filter values are not names and are left alone.
 */
export function assertSafePath(path: string, where: string): void {
  const names = path.replace(/"(?:[^"\\]|\\.)*"/g, '""').split(/[^A-Za-z0-9_$-]+/);
  const bad = names.find(isPrototypeKey);
  if (bad) throw new ScimError(400, `${where}: "${bad}" is not an attribute; ${PROTOTYPE_KEYS.join(', ')} cannot appear in a path`, 'invalidPath');
}

/** Refuses a value that has `__proto__`, `constructor` or `prototype` as a key at any depth. */
export function assertSafeValue(value: unknown, where: string): void {
  const bad = findPrototypeKey(value);
  if (bad) throw new ScimError(400, `${where}: the key "${bad}" is not allowed; ${PROTOTYPE_KEYS.join(', ')} cannot be attribute names`, 'invalidValue');
}

/** Entra sends "Replace" and "True": ops are case-insensitive and booleans may be strings. */
export function readPatch(body: unknown): PatchOperation[] {
  const b = body as { schemas?: unknown; Operations?: unknown };
  if (!b || !Array.isArray(b.Operations) || b.Operations.length === 0) throw new ScimError(400, 'a PATCH body needs a non-empty Operations list', 'invalidSyntax');
  return b.Operations.map((raw, i) => {
    const o = raw as { op?: unknown; path?: unknown; value?: unknown };
    const op = typeof o?.op === 'string' ? o.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw new ScimError(400, `Operations[${i}].op must be add, replace or remove`, 'invalidSyntax');
    if (o.path !== undefined && typeof o.path !== 'string') throw new ScimError(400, `Operations[${i}].path must be a string`, 'invalidPath');
    if (op === 'remove' && !o.path) throw new ScimError(400, `Operations[${i}]: remove needs a path`, 'noTarget');
    if (o.path) assertSafePath(o.path, `Operations[${i}].path`);
    assertSafeValue(o.value, `Operations[${i}].value`);
    return { op, path: o.path as string | undefined, value: o.value };
  });
}

const key = (obj: Obj, name: string) => Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;

/** An own property only: a path must never read through to a prototype. */
const own = (obj: Obj, k: string): unknown => (Object.hasOwn(obj, k) ? obj[k] : undefined);

/** Object.assign for input: copies own keys, never a prototype key (Object.assign would set `__proto__`). */
function assignOwn(target: Obj, source: unknown): void {
  if (!source || typeof source !== 'object' || Array.isArray(source)) return;
  for (const [k, v] of Object.entries(source)) if (!isPrototypeKey(k)) target[k] = v;
}

/** `urn:…:User:manager.value` → [`urn:…:User`, `manager`, `value`]; `name.givenName` → [`name`, `givenName`]. */
function segments(path: string): string[] {
  const urn = /^(urn:[a-zA-Z0-9:._-]+?:[A-Z][A-Za-z]*):([A-Za-z$][\w.$-]*)$/.exec(path);
  const parts = urn ? [urn[1]!, ...urn[2]!.split('.')] : path.startsWith('urn:') ? [path] : path.split('.');
  // Second line of defence behind readPatch: whoever calls applyPatch, no segment is a prototype key.
  for (const part of parts) if (isPrototypeKey(part)) throw new ScimError(400, `"${part}" cannot appear in a path`, 'invalidPath');
  return parts;
}

function setPath(target: Obj, parts: string[], value: unknown, merge: boolean): void {
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const k = key(node, part);
    const next = own(node, k);
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[k] = {};
    node = node[k] as Obj;
  }
  const last = key(node, parts.at(-1)!);
  const current = own(node, last);
  if (merge && Array.isArray(current) && Array.isArray(value)) node[last] = [...(current as unknown[]), ...value];
  else if (merge && current && typeof current === 'object' && value && typeof value === 'object' && !Array.isArray(value)) node[last] = { ...(current as Obj), ...(value as Obj) };
  else node[last] = value;
}

function removePath(target: Obj, parts: string[]): void {
  let node: Obj | undefined = target;
  for (const part of parts.slice(0, -1)) {
    const next: unknown = node ? own(node, key(node, part)) : undefined;
    node = next && typeof next === 'object' ? (next as Obj) : undefined;
  }
  if (node) delete node[key(node, parts.at(-1)!)];
}

/**
 * Applies PATCH operations (RFC 7644 §3.5.2) to a resource's attributes. `members` of a group is
 * handled by the caller, which passes `onMembers`.
 */
export function applyPatch(resource: Obj, operations: PatchOperation[], onMembers?: (op: PatchOperation, filter?: (m: unknown) => boolean) => void): Obj {
  const out = structuredClone(resource);
  for (const op of operations) {
    if (!op.path) {
      if (op.op === 'remove') throw new ScimError(400, 'remove needs a path', 'noTarget');
      if (!op.value || typeof op.value !== 'object' || Array.isArray(op.value)) throw new ScimError(400, `${op.op} without a path needs an object value`, 'invalidValue');
      assertSafeValue(op.value, op.op);
      for (const [k, v] of Object.entries(op.value as Obj)) {
        if (k.toLowerCase() === 'members' && onMembers) onMembers({ op: op.op, path: 'members', value: v });
        else if (k.includes('.') && !k.startsWith('urn:')) setPath(out, segments(k), v, false);
        else setPath(out, segments(k), v, op.op === 'add');
      }
      continue;
    }
    assertSafePath(op.path, op.op);
    assertSafeValue(op.value, op.op);
    const filtered = /^([^[]+)\[(.+)\](?:\.(.+))?$/.exec(op.path);
    if (filtered) {
      const [, attr, expression, sub] = filtered as unknown as [string, string, string, string | undefined];
      try {
        parse(expression);
      } catch {
        throw new ScimError(400, `invalid path filter "${expression}"`, 'invalidPath');
      }
      const matches = compileFilter(expression);
      if (attr.toLowerCase() === 'members' && onMembers) {
        onMembers(op, matches);
        continue;
      }
      const k = key(out, attr);
      const list = Array.isArray(own(out, k)) ? (out[k] as Obj[]) : [];
      if (op.op === 'remove') {
        out[k] = sub ? list.map((item) => (matches(item) ? (removePath(item, [sub]), item) : item)) : list.filter((item) => !matches(item));
        continue;
      }
      let hit = false;
      for (const item of list) {
        if (!matches(item)) continue;
        hit = true;
        if (sub) item[key(item, sub)] = op.value;
        else assignOwn(item, op.value);
      }
      if (!hit) {
        // add to a filtered path that matches nothing creates the element the filter describes.
        const eq = /^\s*(\w+)\s+eq\s+"([^"]*)"\s*$/i.exec(expression);
        const item: Obj = eq ? { [eq[1]!]: eq[2] } : {};
        if (sub) item[sub] = op.value;
        else assignOwn(item, op.value);
        list.push(item);
        out[k] = list;
      }
      continue;
    }
    if (op.path.toLowerCase() === 'members' && onMembers) {
      onMembers(op);
      continue;
    }
    if (op.op === 'remove') removePath(out, segments(op.path));
    else setPath(out, segments(op.path), op.value, op.op === 'add');
  }
  return out;
}
