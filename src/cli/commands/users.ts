// `portcullis users …`: /admin/users. Passwords come from stdin or PORTCULLIS_USER_PASSWORD,
// never from an argument.
import type { Command, CommandGroup } from '../command.js';
import { UsageError } from '../errors.js';
import { readNewUserPassword, readPasswordFromStdin } from '../password.js';

const columns = ['sub', 'username', 'email', 'name', 'disabled'];
const userPath = (sub: string) => `/users/${encodeURIComponent(sub)}`;

const profileOptions = {
  email: { type: 'string', value: 'EMAIL', description: 'email address' },
  name: { type: 'string', value: 'NAME', description: 'full name' },
} as const;

const list: Command = {
  name: 'list',
  summary: 'list every user',
  async run({ admin }) {
    return { kind: 'list', items: await admin.listAll('/users'), columns };
  },
};

const get: Command = {
  name: 'get',
  summary: 'show a user',
  arguments: ['<sub>'],
  async run({ admin, args }) {
    return { kind: 'object', value: await admin.get(userPath(args[0]!)) };
  },
};

const create: Command = {
  name: 'create',
  summary: 'create a user who can log in',
  options: {
    username: { type: 'string', value: 'USERNAME', description: 'the name typed at login (required)' },
    'password-stdin': { type: 'boolean', description: 'read the password from stdin (else env PORTCULLIS_USER_PASSWORD)' },
    ...profileOptions,
  },
  notes: ['Example: printf %s "$PASSWORD" | portcullis users create --username alice --password-stdin'],
  async run({ admin, options, path }) {
    const username = options.string('username');
    if (!username) throw new UsageError(`${path}: --username is required`, path);
    const body: Record<string, unknown> = {
      username,
      password: await readNewUserPassword(options.flag('password-stdin'), process.env, path),
    };
    for (const field of ['email', 'name']) {
      const value = options.string(field);
      if (value !== undefined) body[field] = value;
    }
    return { kind: 'object', value: await admin.post('/users', body) };
  },
};

const update: Command = {
  name: 'update',
  summary: 'change the given fields of a user',
  arguments: ['<sub>'],
  options: {
    'password-stdin': { type: 'boolean', description: 'set a new password, read from stdin' },
    ...profileOptions,
    disable: { type: 'boolean', description: 'refuse logins from this user' },
    enable: { type: 'boolean', description: 'allow logins again' },
  },
  async run({ admin, args, options, path }) {
    if (options.flag('disable') && options.flag('enable')) {
      throw new UsageError(`${path}: give --disable or --enable, not both`, path);
    }
    const body: Record<string, unknown> = {};
    for (const field of ['email', 'name']) {
      const value = options.string(field);
      if (value !== undefined) body[field] = value;
    }
    if (options.flag('disable')) body.disabled = true;
    if (options.flag('enable')) body.disabled = false;
    if (options.flag('password-stdin')) body.password = await readPasswordFromStdin(path);
    if (Object.keys(body).length === 0) throw new UsageError(`${path}: nothing to change`, path);
    return { kind: 'object', value: await admin.put(userPath(args[0]!), body) };
  },
};

const remove: Command = {
  name: 'delete',
  summary: 'delete a user',
  arguments: ['<sub>'],
  async run({ admin, args }) {
    await admin.delete(userPath(args[0]!));
    return { kind: 'none' };
  },
};

export const userCommands: CommandGroup = {
  name: 'users',
  summary: 'manage the people who log in',
  commands: [list, get, create, update, remove],
};
