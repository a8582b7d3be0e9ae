// The shape every CLI command shares: what it accepts (for parsing and --help) and what it
// returns (for printing). Commands never write to stdout themselves.
import type { AdminClient } from './admin-client.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** Placeholder for the value in --help, e.g. "URL". */
  readonly value?: string;
  readonly description: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Option values after parsing, read by name. */
export interface OptionValues {
  string(name: string): string | undefined;
  strings(name: string): string[];
  flag(name: string): boolean;
}

export type CommandResult =
  | { readonly kind: 'list'; readonly items: readonly unknown[]; readonly columns: readonly string[] }
  | { readonly kind: 'object'; readonly value: unknown }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'none' };

export interface CommandInput {
  /** Positional arguments, as many as `arguments` names. */
  readonly args: readonly string[];
  readonly options: OptionValues;
  readonly admin: AdminClient;
  /** "clients create": for usage errors that point at the right --help. */
  readonly path: string;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Positional argument names for --help, e.g. ["<client_id>"]; all are required. */
  readonly arguments?: readonly string[];
  readonly options?: OptionSpecs;
  /** Further lines for --help. */
  readonly notes?: readonly string[];
  run(input: CommandInput): Promise<CommandResult>;
}

export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly Command[];
}

export type CommandEntry = Command | CommandGroup;

export function isGroup(entry: CommandEntry): entry is CommandGroup {
  return 'commands' in entry;
}
