import { compareText } from './compare.js';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { type CompileError, compileCondition, type Path } from './condition.js';
import { parseEntitlement } from './entitlement.js';
import { ABSTRACT_LEVELS, DEFAULT_LEVELS, LEVELS_FILE, type LevelTable, loadLevels, translateLevel } from './levels.js';
import {
  type ConflictRule,
  conflictsFileSchema,
  durationMs,
  type PolicyDocument,
  policySchema,
} from './schema.js';
import type { CompiledConflict, CompiledPolicy, CompiledRequestable } from './types.js';

/** A problem in a policy file, positioned for `file:line:col message`. */
export interface PolicyError {
  file: string;
  line: number;
  col: number;
  message: string;
}

export function formatPolicyError(e: PolicyError): string {
  return `${e.file}:${e.line}:${e.col} ${e.message}`;
}

export interface LoadedPolicies {
  policies: CompiledPolicy[];
  conflicts: CompiledConflict[];
  levels: LevelTable;
  errors: PolicyError[];
}

const APPROVER = /^(manager|owner|@[A-Za-z0-9._-]+|[UW][A-Z0-9]{6,})$/;

/** The YAML node at `path`, or the closest ancestor that exists (for "missing key" errors). */
function nodeAt(root: Node | null, path: Path): { node: Node | null; keyNode?: Node } {
  let node: Node | null = root;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return { node };
      const value = pair.value as Node | null;
      if (!isNode(value)) return { node: pair.key as Node };
      node = value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (!isNode(item)) return { node };
      node = item;
    } else {
      return { node };
    }
  }
  return { node };
}

function keyNodeAt(root: Node | null, path: Path, key: string): Node | null {
  const { node } = nodeAt(root, path);
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
    if (pair && isNode(pair.key)) return pair.key;
  }
  return node;
}

class FileContext {
  readonly errors: PolicyError[] = [];
  readonly file: string;
  readonly #root: Node | null;
  readonly #lines: LineCounter;
  constructor(file: string, root: Node | null, lines: LineCounter) {
    this.file = file;
    this.#root = root;
    this.#lines = lines;
  }
  at(path: Path, message: string, key?: string): void {
    const node = key !== undefined ? keyNodeAt(this.#root, path, key) : nodeAt(this.#root, path).node;
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.#lines.linePos(offset);
    this.errors.push({ file: this.file, line, col, message });
  }
  zod(error: z.ZodError): void {
    for (const issue of error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) this.at(issue.path as Path, `unknown key "${key}"`, key);
      } else if (issue.code === 'invalid_union') {
        // Report the most specific branch's first problem rather than "invalid input".
        const branches = (issue as unknown as { errors: z.core.$ZodIssue[][] }).errors ?? [];
        const best = branches.flat().sort((a, b) => b.path.length - a.path.length)[0];
        if (best) this.at([...(issue.path as Path), ...(best.path as Path)], best.message);
        else this.at(issue.path as Path, issue.message);
      } else if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined) {
        const path = issue.path as Path;
        this.at(path.slice(0, -1), `missing required key "${String(path.at(-1))}"`);
      } else {
        this.at(issue.path as Path, issue.message);
      }
    }
  }
}

/** Validates and translates an entitlement; reports at `path`. */
function nativeEntitlement(ctx: FileContext, levels: LevelTable, uri: string, path: Path): string | undefined {
  const parsed = parseEntitlement(uri, ABSTRACT_LEVELS);
  if (!parsed.ok) {
    ctx.at(path, parsed.message);
    return undefined;
  }
  const translated = translateLevel(parsed.value, levels);
  if ('error' in translated) {
    ctx.at(path, translated.error);
    return undefined;
  }
  return translated.uri;
}

function compileConflicts(ctx: FileContext, levels: LevelTable, rules: ConflictRule[], base: Path): CompiledConflict[] {
  const out: CompiledConflict[] = [];
  rules.forEach((rule, i) => {
    const entitlements = rule.entitlements.map((e, j) => nativeEntitlement(ctx, levels, e, [...base, i, 'entitlements', j]));
    if (entitlements.every((e): e is string => e !== undefined)) out.push({ name: rule.name, entitlements, reason: rule.reason, file: ctx.file });
  });
  return out;
}

function compilePolicy(ctx: FileContext, levels: LevelTable, doc: PolicyDocument): { policy?: CompiledPolicy; conflicts: CompiledConflict[] } {
  const conditionErrors: CompileError[] = [];
  const when = compileCondition(doc.when, ['when'], conditionErrors);
  const grants = doc.grants.flatMap((g, i) => {
    const spec = typeof g === 'string' ? { entitlement: g } : g;
    const path: Path = typeof g === 'string' ? ['grants', i] : ['grants', i, 'entitlement'];
    const native = nativeEntitlement(ctx, levels, spec.entitlement, path);
    return native ? [{ entitlement: native, critical: Boolean('critical' in spec && spec.critical), drift: ('drift' in spec ? spec.drift : undefined) ?? doc.drift ?? 'alert' }] : [];
  });
  const requestable: CompiledRequestable[] = [];
  doc.requestable.forEach((r, i) => {
    const native = nativeEntitlement(ctx, levels, r.entitlement, ['requestable', i, 'entitlement']);
    r.approvers.forEach((step, j) => {
      const names = typeof step === 'string' ? [step] : 'any' in step ? step.any : step.all;
      names.forEach((name, k) => {
        if (!APPROVER.test(name)) {
          const path: Path = typeof step === 'string' ? ['requestable', i, 'approvers', j] : ['requestable', i, 'approvers', j, 'any' in step ? 'any' : 'all', k];
          ctx.at(path, `approver "${name}" is not "manager", "owner", a Slack user group "@name" or a Slack user id "U…"`);
        }
      });
    });
    const auto = r.auto_approve ? compileCondition(r.auto_approve.when, ['requestable', i, 'auto_approve', 'when'], conditionErrors) : undefined;
    if (r.auto_approve && r.max_duration && durationMs(r.auto_approve.max_duration) > durationMs(r.max_duration)) {
      ctx.at(['requestable', i, 'auto_approve', 'max_duration'], `auto-approval may not last longer than max_duration (${r.max_duration})`);
    }
    if (native) {
      requestable.push({
        entitlement: native,
        description: r.description ?? null,
        maxDuration: r.max_duration ?? null,
        justification: r.justification,
        approvers: r.approvers.map((step) => (typeof step === 'string' ? { mode: 'any' as const, approvers: [step] } : 'any' in step ? { mode: 'any' as const, approvers: step.any } : { mode: 'all' as const, approvers: step.all })),
        autoApprove: r.auto_approve && auto ? { when: auto, maxDuration: r.auto_approve.max_duration } : null,
      });
    }
  });
  if (doc.expires !== undefined && !/^(start_date|end_date|attributes\.[A-Za-z_][A-Za-z0-9_.-]*)$/.test(doc.expires)) {
    ctx.at(['expires'], `expires names a date attribute of the person: end_date, start_date or attributes.<key>, not "${doc.expires}"`);
  }
  for (const e of conditionErrors) {
    if (e.atKey) ctx.at(e.path.slice(0, -1), e.message, String(e.path.at(-1)));
    else ctx.at(e.path, e.message);
  }
  const conflicts = compileConflicts(ctx, levels, doc.conflicts ?? [], ['conflicts']);
  if (conditionErrors.length > 0) return { conflicts };
  return {
    conflicts,
    policy: {
      name: doc.name,
      description: doc.description,
      owner: doc.owner,
      file: ctx.file,
      when,
      grants,
      requestable,
      expires: doc.expires ?? null,
      moverOverlapMs: doc.mover_overlap ? durationMs(doc.mover_overlap) : 0,
      drift: doc.drift ?? 'alert',
    },
  };
}

/** Parses one policy file's text. `file` is only used to name it in errors; `levels` is the table loadLevels gives. */
export function parsePolicyText(file: string, text: string, levels: LevelTable): { policy?: CompiledPolicy; conflicts: CompiledConflict[]; errors: PolicyError[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const ctx = new FileContext(file, doc.contents as Node | null, lines);
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const { line, col } = lines.linePos(e.pos[0]);
      ctx.errors.push({ file, line, col, message: `YAML: ${e.message.split('\n')[0]}` });
    }
    return { conflicts: [], errors: ctx.errors };
  }
  let data: unknown;
  try {
    // toJS resolves aliases: an undefined one, or an alias bomb, throws here rather than in parsing.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    ctx.at([], `YAML: ${(error as Error).message}`);
    return { conflicts: [], errors: ctx.errors };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    ctx.at([], 'a policy file holds one policy (a map with name, description, owner, when, …) or a top-level conflicts: list');
    return { conflicts: [], errors: ctx.errors };
  }
  if (!('name' in data) && 'conflicts' in data) {
    const parsed = conflictsFileSchema.safeParse(data);
    if (!parsed.success) {
      ctx.zod(parsed.error);
      return { conflicts: [], errors: ctx.errors };
    }
    return { conflicts: compileConflicts(ctx, levels, parsed.data.conflicts, ['conflicts']), errors: ctx.errors };
  }
  const parsed = policySchema.safeParse(data);
  if (!parsed.success) {
    ctx.zod(parsed.error);
    return { conflicts: [], errors: ctx.errors };
  }
  const { policy, conflicts } = compilePolicy(ctx, levels, parsed.data);
  return { policy: ctx.errors.length === 0 ? policy : undefined, conflicts, errors: ctx.errors };
}

export const POLICY_FILE = /\.ya?ml$/;

/**
 * Loads every `*.yaml`/`*.yml` in `dir` but levels.yaml (the level table, not a policy), reporting
 * all errors of all files at once. Policies come back sorted by name, so evaluation order never
 * depends on the file system.
 */
export async function loadPolicies(dir: string): Promise<LoadedPolicies> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    return { policies: [], conflicts: [], levels: DEFAULT_LEVELS, errors: [{ file: dir, line: 1, col: 1, message: `cannot read the policies folder: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }] };
  }
  // levels.yaml is optional: without it the built-in table applies; with it, it overrides that.
  // Its problems are reported with the policy files' rather than instead of them.
  const { levels, errors: levelErrors } = await loadLevels(dir);
  const files = entries.filter((f) => POLICY_FILE.test(f) && f !== LEVELS_FILE).sort();
  const policies: CompiledPolicy[] = [];
  const conflicts: CompiledConflict[] = [];
  const errors: PolicyError[] = [...levelErrors];
  const seen = new Map<string, string>();
  for (const f of files) {
    const file = join(dir, f);
    const result = parsePolicyText(file, await readFile(file, 'utf8'), levels);
    errors.push(...result.errors);
    conflicts.push(...result.conflicts);
    if (result.policy) {
      const previous = seen.get(result.policy.name);
      if (previous) {
        const text = await readFile(file, 'utf8');
        const at = /^name:[ \t]*/m.exec(text);
        const before = at ? text.slice(0, at.index + at[0].length) : '';
        const line = before.split('\n').length;
        const col = before.length - before.lastIndexOf('\n');
        errors.push({ file, line, col, message: `policy name "${result.policy.name}" is already used by ${basename(previous)}` });
      } else {
        seen.set(result.policy.name, file);
        policies.push(result.policy);
      }
    }
  }
  policies.sort((a, b) => compareText(a.name, b.name));
  conflicts.sort((a, b) => compareText(a.name, b.name));
  return { policies, conflicts, levels, errors };
}
