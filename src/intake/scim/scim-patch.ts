import { parse } from 'scim2-parse-filter';
import { compileFilter } from './scim-filter.js';
import { ScimError } from './scim-error.js';

export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

type Obj = Record<string, unknown>;

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
    return { op, path: o.path as string | undefined, value: o.value };
  });
}

const key = (obj: Obj, name: string) => Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;

/** `urn:…:User:manager.value` → [`urn:…:User`, `manager`, `value`]; `name.givenName` → [`name`, `givenName`]. */
function segments(path: string): string[] {
  const urn = /^(urn:[a-zA-Z0-9:._-]+?:[A-Z][A-Za-z]*):([A-Za-z$][\w.$-]*)$/.exec(path);
  if (urn) return [urn[1]!, ...urn[2]!.split('.')];
  if (path.startsWith('urn:')) return [path];
  return path.split('.');
}

function setPath(target: Obj, parts: string[], value: unknown, merge: boolean): void {
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const k = key(node, part);
    if (node[k] === null || typeof node[k] !== 'object' || Array.isArray(node[k])) node[k] = {};
    node = node[k] as Obj;
  }
  const last = key(node, parts.at(-1)!);
  if (merge && Array.isArray(node[last]) && Array.isArray(value)) node[last] = [...(node[last] as unknown[]), ...value];
  else if (merge && node[last] && typeof node[last] === 'object' && value && typeof value === 'object' && !Array.isArray(value)) node[last] = { ...(node[last] as Obj), ...(value as Obj) };
  else node[last] = value;
}

function removePath(target: Obj, parts: string[]): void {
  let node: Obj | undefined = target;
  for (const part of parts.slice(0, -1)) {
    const next: unknown = node?.[key(node, part)];
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
      for (const [k, v] of Object.entries(op.value as Obj)) {
        if (k.toLowerCase() === 'members' && onMembers) onMembers({ op: op.op, path: 'members', value: v });
        else if (k.includes('.') && !k.startsWith('urn:')) setPath(out, segments(k), v, false);
        else setPath(out, segments(k), v, op.op === 'add');
      }
      continue;
    }
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
      const list = Array.isArray(out[k]) ? (out[k] as Obj[]) : [];
      if (op.op === 'remove') {
        out[k] = sub ? list.map((item) => (matches(item) ? (removePath(item, [sub]), item) : item)) : list.filter((item) => !matches(item));
        continue;
      }
      let hit = false;
      for (const item of list) {
        if (!matches(item)) continue;
        hit = true;
        if (sub) item[key(item, sub)] = op.value;
        else Object.assign(item, op.value as Obj);
      }
      if (!hit) {
        // add to a filtered path that matches nothing creates the element the filter describes.
        const eq = /^\s*(\w+)\s+eq\s+"([^"]*)"\s*$/i.exec(expression);
        const item: Obj = eq ? { [eq[1]!]: eq[2] } : {};
        if (sub) item[sub] = op.value;
        else Object.assign(item, op.value as Obj);
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
