// One run of the CLI: parse argv, resolve where to connect, run one admin call, print the
// result or one error line. Returns the exit status; writes only through the given streams.
import { createAdminClient } from './admin-client.js';
import { parseCommandLine } from './args.js';
import { commandEntries } from './commands/index.js';
import { describeFailure, exitCodes } from './errors.js';
import { renderHelp } from './help.js';
import { formatResult } from './output.js';
import { resolveConnection, resolveOutputFormat } from './settings.js';

export interface Streams {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv, streams: Streams): Promise<number> {
  try {
    const parsed = parseCommandLine(argv, commandEntries);
    if (parsed.kind === 'help') {
      streams.stdout(renderHelp(parsed.entry, parsed.path, commandEntries));
      return exitCodes.ok;
    }
    const format = resolveOutputFormat(parsed.globals);
    const admin = createAdminClient(resolveConnection(parsed.globals, env));
    const result = await parsed.command.run({ args: parsed.args, options: parsed.options, admin, path: parsed.path });
    streams.stdout(formatResult(result, format));
    return exitCodes.ok;
  } catch (error) {
    const failure = describeFailure(error);
    streams.stderr(`${failure.lines.join('\n')}\n`);
    return failure.exitCode;
  }
}
