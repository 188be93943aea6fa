/** The CLI's exit codes (ARCHITECTURE.md → CLI): 0 ok, 1 invalid input or failed check, 2 usage error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** An error the CLI reports as one clear line and an exit code, without a stack trace. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failed) {
    super(message);
    this.exitCode = exitCode;
    this.name = 'CliError';
  }
}
