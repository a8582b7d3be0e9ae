// `portcullis keys list|rotate` and `portcullis token`.
import type { Command, CommandGroup } from '../command.js';
import { UsageError } from '../errors.js';

const columns = ['kid', 'kty', 'crv', 'alg', 'status', 'use_from', 'published_until'];

const list: Command = {
  name: 'list',
  summary: 'show the public signing keys',
  async run({ admin }) {
    const body = (await admin.get('/keys')) as { keys?: unknown } | undefined;
    const items = Array.isArray(body?.keys) ? body.keys : [];
    return { kind: 'list', items, columns };
  },
};

const rotate: Command = {
  name: 'rotate',
  summary: 'publish new signing keys now; they sign after the delay',
  options: {
    delay: { type: 'string', value: 'SECONDS', description: 'seconds until the new keys sign (default: the server\'s KEY_ROTATION_DELAY)' },
  },
  async run({ admin, options, path }) {
    const delay = options.string('delay');
    if (delay !== undefined && !/^\d{1,5}$/.test(delay)) throw new UsageError(`${path}: --delay must be a whole number of seconds`, path);
    const body = (await admin.post('/keys/rotate', delay === undefined ? {} : { delay_seconds: Number(delay) })) as { keys?: unknown };
    return { kind: 'list', items: Array.isArray(body?.keys) ? body.keys : [], columns };
  },
};

export const keyCommands: CommandGroup = {
  name: 'keys',
  summary: 'show and rotate the signing keys',
  commands: [list, rotate],
};

export const tokenCommand: Command = {
  name: 'token',
  summary: 'print an admin access token, for scripts: TOKEN=$(portcullis token)',
  async run({ admin }) {
    return { kind: 'text', text: await admin.accessToken() };
  },
};
