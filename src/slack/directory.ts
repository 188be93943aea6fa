import type { WebClient } from '@slack/web-api';
import type { Db } from '../db/database.js';

/**
 * Who is who in Slack: a person's Slack id by email (users.lookupByEmail, cached in Postgres for a
 * day, "not in Slack" included), an id's email (users.info), and a user group's members
 * (usergroups.list with include_users, cached for ten minutes). Without a Slack client it knows
 * nobody, and says so.
 */
export interface SlackDirectory {
  idForEmail(email: string): Promise<string | null>;
  emailForId(userId: string): Promise<string | null>;
  /**
   * Members of a user group by handle (`security-oncall`, with or without `@`); null if there is no
   * such group. `fresh` reads Slack now instead of the ten-minute cache: an approval decision asks
   * for it, so someone just removed from the group cannot approve from the cached list.
   */
  groupMembers(handle: string, options?: { fresh?: boolean }): Promise<string[] | null>;
}

const DAY_MS = 86_400_000;
const GROUPS_TTL_MS = 10 * 60_000;

const platformError = (error: unknown): string | undefined => (error as { data?: { error?: string } })?.data?.error;

export function createSlackDirectory(db: Db, client: WebClient | undefined): SlackDirectory {
  let groups: { at: number; byHandle: Map<string, string[]> } | undefined;
  return {
    async idForEmail(email) {
      const key = email.toLowerCase();
      const cached = await db.selectFrom('slack_users').selectAll().where('email', '=', key).executeTakeFirst();
      if (cached && cached.fetched_at.getTime() > Date.now() - DAY_MS) return cached.user_id;
      if (!client) return cached?.user_id ?? null;
      let userId: string | null;
      try {
        const found = await client.users.lookupByEmail({ email: key });
        userId = found.user?.deleted ? null : (found.user?.id ?? null);
      } catch (error) {
        if (platformError(error) !== 'users_not_found') throw error;
        userId = null;
      }
      await db
        .insertInto('slack_users')
        .values({ email: key, user_id: userId, fetched_at: new Date() })
        .onConflict((oc) => oc.column('email').doUpdateSet({ user_id: userId, fetched_at: new Date() }))
        .execute();
      return userId;
    },
    async emailForId(userId) {
      const cached = await db.selectFrom('slack_users').select(['email', 'fetched_at']).where('user_id', '=', userId).orderBy('fetched_at', 'desc').executeTakeFirst();
      if (cached && cached.fetched_at.getTime() > Date.now() - DAY_MS) return cached.email;
      if (!client) return cached?.email ?? null;
      const info = await client.users.info({ user: userId });
      const email = info.user?.profile?.email?.toLowerCase() ?? null;
      if (email) {
        await db
          .insertInto('slack_users')
          .values({ email, user_id: userId, fetched_at: new Date() })
          .onConflict((oc) => oc.column('email').doUpdateSet({ user_id: userId, fetched_at: new Date() }))
          .execute();
      }
      return email;
    },
    async groupMembers(handle, options) {
      const name = handle.replace(/^@/, '').toLowerCase();
      if (!client) return null;
      if (!groups || groups.at < Date.now() - GROUPS_TTL_MS || options?.fresh) {
        const list = await client.usergroups.list({ include_users: true });
        groups = { at: Date.now(), byHandle: new Map((list.usergroups ?? []).map((g) => [String(g.handle ?? '').toLowerCase(), (g.users ?? []) as string[]])) };
      }
      return groups.byHandle.get(name) ?? null;
    },
  };
}
