import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { MigrationError } from '../db/migrate.js';
import { accessCommand } from './access.js';
import { tasksDoneCommand, tasksListCommand } from './tasks.js';
import { driftCommand } from './drift.js';
import { auditAnchor, auditExport, auditVerify } from './audit.js';
import { CliError, EXIT } from './exit.js';
import { importCommand } from './import.js';
import { migrate } from './migrate.js';
import { planCommand, policyCheckCommand, policyImpactCommand, policySchemaCommand, whyCommand } from './policy.js';
import { sandboxCommand } from './sandbox.js';
import { serve } from './serve.js';

export function buildProgram(): Command {
  const program = new Command('gatehouse')
    .description('Access provisioning from HR events, policies as code and Slack approvals.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('serve')
    .description('run the bot: HTTP (or Socket Mode) receiver, queue workers and schedules')
    .addHelpText('after', '\nConfiguration comes from environment variables; see README → Configuration.')
    .action(serve);

  program
    .command('migrate')
    .description('apply database migrations (serve also applies them at start)')
    .option('--down', 'roll back the most recent migration instead')
    .option('--print-roles', 'print the SQL that makes the owner role (runs migrations) and the app role (runs serve; cannot alter or disable the audit log\'s triggers), for a superuser to run; see README → Security')
    .option('--owner-role <name>', 'with --print-roles: the role that owns the tables', 'gatehouse_owner')
    .option('--app-role <name>', 'with --print-roles: the role serve connects as', 'gatehouse_app')
    .action(migrate);

  const policy = program.command('policy').description('policies as code: check them, print their schema, measure a change');
  policy
    .command('check')
    .description('validate every policy file; print each error as file:line:col message; exit 1 on any error')
    .option('--policies <dir>', 'policies folder (default: POLICIES_DIR or ./policies)')
    .action(policyCheckCommand);
  policy.command('schema').description('print the JSON Schema of policy files (policies/schema.json is this output)').action(policySchemaCommand);
  policy
    .command('impact')
    .description('who gains and who loses what if the policies in --policies replace those in --base')
    .requiredOption('--base <dir>', 'the policies before the change (e.g. a checkout of the main branch)')
    .requiredOption('--people <file>', 'people file: CSV or JSON (see plan)')
    .option('--policies <dir>', 'the changed policies (default: POLICIES_DIR or ./policies)')
    .option('--format <format>', 'table or json', 'table')
    .option('--requests', "also check the people's pending and granted access requests in Gatehouse's database (DATABASE_URL) for separation-of-duties rules the change would make them break")
    .addHelpText('after', '\nExample, in a pull request:\n  git worktree add /tmp/base main && gatehouse policy impact --base /tmp/base/policies --people people.csv')
    .action(policyImpactCommand);

  program
    .command('plan')
    .description('the birthright grants, requestable catalog and separation-of-duties violations of each person')
    .requiredOption('--people <file>', 'CSV (header: the HRIS webhook data fields, attributes.<key> for custom ones) or a JSON array of data objects')
    .option('--policies <dir>', 'policies folder (default: POLICIES_DIR or ./policies)')
    .option('--format <format>', 'table or json', 'table')
    .option('--against <file>', 'a later snapshot of the same people: print only what to add and revoke per person (a transfer)')
    .addHelpText('after', '\nExamples:\n  gatehouse plan --people people.csv\n  gatehouse plan --people before.csv --against after.csv --format json')
    .action(planCommand);

  program
    .command('why')
    .description('which policy grants ENTITLEMENT to EMAIL and which conditions matched, or why none does')
    .argument('<email>', 'the person')
    .argument('<entitlement>', 'an entitlement URI, e.g. github:repo:acme/platform-api#maintain')
    .requiredOption('--people <file>', 'people file: CSV or JSON (see plan)')
    .option('--policies <dir>', 'policies folder (default: POLICIES_DIR or ./policies)')
    .action(whyCommand);

  program
    .command('import')
    .description('batch HRIS import: compare a CSV/JSON export with the person store and apply hires, updates and terminations as events')
    .argument('<file>', 'CSV (header: the HRIS webhook data fields, attributes.<key> for custom ones) or a JSON array of data objects')
    .option('--full', 'the file is the whole company: terminate active people it does not list')
    .option('--max-terminations <n|p%>', 'with --full: refuse (changing nothing) when more people than this, a count or a share of the active people, would be terminated for being missing', '10%')
    .option('--allow-mass-termination', 'with --full: no limit on how many people missing from the file are terminated')
    .option('--dry-run', 'print what would change and apply nothing')
    .addHelpText('after', '\nImporting the same file twice changes nothing. Example:\n  gatehouse import nightly-export.csv --full --dry-run')
    .action(importCommand);

  program
    .command('access')
    .description("a person's grants as Gatehouse applied them: entitlement, source (policy/request), status and expiry")
    .argument('<email>', 'the person')
    .option('--format <format>', 'table or json', 'table')
    .action(accessCommand);

  const sandbox = program.command('sandbox').description('change a sandboxed system behind Gatehouse\'s back, as an admin clicking in it would (demos, drift drills)');
  for (const action of ['grant', 'revoke'] as const) {
    sandbox
      .command(action)
      .description(
        action === 'grant'
          ? 'give EMAIL the ENTITLEMENT directly in the sandboxed system (<system>:account makes or re-enables the account)'
          : 'take the ENTITLEMENT from EMAIL directly in the sandboxed system (<system>:account suspends the account)',
      )
      .argument('<email>', 'the person')
      .argument('<entitlement>', 'an entitlement URI of a sandboxed system, e.g. github:repo:acme/secrets#admin')
      .action((email: string, entitlement: string) => sandboxCommand(action, email, entitlement));
  }

  program
    .command('drift')
    .description('run a drift scan now: access changed outside Gatehouse, classified missing (granted again), extra, orphan or level, and handled as the policies say')
    .option('--system <system>', 'scan only this system')
    .option('--format <format>', 'table or json', 'table')
    .action(driftCommand);

  const tasks = program
    .command('tasks')
    .description('manual tasks (manual:* entitlements, MANUAL_SYSTEMS) waiting on people, oldest first')
    .option('--format <format>', 'table or json', 'table')
    .action(tasksListCommand);
  tasks
    .command('done')
    .description('mark a manual task done, as its Done button in Slack does; what waited for it runs')
    .argument('<id>', 'the task number (#12 in Slack and in `gatehouse tasks`)')
    .option('--by <who>', 'who did it, for the audit log', process.env.USER ?? 'cli')
    .action(tasksDoneCommand);

  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('recompute the hash chain and its MACs (AUDIT_KEY) and check it against the anchors; exit 1 and name the first broken row if any row was altered or removed, or the log is shorter than an anchor says')
    .option('--format <format>', 'text or json', 'text')
    .option('--anchor <file>', 'a file of anchors kept outside the database (JSON lines, as audit anchor --out writes them)')
    .action(auditVerify);
  audit
    .command('anchor')
    .description('record the head of the audit chain (seq, hash, time, MAC) and print it as a JSON line, to keep outside the database')
    .option('--out <file>', 'also append the line to this file')
    .addHelpText('after', '\nExample, from cron on another machine:\n  gatehouse audit anchor --out /mnt/worm/gatehouse-anchors.jsonl\n  gatehouse audit verify --anchor /mnt/worm/gatehouse-anchors.jsonl')
    .action(auditAnchor);
  audit
    .command('export')
    .description('evidence for an auditor: per person, each access with its justification, approver, and when it was granted, verified and revoked')
    .option('--since <date>', 'only access that changed on or after this date (2026-01-31)')
    .option('--format <format>', 'csv or json', 'csv')
    .action(auditExport);

  return program;
}

/** Runs the CLI and maps every failure to one readable message and the contract's exit code. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    process.exitCode = report(error);
  }
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version "fail" with exit code 0; everything else is a usage error.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof ConfigError || error instanceof CliError || error instanceof MigrationError) {
    if (error.message) console.error(error.message);
    return error instanceof CliError ? error.exitCode : EXIT.failed;
  }
  console.error(`gatehouse: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof Error && error.cause)
    console.error(`  cause: ${String((error.cause as Error).message ?? error.cause)}`);
  return EXIT.failed;
}
