import { appendFile, readFile } from 'node:fs/promises';
import { anchorAudit, anchorLine, parseAnchors } from '../audit/anchor-audit.js';
import { buildEvidence, evidenceCsv } from '../audit/evidence.js';
import { type AuditAnchor, verifyAudit } from '../audit/verify-audit.js';
import { policiesDirFromEnv } from '../config.js';
import { loadPolicies } from '../policy/index.js';
import { CliError, EXIT } from './exit.js';
import { openDatabase } from './open-database.js';

/**
 * `gatehouse audit verify [--anchor FILE]`: recompute the hash chain and its MACs (AUDIT_KEY), and
 * check it against every anchor in FILE and in the database; exit 1 at the first broken row.
 */
export async function auditVerify(options: { format?: string; anchor?: string }): Promise<void> {
  let anchors: AuditAnchor[] = [];
  if (options.anchor !== undefined) {
    const text = await readFile(options.anchor, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read the anchor file ${options.anchor}: ${error.code ?? error.message}`, EXIT.usage);
    });
    try {
      anchors = parseAnchors(text, options.anchor);
    } catch (error) {
      throw new CliError((error as Error).message, EXIT.failed);
    }
  }
  const database = await openDatabase();
  try {
    const result = await verifyAudit(database.handle.db, { anchors });
    if (options.format === 'json') console.log(JSON.stringify(result));
    else if (result.ok) {
      const signed = result.keyedFrom === null ? 'no row is signed (AUDIT_KEY was never set)' : result.keyedFrom === 1 ? 'every row signed' : `signed from row ${result.keyedFrom} on (rows before it predate AUDIT_KEY; that row's MAC vouches for them)`;
      console.log(`audit log verified: ${result.rows} rows, chain intact (last hash ${result.lastHash.slice(0, 16)}…), ${signed}, ${result.anchorsChecked} anchor(s) agree`);
    }
    if (!result.ok) {
      if (options.format === 'json') throw new CliError('', EXIT.failed);
      throw new CliError(`audit log BROKEN at row ${result.brokenAt}: ${result.reason} (${result.rows} rows before it verified)`, EXIT.failed);
    }
  } finally {
    await database.close();
  }
}

/**
 * `gatehouse audit anchor [--out FILE]`: record the head of the chain (seq, hash, time, MAC) and
 * print it as one JSON line; --out also appends the line to FILE. Keep that file (or the IT
 * channel's posts) where the database's users cannot write: it is what `audit verify --anchor`
 * checks the log against.
 */
export async function auditAnchor(options: { out?: string }): Promise<void> {
  const database = await openDatabase();
  try {
    const anchor = await anchorAudit(database.handle.db, { publishedTo: options.out ? `file:${options.out}` : 'cli' });
    const line = anchorLine(anchor);
    if (options.out) {
      await appendFile(options.out, `${line}\n`).catch((error: NodeJS.ErrnoException) => {
        throw new CliError(`cannot append to ${options.out}: ${error.code ?? error.message} (the anchor is recorded in the database; print it without --out and store it by hand)`, EXIT.failed);
      });
    }
    console.log(line);
  } finally {
    await database.close();
  }
}

/**
 * `gatehouse audit export [--since DATE] [--format csv|json]`: evidence for an auditor, per
 * person and access: justification, approver, when granted, verified and revoked, with the audit
 * chain's state. CSV is RFC 4180 with formula-looking values neutralised.
 */
export async function auditExport(options: { since?: string; format: string }): Promise<void> {
  if (options.format !== 'csv' && options.format !== 'json') throw new CliError(`--format must be csv or json, not "${options.format}"`, EXIT.usage);
  let since: Date | null = null;
  if (options.since !== undefined) {
    since = /^\d{4}-\d{2}-\d{2}$/.test(options.since) ? new Date(`${options.since}T00:00:00Z`) : new Date(options.since);
    if (!/^\d{4}-\d{2}-\d{2}/.test(options.since) || Number.isNaN(since.getTime())) throw new CliError(`--since must be a date such as 2026-01-31 (or an ISO timestamp), not "${options.since}"`, EXIT.usage);
  }
  const loaded = await loadPolicies(policiesDirFromEnv()).catch(() => null);
  const descriptions = new Map((loaded?.policies ?? []).map((p) => [p.name, p.description]));
  const database = await openDatabase();
  try {
    const evidence = await buildEvidence(database.handle.db, { since, policyDescriptions: descriptions });
    process.stdout.write(options.format === 'json' ? `${JSON.stringify(evidence, null, 2)}\n` : evidenceCsv(evidence));
    if (!evidence.audit_chain.ok) process.stderr.write(`warning: the audit chain is broken at row ${evidence.audit_chain.broken_at}; run gatehouse audit verify\n`);
  } finally {
    await database.close();
  }
}
