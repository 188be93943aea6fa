/**
 * Who may decide for a system: IT (IT_ADMINS) for every system, and the system's owners
 * (SYSTEM_OWNERS), each a Slack user id or an @user-group. Parsed once in src/config.ts.
 */
export interface DeciderRules {
  itAdmins: string[];
  systemOwners: Record<string, string[]>;
}

/** The part of the Slack directory (src/slack/directory.ts) that tells who a clicker is. */
export interface DeciderDirectoryLike {
  emailForId(userId: string): Promise<string | null>;
  groupMembers(handle: string): Promise<string[] | null>;
}

export interface Authorization {
  rules: DeciderRules;
  /** Null where nobody clicks (the CLI): a Slack actor is then refused, never waved through. */
  directory: DeciderDirectoryLike | null;
}

/** The person a decision is about, by every handle Gatehouse knows them by. */
export interface Concerned {
  emails: (string | null | undefined)[];
  slackIds: (string | null | undefined)[];
}

export type Verdict = { ok: true } | { ok: false; message: string };

/** `scim:figma` is owned by `scim:figma`'s owners and by `scim`'s. */
export function ownersOf(rules: DeciderRules, system: string): string[] {
  const family = system.split(':')[0]!;
  return [...new Set([...(rules.systemOwners[system] ?? []), ...(family !== system ? (rules.systemOwners[family] ?? []) : [])])];
}

/**
 * May `actor` decide something about `concerned` on `system`? Slack clickers must be in IT_ADMINS
 * or the system's owners, and never the person concerned: compared as people (their email in
 * Slack's directory and their Slack id both), because one person can hold several Slack ids and
 * an id alone says nothing about whom an account belongs to. When the directory cannot say who
 * the clicker is, the answer is no. The CLI (`cli`, `cli:<who>`) and Gatehouse itself (`system`)
 * run on the server with the database's credentials, so they are not asked; any other actor is
 * refused, so a new caller fails closed until it is thought about.
 */
export async function authorizeDecider(authz: Authorization, input: { actor: string; system: string; concerned: Concerned }): Promise<Verdict> {
  const { actor, system } = input;
  if (actor === 'system' || actor === 'cli' || actor.startsWith('cli:')) return { ok: true };
  if (!actor.startsWith('slack:')) return { ok: false, message: `Gatehouse does not know who "${actor}" is, so it cannot let them decide this.` };
  const userId = actor.slice('slack:'.length);
  const who = ownersOf(authz.rules, system).length > 0 ? `IT (IT_ADMINS) and ${system}'s owners (SYSTEM_OWNERS)` : `IT (IT_ADMINS)`;
  if (input.concerned.slackIds.includes(userId)) return { ok: false, message: `This is about you, so someone else decides it: ${who}.` };
  if (!authz.directory) return { ok: false, message: 'Gatehouse cannot look you up in Slack, so it cannot tell whether you may decide this.' };
  let email: string | null;
  try {
    email = await authz.directory.emailForId(userId);
  } catch {
    email = null;
  }
  if (!email) return { ok: false, message: 'Gatehouse cannot see your email in Slack, so it cannot tell you from the person this is about; nothing changed.' };
  const concernedEmails = input.concerned.emails.filter((e): e is string => Boolean(e)).map((e) => e.toLowerCase());
  if (concernedEmails.includes(email.toLowerCase())) return { ok: false, message: `This is about you, so someone else decides it: ${who}.` };
  for (const entry of [...authz.rules.itAdmins, ...ownersOf(authz.rules, system)]) {
    if (entry === userId) return { ok: true };
    if (!entry.startsWith('@')) continue;
    try {
      if ((await authz.directory.groupMembers(entry))?.includes(userId)) return { ok: true };
    } catch {
      return { ok: false, message: `Gatehouse could not read the members of ${entry} from Slack, so it cannot tell whether you may decide this; try again.` };
    }
  }
  return { ok: false, message: `Only ${who} may decide this; nothing changed.` };
}
