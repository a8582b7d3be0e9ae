// `portcullis keys list` and `portcullis token`.
import type { Command, CommandGroup } from '../command.js';

const columns = ['kid', 'kty', 'crv', 'alg', 'use', 'status'];

const list: Command = {
  name: 'list',
  summary: 'show the public signing keys',
  async run({ admin }) {
    const body = (await admin.get('/keys')) as { keys?: unknown } | undefined;
    const items = Array.isArray(body?.keys) ? body.keys : [];
    return { kind: 'list', items, columns };
  },
};

export const keyCommands: CommandGroup = {
  name: 'keys',
  summary: 'show the signing keys',
  commands: [list],
};

export const tokenCommand: Command = {
  name: 'token',
  summary: 'print an admin access token, for scripts: TOKEN=$(portcullis token)',
  async run({ admin }) {
    return { kind: 'text', text: await admin.accessToken() };
  },
};
