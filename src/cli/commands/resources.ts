// `portcullis resources …`: /admin/resources, the APIs tokens are issued for. The identifier
// is a URI, so it is URL-encoded into one path segment.
import type { Command, CommandGroup } from '../command.js';
import { UsageError } from '../errors.js';
import { readJsonObject } from '../input.js';

const columns = ['identifier', 'name', 'scopes', 'access_token_ttl', 'access_token_format', 'client_id'];
const resourcePath = (identifier: string) => `/resources/${encodeURIComponent(identifier)}`;

function readTtl(value: string | undefined, path: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`${path}: --ttl must be a whole number of seconds`, path);
  return Number(value);
}

function readFormat(value: string | undefined, path: string): string | undefined {
  if (value === undefined || value === 'jwt' || value === 'opaque') return value;
  throw new UsageError(`${path}: --format must be jwt or opaque`, path);
}

const list: Command = {
  name: 'list',
  summary: 'list every API',
  async run({ admin }) {
    return { kind: 'list', items: await admin.listAll('/resources'), columns };
  },
};

const get: Command = {
  name: 'get',
  summary: 'show an API',
  arguments: ['<identifier>'],
  async run({ admin, args }) {
    return { kind: 'object', value: await admin.get(resourcePath(args[0]!)) };
  },
};

const create: Command = {
  name: 'create',
  summary: 'register an API; its identifier becomes the aud of its access tokens',
  options: {
    identifier: { type: 'string', value: 'URI', description: 'an absolute URI without a fragment (required)' },
    scope: { type: 'string', multiple: true, value: 'SCOPE', description: 'a scope the API defines (repeatable; required)' },
    ttl: { type: 'string', value: 'SECONDS', description: 'access token lifetime (server default 300)' },
    format: { type: 'string', value: 'jwt|opaque', description: 'access token format (default jwt)' },
    'dpop-bound': { type: 'boolean', description: 'issue its tokens only DPoP-bound, against a proof (RFC 9449)' },
    'client-id': { type: 'string', value: 'ID', description: 'the client that acts for this API (token exchange)' },
    name: { type: 'string', value: 'NAME', description: 'a display name' },
  },
  notes: [
    "After the command word --client-id names the API's client; give the admin client id by",
    'environment variable (PORTCULLIS_CLIENT_ID) or before the command word.',
  ],
  async run({ admin, options, path }) {
    const identifier = options.string('identifier');
    if (!identifier) throw new UsageError(`${path}: --identifier is required`, path);
    const scopes = options.strings('scope').flatMap((scope) => scope.split(/\s+/).filter(Boolean));
    if (!scopes.length) throw new UsageError(`${path}: at least one --scope is required`, path);
    const body: Record<string, unknown> = { identifier, scopes };
    const ttl = readTtl(options.string('ttl'), path);
    if (ttl !== undefined) body.access_token_ttl = ttl;
    const format = readFormat(options.string('format'), path);
    if (format !== undefined) body.access_token_format = format;
    if (options.flag('dpop-bound')) body.dpop_bound_access_tokens = true;
    const clientId = options.string('client-id');
    if (clientId !== undefined) body.client_id = clientId;
    const name = options.string('name');
    if (name !== undefined) body.name = name;
    return { kind: 'object', value: await admin.post('/resources', body) };
  },
};

const update: Command = {
  name: 'update',
  summary: 'replace an API (fields left out return to their defaults)',
  arguments: ['<identifier>'],
  options: { json: { type: 'string', value: 'FILE|-', description: 'the API as JSON, from a file or stdin (required)' } },
  async run({ admin, args, options, path }) {
    const json = options.string('json');
    if (json === undefined) throw new UsageError(`${path}: --json FILE|- is required`, path);
    return { kind: 'object', value: await admin.put(resourcePath(args[0]!), await readJsonObject(json)) };
  },
};

const remove: Command = {
  name: 'delete',
  summary: 'delete an API',
  arguments: ['<identifier>'],
  async run({ admin, args }) {
    await admin.delete(resourcePath(args[0]!));
    return { kind: 'none' };
  },
};

export const resourceCommands: CommandGroup = {
  name: 'resources',
  summary: 'register and manage APIs (resource servers)',
  commands: [list, get, create, update, remove],
};
