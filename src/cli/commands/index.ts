// Every top-level command, in the order --help lists them.
import type { CommandEntry } from '../command.js';
import { clientCommands } from './clients.js';
import { keyCommands, tokenCommand } from './keys.js';
import { resourceCommands } from './resources.js';
import { userCommands } from './users.js';

export const commandEntries: readonly CommandEntry[] = [
  clientCommands,
  userCommands,
  resourceCommands,
  keyCommands,
  tokenCommand,
];
