// --help text at every level, generated from the command specs so it cannot drift from them.
import { globalOptions } from './args.js';
import { isGroup, type Command, type CommandEntry, type CommandGroup, type OptionSpecs } from './command.js';

function columns(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

function optionLines(specs: OptionSpecs): string[] {
  return columns(
    Object.entries(specs).map(([name, spec]) => {
      const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`;
      return [flag, spec.description];
    }),
  );
}

const credentialNotes = [
  'Credentials: an admin token (PORTCULLIS_ADMIN_TOKEN), or an admin client id and secret',
  '(PORTCULLIS_CLIENT_ID, PORTCULLIS_CLIENT_SECRET) with which a token is first obtained by',
  'client_credentials with scope admin. Prefer the environment variables: tokens and secrets',
  'given as arguments are visible to other users in the process list and stay in shell history.',
];

function mainHelp(entries: readonly CommandEntry[]): string[] {
  return [
    'portcullis: manage a Portcullis authorization server through its admin API',
    '',
    'Usage: portcullis [global options] <command> [<subcommand>] [arguments] [options]',
    '',
    'Commands:',
    ...columns(entries.map((entry) => [entry.name, entry.summary])),
    '',
    'Global options (before or after the command):',
    ...optionLines(globalOptions),
    '',
    ...credentialNotes,
    '',
    'Output is pretty-printed JSON with sorted keys (pipe it to jq); --output table is for people.',
    'Exit status: 0 success, 1 error from the server or the network, 2 usage error.',
    "Run 'portcullis <command> --help' for more.",
  ];
}

function groupHelp(group: CommandGroup): string[] {
  return [
    `portcullis ${group.name}: ${group.summary}`,
    '',
    `Usage: portcullis ${group.name} <subcommand> [arguments] [options]`,
    '',
    'Subcommands:',
    ...columns(group.commands.map((command) => [[command.name, ...(command.arguments ?? [])].join(' '), command.summary])),
    '',
    `Run 'portcullis ${group.name} <subcommand> --help' for its options; 'portcullis --help' for global options.`,
  ];
}

function commandHelp(command: Command, path: string): string[] {
  const options = command.options ?? {};
  const usage = ['portcullis', path, ...(command.arguments ?? []), Object.keys(options).length ? '[options]' : '']
    .filter(Boolean)
    .join(' ');
  return [
    `portcullis ${path}: ${command.summary}`,
    '',
    `Usage: ${usage}`,
    ...(Object.keys(options).length ? ['', 'Options:', ...optionLines(options)] : []),
    ...(command.notes?.length ? ['', ...command.notes] : []),
    '',
    'Global options: --issuer URL, --output json|table, and credentials (see portcullis --help).',
  ];
}

export function renderHelp(entry: CommandEntry | undefined, path: string, entries: readonly CommandEntry[]): string {
  const lines = !entry ? mainHelp(entries) : isGroup(entry) ? groupHelp(entry) : commandHelp(entry, path);
  return `${lines.join('\n')}\n`;
}
