// `portcullis clients …`: /admin/clients. A client secret is printed once, by create and
// rotate-secret (and by update when a client starts to use a secret); get never shows one.
import type { Command, CommandGroup, CommandInput, OptionSpecs } from '../command.js';
import { UsageError } from '../errors.js';
import { readJsonObject, readPublicJwks } from '../input.js';

const columns = ['client_id', 'client_name', 'grant_types', 'token_endpoint_auth_method', 'scope'];
const clientPath = (clientId: string) => `/clients/${encodeURIComponent(clientId)}`;

const jsonOption = {
  type: 'string',
  value: 'FILE|-',
  description: 'client metadata (RFC 7591) as JSON, from a file or stdin',
} as const;

const createOptions: OptionSpecs = {
  // Not --client-id: that global option names the admin client the CLI signs in as.
  id: { type: 'string', value: 'ID', description: 'client_id (default: a random one chosen by the server)' },
  name: { type: 'string', value: 'NAME', description: 'client_name' },
  'grant-type': {
    type: 'string',
    multiple: true,
    value: 'GRANT',
    description: 'authorization_code, refresh_token or client_credentials (repeatable)',
  },
  'redirect-uri': { type: 'string', multiple: true, value: 'URI', description: 'a redirect URI (repeatable)' },
  scope: { type: 'string', value: '"A B"', description: 'space-separated scopes the client may request' },
  'auth-method': {
    type: 'string',
    value: 'METHOD',
    description: 'private_key_jwt, client_secret_basic (default), client_secret_post or none',
  },
  'jwks-file': { type: 'string', value: 'FILE', description: 'public keys (a JWK Set or one JWK) for private_key_jwt' },
  'jwks-uri': { type: 'string', value: 'URI', description: 'where the client publishes its public keys' },
  'dpop-bound': { type: 'boolean', description: 'dpop_bound_access_tokens: no token without a DPoP proof (RFC 9449 §5.2)' },
  json: { ...jsonOption, description: 'start from this metadata (a file or - for stdin); the flags above override it' },
};

async function buildMetadata({ options }: CommandInput): Promise<Record<string, unknown>> {
  const json = options.string('json');
  const metadata: Record<string, unknown> = json ? await readJsonObject(json) : {};
  const id = options.string('id');
  if (id !== undefined) metadata.client_id = id;
  const name = options.string('name');
  if (name !== undefined) metadata.client_name = name;
  const grantTypes = options.strings('grant-type');
  if (grantTypes.length) metadata.grant_types = grantTypes;
  const redirectUris = options.strings('redirect-uri');
  if (redirectUris.length) metadata.redirect_uris = redirectUris;
  const scope = options.string('scope');
  if (scope !== undefined) metadata.scope = scope.trim().split(/\s+/).join(' ');
  const authMethod = options.string('auth-method');
  if (authMethod !== undefined) metadata.token_endpoint_auth_method = authMethod;
  const jwksFile = options.string('jwks-file');
  const jwksUri = options.string('jwks-uri');
  if (jwksFile !== undefined) metadata.jwks = await readPublicJwks(jwksFile);
  if (jwksUri !== undefined) metadata.jwks_uri = jwksUri;
  if (options.flag('dpop-bound')) metadata.dpop_bound_access_tokens = true;
  // Registering keys means the client signs its assertions; the server's default is a secret.
  if ((jwksFile !== undefined || jwksUri !== undefined) && metadata.token_endpoint_auth_method === undefined) {
    metadata.token_endpoint_auth_method = 'private_key_jwt';
  }
  return metadata;
}

const list: Command = {
  name: 'list',
  summary: 'list every client',
  async run({ admin }) {
    return { kind: 'list', items: await admin.listAll('/clients'), columns };
  },
};

const get: Command = {
  name: 'get',
  summary: "show a client's metadata (never its secret)",
  arguments: ['<client_id>'],
  async run({ admin, args }) {
    return { kind: 'object', value: await admin.get(clientPath(args[0]!)) };
  },
};

const create: Command = {
  name: 'create',
  summary: 'register a client; a generated client_secret is shown this once',
  options: createOptions,
  notes: [
    'With --jwks-file or --jwks-uri and no --auth-method, the client uses private_key_jwt.',
    'Without --id (or client_id in the --json metadata) the server picks a random client_id.',
  ],
  async run(input) {
    return { kind: 'object', value: await input.admin.post('/clients', await buildMetadata(input)) };
  },
};

const update: Command = {
  name: 'update',
  summary: "replace a client's metadata (fields left out return to their defaults)",
  arguments: ['<client_id>'],
  options: { json: jsonOption },
  async run({ admin, args, options, path }) {
    const json = options.string('json');
    if (json === undefined) throw new UsageError(`${path}: --json FILE|- is required`, path);
    return { kind: 'object', value: await admin.put(clientPath(args[0]!), await readJsonObject(json)) };
  },
};

const remove: Command = {
  name: 'delete',
  summary: 'delete a client; its tokens stop working',
  arguments: ['<client_id>'],
  async run({ admin, args }) {
    await admin.delete(clientPath(args[0]!));
    return { kind: 'none' };
  },
};

const rotateSecret: Command = {
  name: 'rotate-secret',
  summary: 'replace the client secret; the new one is shown this once and the old one stops working',
  arguments: ['<client_id>'],
  async run({ admin, args }) {
    return { kind: 'object', value: await admin.post(`${clientPath(args[0]!)}/secret`) };
  },
};

export const clientCommands: CommandGroup = {
  name: 'clients',
  summary: 'register and manage OAuth clients',
  commands: [list, get, create, update, remove, rotateSecret],
};
