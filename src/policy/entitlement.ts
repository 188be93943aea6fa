/**
 * Entitlement URIs: `<system>:<type>[:<resource>][#<level>]` (ARCHITECTURE.md → Entitlement URIs).
 * This module knows the grammar of every system, its native levels, and which levels are ranked
 * (a GitHub repo has one permission at a time; a Jira project may give several roles).
 */

export interface TypeGrammar {
  /** Whether the type takes a resource after `:`, and what it looks like. */
  resource: 'none' | { pattern: RegExp; example: string };
  /** Native levels after `#`; `null` means no level allowed. */
  levels: readonly string[] | 'any' | null;
  /** Level when none is written (null: a level is required when `levels` is set). */
  defaultLevel?: string;
  /** Levels are ordered lowest first and exclusive: a person holds at most one per resource. */
  ranked?: boolean;
}

export interface SystemGrammar {
  types: Record<string, TypeGrammar>;
}

const name = { pattern: /^[^\s#][^#]*$/, example: 'sales-team' };
const ACCOUNT: TypeGrammar = { resource: 'none', levels: null };

export const GRAMMAR: Record<string, SystemGrammar> = {
  okta: { types: { account: ACCOUNT, group: { resource: name, levels: null } } },
  google: {
    types: {
      account: ACCOUNT,
      group: { resource: { pattern: /^[^\s@#]+@[^\s@#]+\.[^\s@#]+$/, example: 'sales@company.com' }, levels: null },
      'org-unit': { resource: { pattern: /^\/[^#]*$/, example: '/Sales/Enterprise' }, levels: null },
    },
  },
  aws: {
    types: {
      account: ACCOUNT,
      'account-assignment': { resource: { pattern: /^\d{12}$/, example: '123456789012' }, levels: 'any' },
    },
  },
  github: {
    types: {
      account: ACCOUNT,
      org: { resource: { pattern: /^[A-Za-z0-9][A-Za-z0-9-]*$/, example: 'acme' }, levels: null },
      team: {
        resource: { pattern: /^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+$/, example: 'acme/platform' },
        levels: ['member', 'maintainer'],
        defaultLevel: 'member',
        ranked: true,
      },
      repo: {
        resource: { pattern: /^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+$/, example: 'acme/platform-api' },
        levels: ['read', 'triage', 'write', 'maintain', 'admin'],
        ranked: true,
      },
    },
  },
  gitlab: {
    types: {
      account: ACCOUNT,
      group: {
        resource: { pattern: /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, example: 'engineering/platform' },
        levels: ['guest', 'reporter', 'developer', 'maintainer', 'owner'],
        ranked: true,
      },
      project: {
        resource: { pattern: /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)+$/, example: 'acme/api' },
        levels: ['guest', 'reporter', 'developer', 'maintainer', 'owner'],
        ranked: true,
      },
    },
  },
  slack: {
    types: {
      account: ACCOUNT,
      channel: { resource: { pattern: /^[a-z0-9][a-z0-9_-]{0,79}$/, example: 'sales-team' }, levels: null },
      usergroup: { resource: { pattern: /^[a-z0-9][a-z0-9._-]{0,79}$/, example: 'oncall-platform' }, levels: null },
    },
  },
  salesforce: {
    types: {
      account: ACCOUNT,
      profile: { resource: name, levels: null },
      'permission-set': { resource: { pattern: /^[A-Za-z][A-Za-z0-9_]*$/, example: 'API_Enabled' }, levels: null },
      'permission-set-group': { resource: { pattern: /^[A-Za-z][A-Za-z0-9_]*$/, example: 'Sales_Ops' }, levels: null },
    },
  },
  jira: {
    types: {
      account: ACCOUNT,
      project: { resource: { pattern: /^[A-Z][A-Z0-9_]{1,9}$/, example: 'PLAT' }, levels: 'any' },
      group: { resource: name, levels: null },
    },
  },
  manual: {
    // manual:<kind>:<item>, e.g. manual:laptop:macbook-pro-14; any kind is allowed.
    types: {},
  },
};

export const SYSTEMS = [...Object.keys(GRAMMAR), 'scim'].sort();

export interface ParsedEntitlement {
  uri: string;
  system: string;
  /** For SCIM apps, the app name (`figma` in `scim:figma:group:designers`). */
  app?: string;
  type: string;
  resource: string | null;
  level: string | null;
}

export interface EntitlementProblem {
  message: string;
}

export type ParseResult = { ok: true; value: ParsedEntitlement } | { ok: false; message: string };

export function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** "did you mean …?" for a word close to one of the candidates (also catches prefixes: writer → write). */
export function suggest(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const score = c.startsWith(word) || word.startsWith(c) ? Math.abs(c.length - word.length) * 0.5 : levenshtein(word.toLowerCase(), c.toLowerCase());
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

/**
 * Parses and validates an entitlement URI. `abstractLevels` are accepted in place of native ones
 * (the policy engine translates them with levels.yaml before anything else sees them).
 */
export function parseEntitlement(uri: string, abstractLevels: readonly string[] = []): ParseResult {
  if (typeof uri !== 'string' || uri.trim() !== uri || uri === '') return { ok: false, message: 'an entitlement is a non-empty string without surrounding spaces' };
  const hash = uri.indexOf('#');
  const body = hash === -1 ? uri : uri.slice(0, hash);
  const level = hash === -1 ? null : uri.slice(hash + 1);
  if (level === '') return { ok: false, message: `"${uri}": nothing after "#"; write a level or drop the "#"` };
  const parts = body.split(':');
  const system = parts[0]!;

  if (system === 'scim') {
    const [, app, type, ...rest] = parts;
    if (!app || !/^[a-z][a-z0-9-]*$/.test(app)) return { ok: false, message: `"${uri}": SCIM entitlements name the app: scim:<app>:account or scim:<app>:group:<name>` };
    if (type === 'account' && rest.length === 0 && level === null) return { ok: true, value: { uri, system, app, type, resource: null, level: null } };
    if (type === 'group' && rest.length > 0 && rest.join(':') !== '' && level === null)
      return { ok: true, value: { uri, system, app, type, resource: rest.join(':'), level: null } };
    return { ok: false, message: `"${uri}": a SCIM app has "account" and "group:<name>", without levels` };
  }
  if (system === 'manual') {
    const [, kind, ...rest] = parts;
    if (!kind || rest.length === 0 || rest.join(':') === '' || level !== null) {
      return { ok: false, message: `"${uri}": a manual task is manual:<kind>:<item>, e.g. manual:laptop:macbook-pro-14` };
    }
    return { ok: true, value: { uri, system, type: kind, resource: rest.join(':'), level: null } };
  }

  const grammar = GRAMMAR[system];
  if (!grammar) return { ok: false, message: `"${uri}": unknown system "${system}"${suggest(system, SYSTEMS)}; systems: ${SYSTEMS.join(', ')}` };
  const type = parts[1];
  const types = Object.keys(grammar.types);
  if (!type) return { ok: false, message: `"${uri}": missing the entitlement type after "${system}:"; ${system} has ${types.join(', ')}` };
  const typeGrammar = grammar.types[type];
  if (!typeGrammar) return { ok: false, message: `"${uri}": ${system} has no type "${type}"${suggest(type, types)}; it has ${types.join(', ')}` };
  const resource = parts.length > 2 ? parts.slice(2).join(':') : null;
  if (typeGrammar.resource === 'none') {
    if (resource !== null) return { ok: false, message: `"${uri}": ${system}:${type} takes no resource` };
  } else {
    if (resource === null || resource === '') return { ok: false, message: `"${uri}": ${system}:${type} needs a resource, e.g. ${system}:${type}:${typeGrammar.resource.example}` };
    if (!typeGrammar.resource.pattern.test(resource)) {
      return { ok: false, message: `"${uri}": "${resource}" is not a valid ${system} ${type}; expected something like "${typeGrammar.resource.example}"` };
    }
  }
  if (typeGrammar.levels === null) {
    if (level !== null) return { ok: false, message: `"${uri}": ${system}:${type} has no levels; drop "#${level}"` };
    return { ok: true, value: { uri, system, type, resource, level: null } };
  }
  if (level === null) {
    if (typeGrammar.defaultLevel) return { ok: true, value: { uri: `${uri}#${typeGrammar.defaultLevel}`, system, type, resource, level: typeGrammar.defaultLevel } };
    const example = typeGrammar.levels === 'any' ? 'PowerUser' : typeGrammar.levels[0];
    return { ok: false, message: `"${uri}": ${system}:${type} needs a level after "#", e.g. #${example}` };
  }
  if (typeGrammar.levels !== 'any' && !typeGrammar.levels.includes(level) && !abstractLevels.includes(level)) {
    const choices = [...typeGrammar.levels, ...abstractLevels];
    return { ok: false, message: `"${uri}": "${level}" is not a ${system} ${type} level${suggest(level, choices)}; levels: ${typeGrammar.levels.join(', ')} (or ${abstractLevels.join('/') || 'none'})` };
  }
  if (typeGrammar.levels === 'any' && !/^[A-Za-z0-9+=,.@_ -]{1,128}$/.test(level)) {
    return { ok: false, message: `"${uri}": "${level}" is not a valid ${system} ${type} name` };
  }
  return { ok: true, value: { uri, system, type, resource, level } };
}

/** For ranked levels: the resource key and the rank of the level, else undefined. */
export function rankOf(e: ParsedEntitlement): { key: string; rank: number } | undefined {
  if (e.system === 'scim' || e.system === 'manual') return undefined;
  const t = GRAMMAR[e.system]?.types[e.type];
  if (!t?.ranked || !Array.isArray(t.levels) || e.level === null) return undefined;
  return { key: `${e.system}:${e.type}:${e.resource}`, rank: t.levels.indexOf(e.level) };
}

/** rankOf for a URI: undefined when it has no ranked level, or does not parse. */
export function rankOfUri(uri: string): { key: string; rank: number } | undefined {
  const parsed = parseEntitlement(uri);
  return parsed.ok ? rankOf(parsed.value) : undefined;
}

/** Whether holding `higher` gives `lower`: the same ranked resource at an equal or higher level. */
export function covers(higher: string, lower: string): boolean {
  const [a, b] = [rankOfUri(higher), rankOfUri(lower)];
  return a !== undefined && b !== undefined && a.key === b.key && a.rank >= b.rank;
}

/** `<system>:account`, or `scim:<app>:account`. */
export function accountEntitlementOf(e: ParsedEntitlement): string {
  return e.system === 'scim' ? `scim:${e.app}:account` : `${e.system}:account`;
}
