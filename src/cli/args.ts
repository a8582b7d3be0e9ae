// Turns argv into a command to run (or a help topic), using node:util parseArgs. Global options
// may come before the command or after it; where a command has an option of the same name
// (`resources create --client-id`), the command's meaning wins after the command word.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { isGroup, type Command, type CommandEntry, type OptionSpecs, type OptionValues } from './command.js';
import { UsageError } from './errors.js';

export const globalOptions: OptionSpecs = {
  issuer: { type: 'string', value: 'URL', description: 'the server (env PORTCULLIS_ISSUER; default http://localhost:3000)' },
  token: { type: 'string', value: 'TOKEN', description: 'an admin access token (prefer env PORTCULLIS_ADMIN_TOKEN)' },
  'client-id': { type: 'string', value: 'ID', description: 'admin client id (env PORTCULLIS_CLIENT_ID)' },
  'client-secret': {
    type: 'string',
    value: 'SECRET',
    description: 'admin client secret (prefer env PORTCULLIS_CLIENT_SECRET)',
  },
  output: { type: 'string', short: 'o', value: 'FORMAT', description: 'json (default) or table' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

export type ParsedCommandLine =
  | { kind: 'help'; entry: CommandEntry | undefined; path: string }
  | { kind: 'run'; command: Command; path: string; args: string[]; options: OptionValues; globals: OptionValues };

type RawValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

function optionValues(raw: RawValues): OptionValues {
  return {
    string: (name) => {
      const value = raw[name];
      return typeof value === 'string' ? value : undefined;
    },
    strings: (name) => {
      const value = raw[name];
      if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
      return typeof value === 'string' ? [value] : [];
    },
    flag: (name) => raw[name] === true,
  };
}

function toParseArgsConfig(specs: OptionSpecs): ParseArgsOptionsConfig {
  const config: ParseArgsOptionsConfig = {};
  for (const [name, spec] of Object.entries(specs)) {
    config[name] = {
      type: spec.type,
      ...(spec.multiple ? { multiple: true } : {}),
      ...(spec.short ? { short: spec.short } : {}),
    };
  }
  return config;
}

function parse(args: string[], specs: OptionSpecs, helpFor: string): { values: RawValues; positionals: string[] } {
  try {
    return parseArgs({ args, options: toParseArgsConfig(specs), strict: true, allowPositionals: true });
  } catch (error) {
    // parseArgs explains at length how to pass dashes; the first sentence is the problem.
    const message = error instanceof Error ? error.message.split(/\. (?=[A-Z])/)[0]! : String(error);
    throw new UsageError(message.charAt(0).toLowerCase() + message.slice(1), helpFor);
  }
}

function takesValue(arg: string, specs: OptionSpecs): boolean {
  if (arg.includes('=')) return false;
  if (arg.startsWith('--')) return specs[arg.slice(2)]?.type === 'string';
  if (arg.length !== 2) return false; // -oTABLE carries its value
  return Object.values(specs).some((spec) => spec.short === arg.slice(1) && spec.type === 'string');
}

/** Splits off the options in front of the next word: ["--issuer", "U", "clients", …] → 2. */
function leadingOptionsEnd(args: string[], specs: OptionSpecs): number {
  let index = 0;
  while (index < args.length) {
    const arg = args[index]!;
    if (arg === '--' || arg === '-' || !arg.startsWith('-')) break;
    index += takesValue(arg, specs) ? 2 : 1;
  }
  return Math.min(index, args.length);
}

// Passwords on the command line end up in shell history and the process list.
function refusePasswordArguments(args: string[], helpFor: string): void {
  const end = args.indexOf('--');
  for (const arg of end === -1 ? args : args.slice(0, end)) {
    if (/^--password(=|$)/.test(arg)) {
      const hint = 'use --password-stdin or env PORTCULLIS_USER_PASSWORD';
      throw new UsageError(`passwords are not taken as arguments: ${hint}`, helpFor);
    }
  }
}

export function parseCommandLine(argv: string[], entries: readonly CommandEntry[]): ParsedCommandLine {
  const globals: RawValues = {};
  let rest = argv;
  let entry: CommandEntry | undefined;
  let path = '';
  // Walk down: global options, a group word, global options, a command word.
  for (let depth = 0; depth < 2; depth += 1) {
    const end = leadingOptionsEnd(rest, globalOptions);
    Object.assign(globals, parse(rest.slice(0, end), globalOptions, path).values);
    rest = rest.slice(end);
    const word = rest[0];
    if (word === undefined) {
      if (globals.help) return { kind: 'help', entry, path };
      throw new UsageError(entry ? `${path}: missing subcommand` : 'missing command', path);
    }
    const candidates: readonly CommandEntry[] = entry && isGroup(entry) ? entry.commands : entries;
    const next = candidates.find((candidate) => candidate.name === word);
    if (!next) throw new UsageError(`unknown command '${[path, word].filter(Boolean).join(' ')}'`, path);
    entry = next;
    path = [path, word].filter(Boolean).join(' ');
    rest = rest.slice(1);
    if (!isGroup(entry)) break;
  }
  const command = entry as Command;
  const specs = command.options ?? {};
  refusePasswordArguments(rest, path);
  const parsed = parse(rest, { ...globalOptions, ...specs }, path);
  for (const name of Object.keys(globalOptions)) {
    if (!(name in specs) && parsed.values[name] !== undefined) globals[name] = parsed.values[name];
  }
  if (globals.help) return { kind: 'help', entry: command, path };
  const expected = command.arguments ?? [];
  if (parsed.positionals.length < expected.length) {
    throw new UsageError(`${path}: missing ${expected.slice(parsed.positionals.length).join(' ')}`, path);
  }
  if (parsed.positionals.length > expected.length) {
    throw new UsageError(`${path}: unexpected argument '${parsed.positionals[expected.length]}'`, path);
  }
  return {
    kind: 'run',
    command,
    path,
    args: parsed.positionals,
    options: optionValues(parsed.values),
    globals: optionValues(globals),
  };
}
