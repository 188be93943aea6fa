import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { MigrationError } from '../db/migrate.js';
import { auditVerify } from './audit.js';
import { CliError, EXIT } from './exit.js';
import { migrate } from './migrate.js';
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
    .action(migrate);

  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('recompute the hash chain; exit 1 and name the first broken row if any row was altered or removed')
    .option('--format <format>', 'text or json', 'text')
    .action(auditVerify);

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
