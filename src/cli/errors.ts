// The CLI's three ways to fail, each with its exit status: a usage error (2, with a hint to
// --help), an error answered by the server (1, `<error>: <error_description>`), and anything
// else that stops a command, such as an unreachable issuer or an unreadable file (1).

export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;

export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose --help to point at, e.g. "clients create". */
    readonly helpFor = '',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string | undefined,
  ) {
    super(description ? `${code}: ${description}` : code);
    this.name = 'ApiError';
  }
}

export class CliError extends Error {
  override name = 'CliError';
}

/** The one line written to stderr for an error, and the exit status that goes with it. */
export function describeFailure(error: unknown): { lines: string[]; exitCode: number } {
  if (error instanceof UsageError) {
    const command = ['portcullis', error.helpFor].filter(Boolean).join(' ');
    return {
      lines: [`portcullis: ${error.message}`, `Run '${command} --help' for usage.`],
      exitCode: exitCodes.usage,
    };
  }
  if (error instanceof ApiError || error instanceof CliError) {
    return { lines: [`portcullis: ${error.message}`], exitCode: exitCodes.failure };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { lines: [`portcullis: unexpected error: ${message}`], exitCode: exitCodes.failure };
}
