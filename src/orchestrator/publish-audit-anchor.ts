import { anchorAudit, anchorLine } from '../audit/anchor-audit.js';
import type { Db } from '../db/database.js';
import type { Notifier } from '../slack/notifier.js';

/**
 * The scheduled anchor (AUDIT_ANCHOR_SCHEDULE): records the head of the audit chain and posts it to
 * the IT channel, whose history the database's users cannot rewrite. The line in the message is
 * what `audit verify --anchor` reads, so an auditor can paste the channel's anchors into a file.
 * A failed post throws and the job is retried; the retry records one more anchor, which is harmless
 * (each anchor is a true statement of the head at its time).
 */
export async function publishAuditAnchor(deps: { db: Db; notifier: Notifier; itChannel: string }): Promise<void> {
  const anchor = await anchorAudit(deps.db, { publishedTo: `slack:${deps.itChannel}` });
  const line = anchorLine(anchor);
  const signed = anchor.mac ? 'signed with AUDIT_KEY' : 'unsigned: AUDIT_KEY is not set';
  await deps.notifier.post({
    channel: deps.itChannel,
    text: `Audit log anchor: row ${anchor.seq}, hash ${anchor.hash.slice(0, 16)}… (${signed}). Keep these lines; \`gatehouse audit verify --anchor FILE\` checks the log against them.\n\`\`\`${line}\`\`\``,
  });
}
