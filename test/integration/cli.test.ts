// The `portcullis` CLI run the way a user runs it: a child process (`node --import tsx
// src/cli/main.ts …`) against a real server, checking stdout, stderr and exit codes, and
// checking what the CLI did through the server itself (/token, the admin API).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import {
  adminClientId,
  adminClientSecret,
  createTestEnvironment,
  freePort,
  storesLabel,
  type TestEnvironment,
  type TestServer,
} from '../helpers/server.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const cliEntry = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

// The child sees no PORTCULLIS_* or test-runner variables from this process, only what a test gives it.
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('PORTCULLIS_') && !name.startsWith('NODE_TEST')) env[name] = value;
  }
  return env;
}

function runCliProcess(args: string[], env: Record<string, string>, stdin?: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cliEntry, ...args], {
      cwd: repoRoot,
      env: { ...baseEnv(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

function parseJson<T = Record<string, unknown>>(run: CliRun): T {
  assert.equal(run.code, 0, `exit 0 expected; stderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

// RFC 6749 §2.3.1, written independently of the CLI's own encoder.
function basic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

async function tokenRequest(issuer: string, clientId: string, clientSecret: string, params: Record<string, string>) {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: basic(clientId, clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe(`portcullis CLI (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let cliEnv: Record<string, string>;
  const cli = (args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) =>
    runCliProcess(args, { ...cliEnv, ...options.env }, options.stdin);

  async function adminFetch(method: string, path: string, body?: unknown): Promise<Response> {
    const token = (await cli(['token'])).stdout.trim();
    return fetch(`${server.issuer}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  }

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    cliEnv = {
      PORTCULLIS_ISSUER: server.issuer,
      PORTCULLIS_CLIENT_ID: adminClientId,
      PORTCULLIS_CLIENT_SECRET: adminClientSecret,
    };
  });

  after(async () => {
    await env?.cleanup();
  });

  it('token prints just an admin access token that the admin API accepts', async () => {
    const run = await cli(['token']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const token = run.stdout.trim();
    assert.equal(run.stdout, `${token}\n`);
    const claims = decodeJwt(token);
    assert.equal(claims.iss, server.issuer);
    assert.equal(claims.aud, `${server.issuer}/admin`);
    assert.equal(claims.client_id, adminClientId);
    assert.ok(String(claims.scope).split(' ').includes('admin'));

    // The token works in its own right, from the environment, for another command.
    const keys = await cli(['keys', 'list'], {
      env: { PORTCULLIS_ADMIN_TOKEN: token, PORTCULLIS_CLIENT_ID: '', PORTCULLIS_CLIENT_SECRET: '' },
    });
    const list = parseJson<Record<string, unknown>[]>(keys);
    assert.ok(list.length >= 1);
    for (const key of list) {
      assert.equal(typeof key.kid, 'string');
      assert.equal(key.d, undefined, 'no private key material');
    }
  });

  it('keys rotate publishes new keys that sign after --delay', async () => {
    const run = await cli(['keys', 'rotate', '--delay', '3600']);
    assert.equal(run.code, 0, run.stderr);
    const keys = parseJson<{ kid: string; status: string; d?: string }[]>(run);
    assert.deepEqual(keys.map((key) => key.status).filter((status) => status === 'next').length, 2);
    for (const key of keys) assert.equal(key.d, undefined);
    const bad = await cli(['keys', 'rotate', '--delay', 'soon']);
    assert.equal(bad.code, 2);
  });

  it('resources: create, list, get (URL-encoded identifier), delete', async () => {
    const identifier = 'https://api.test/orders/v1';
    const created = parseJson(
      await cli([
        ...['resources', 'create', '--identifier', identifier],
        ...['--scope', 'orders:read', '--scope', 'orders:write', '--ttl', '600', '--format', 'jwt'],
      ]),
    );
    assert.equal(created.identifier, identifier);
    assert.deepEqual(created.scopes, ['orders:read', 'orders:write']);
    assert.equal(created.access_token_ttl, 600);
    assert.equal(created.access_token_format, 'jwt');

    const listed = parseJson<Record<string, unknown>[]>(await cli(['resources', 'list']));
    assert.deepEqual(listed.find((item) => item.identifier === identifier), created);

    const table = await cli(['resources', 'list', '--output', 'table']);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    assert.match(header!, /^IDENTIFIER\s+NAME\s+SCOPES\s+ACCESS_TOKEN_TTL/);
    const row = rows.find((line) => line.startsWith(`${identifier} `));
    assert.match(row ?? '', /\s-\s+orders:read orders:write\s+600\s+jwt\s+-$/);

    assert.deepEqual(parseJson(await cli(['resources', 'get', identifier])), created);

    const deleted = await cli(['resources', 'delete', identifier]);
    assert.deepEqual(deleted, { code: 0, stdout: '', stderr: '' });
    const gone = await adminFetch('GET', `/resources/${encodeURIComponent(identifier)}`);
    assert.equal(gone.status, 404);
  });

  it('list commands follow next_cursor to the end', async () => {
    // More APIs than the largest page (200), made directly through the admin API.
    const token = (await cli(['token'])).stdout.trim();
    const identifiers = Array.from({ length: 205 }, (_, n) => `https://paging.test/api-${String(n).padStart(3, '0')}`);
    for (let start = 0; start < identifiers.length; start += 25) {
      await Promise.all(
        identifiers.slice(start, start + 25).map(async (identifier) => {
          const response = await fetch(`${server.issuer}/admin/resources`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ identifier, scopes: ['paging'] }),
          });
          assert.equal(response.status, 201, await response.text());
        }),
      );
    }
    const listed = parseJson<{ identifier: string }[]>(await cli(['resources', 'list']));
    const paging = listed.map((item) => item.identifier).filter((id) => id.startsWith('https://paging.test/'));
    assert.deepEqual([...paging].sort(), identifiers);
    assert.equal(new Set(listed.map((item) => item.identifier)).size, listed.length, 'no API listed twice');
  });

  it('clients: create shows the secret once, get never, rotate-secret replaces it, delete removes the client', async () => {
    parseJson(await cli(['resources', 'create', '--identifier', 'https://api.test/billing', '--scope', 'billing:read']));

    const created = parseJson(
      await cli([
        ...['clients', 'create', '--name', 'billing worker'],
        ...['--grant-type', 'client_credentials', '--scope', 'billing:read'],
      ]),
    );
    const clientId = created.client_id as string;
    const firstSecret = created.client_secret as string;
    assert.equal(typeof clientId, 'string');
    assert.ok(firstSecret.length >= 43, 'a 256-bit secret');
    assert.equal(created.client_name, 'billing worker');
    assert.deepEqual(created.grant_types, ['client_credentials']);
    assert.equal(created.token_endpoint_auth_method, 'client_secret_basic');

    const issued = await tokenRequest(server.issuer, clientId, firstSecret, { scope: 'billing:read' });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(decodeJwt(issued.body.access_token as string).aud, 'https://api.test/billing');

    const read = parseJson(await cli(['clients', 'get', clientId]));
    assert.equal(read.client_id, clientId);
    assert.equal(read.client_name, 'billing worker');
    assert.equal('client_secret' in read, false, 'get never shows the secret');

    const rotated = parseJson(await cli(['clients', 'rotate-secret', clientId]));
    assert.equal(rotated.client_id, clientId);
    const newSecret = rotated.client_secret as string;
    assert.equal(typeof newSecret, 'string');
    assert.notEqual(newSecret, firstSecret);

    const withNew = await tokenRequest(server.issuer, clientId, newSecret, { scope: 'billing:read' });
    assert.equal(withNew.status, 200, JSON.stringify(withNew.body));
    const withOld = await tokenRequest(server.issuer, clientId, firstSecret, { scope: 'billing:read' });
    assert.equal(withOld.status, 401);
    assert.equal(withOld.body.error, 'invalid_client');

    const listed = parseJson<Record<string, unknown>[]>(await cli(['clients', 'list']));
    const listedClient = listed.find((item) => item.client_id === clientId);
    assert.equal(listedClient?.client_name, 'billing worker');
    assert.ok(listed.every((item) => !('client_secret' in item)));

    assert.deepEqual(await cli(['clients', 'delete', clientId]), { code: 0, stdout: '', stderr: '' });
    const afterDelete = await tokenRequest(server.issuer, clientId, newSecret, { scope: 'billing:read' });
    assert.equal(afterDelete.body.error, 'invalid_client');
    const gone = await cli(['clients', 'get', clientId]);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, 'portcullis: not_found: no client with this client_id\n');
  });

  it('--dpop-bound registers an API and a client for DPoP-bound tokens only (RFC 9449)', async () => {
    const api = parseJson(
      await cli(['resources', 'create', '--identifier', 'https://api.test/bound', '--scope', 'bound:read', '--dpop-bound']),
    );
    assert.equal(api.dpop_bound_access_tokens, true);
    const plain = parseJson(await cli(['resources', 'create', '--identifier', 'https://api.test/unbound', '--scope', 'unbound:read']));
    assert.equal(plain.dpop_bound_access_tokens, false);
    const client = parseJson(
      await cli(['clients', 'create', '--id', 'bound-svc', '--grant-type', 'client_credentials', '--scope', 'bound:read', '--dpop-bound']),
    );
    assert.equal(client.dpop_bound_access_tokens, true);
    // Without a proof the token endpoint refuses such a client (400 invalid_grant).
    const refused = await tokenRequest(server.issuer, 'bound-svc', client.client_secret as string, { scope: 'bound:read' });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
  });

  it('regression: the README example `clients rotate-secret billing` failed on a fresh server — clients create --id sets the client_id', async () => {
    parseJson(await cli(['resources', 'create', '--identifier', 'https://api.test/ledger', '--scope', 'ledger:read']));
    const created = parseJson(
      await cli([
        ...['clients', 'create', '--id', 'ledger', '--name', 'Ledger service'],
        ...['--grant-type', 'client_credentials', '--scope', 'ledger:read'],
      ]),
    );
    assert.equal(created.client_id, 'ledger');
    assert.equal(created.client_name, 'Ledger service');
    const rotated = parseJson(await cli(['clients', 'rotate-secret', 'ledger']));
    assert.equal(rotated.client_id, 'ledger');
    const issued = await tokenRequest(server.issuer, 'ledger', rotated.client_secret as string, { scope: 'ledger:read' });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));

    // --id overrides a client_id in the --json metadata, like every other flag.
    const fromJson = parseJson(
      await cli(['clients', 'create', '--json', '-', '--id', 'ledger-2'], {
        stdin: JSON.stringify({ client_id: 'ignored', grant_types: ['client_credentials'] }),
      }),
    );
    assert.equal(fromJson.client_id, 'ledger-2');
    const duplicate = await cli(['clients', 'create', '--id', 'ledger', '--grant-type', 'client_credentials']);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /^portcullis: \S+: /);
  });

  it('clients create and update take metadata as JSON on stdin, with flags overriding it', async () => {
    const metadata = { client_id: 'cli-json-client', client_name: 'from json', grant_types: ['client_credentials'] };
    const created = parseJson(
      await cli(['clients', 'create', '--json', '-', '--name', 'from flag', '--auth-method', 'client_secret_post'], {
        stdin: JSON.stringify(metadata),
      }),
    );
    assert.equal(created.client_id, 'cli-json-client');
    assert.equal(created.client_name, 'from flag');
    assert.equal(created.token_endpoint_auth_method, 'client_secret_post');
    assert.equal(typeof created.client_secret, 'string');

    const replaced = {
      client_name: 'renamed',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_post',
    };
    const updated = parseJson(
      await cli(['clients', 'update', 'cli-json-client', '--json', '-'], { stdin: JSON.stringify(replaced) }),
    );
    assert.equal(updated.client_name, 'renamed');
    assert.equal('client_secret' in updated, false, 'the client keeps its secret, not shown again');
    assert.equal(parseJson(await cli(['clients', 'get', 'cli-json-client'])).client_name, 'renamed');
  });

  it('authenticates with a client id that form-encoding changes (RFC 6749 §2.3.1)', async () => {
    const metadata = { client_id: 'ops~admin.1', grant_types: ['client_credentials'], scope: 'admin' };
    const created = parseJson(await cli(['clients', 'create', '--json', '-'], { stdin: JSON.stringify(metadata) }));
    const credentials = { PORTCULLIS_CLIENT_ID: 'ops~admin.1', PORTCULLIS_CLIENT_SECRET: created.client_secret as string };
    const token = await cli(['token'], { env: credentials });
    assert.equal(token.code, 0, token.stderr);
    assert.equal(decodeJwt(token.stdout.trim()).client_id, 'ops~admin.1');
    const fromFlags = await cli(['--client-id', 'ops~admin.1', '--client-secret', 'not-the-secret', 'token']);
    assert.equal(fromFlags.code, 1, 'flags win over the environment');
    assert.match(fromFlags.stderr, /^portcullis: invalid_client/);
  });

  it('users: create with --password-stdin, list, update --disable, delete', async () => {
    const created = parseJson(
      await cli(
        ['users', 'create', '--username', 'alice', '--password-stdin', '--email', 'alice@example.test', '--name', 'Alice A'],
        { stdin: 'correct horse battery staple\n' },
      ),
    );
    const sub = created.sub as string;
    assert.equal(typeof sub, 'string');
    assert.equal(created.username, 'alice');
    assert.equal(created.email, 'alice@example.test');
    assert.equal(created.name, 'Alice A');
    assert.equal(created.disabled, false);
    assert.equal(Object.keys(created).some((key) => key.includes('password')), false);

    const listed = parseJson<Record<string, unknown>[]>(await cli(['users', 'list']));
    assert.deepEqual(listed.find((user) => user.sub === sub), created);

    const disabled = parseJson(await cli(['users', 'update', sub, '--disable']));
    assert.equal(disabled.disabled, true);
    assert.equal(disabled.email, 'alice@example.test', 'other fields unchanged');
    assert.equal(parseJson(await cli(['users', 'get', sub])).disabled, true);

    assert.deepEqual(await cli(['users', 'delete', sub]), { code: 0, stdout: '', stderr: '' });
    const gone = await cli(['users', 'get', sub]);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, 'portcullis: not_found: no user with this sub\n');
  });

  it('users create passes the password through: the server judges its length; env works too', async () => {
    const short = await cli(['users', 'create', '--username', 'bob', '--password-stdin'], { stdin: 'short\n' });
    assert.equal(short.code, 1);
    assert.equal(short.stdout, '');
    assert.equal(short.stderr, 'portcullis: invalid_request: password: must be at least 8 characters\n');

    const fromEnv = parseJson(
      await cli(['users', 'create', '--username', 'bob'], { env: { PORTCULLIS_USER_PASSWORD: 'a long enough password' } }),
    );
    assert.equal(fromEnv.username, 'bob');

    const none = await cli(['users', 'create', '--username', 'carol']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^portcullis: a password is required/);
  });

  it('an error from the server is one line on stderr and exit code 1', async () => {
    const run = await cli(['resources', 'get', 'https://api.test/nowhere']);
    assert.deepEqual(run, { code: 1, stdout: '', stderr: 'portcullis: not_found: no API with this identifier\n' });

    const badSecret = await cli(['clients', 'list'], { env: { PORTCULLIS_CLIENT_SECRET: 'wrong' } });
    assert.equal(badSecret.code, 1);
    assert.match(badSecret.stderr, /^portcullis: invalid_client: .+\n$/);
  });

  it('a usage error exits 2 with a hint to --help, and --help works at every level', async () => {
    const missing = await cli(['clients', 'get']);
    assert.equal(missing.code, 2);
    assert.equal(missing.stdout, '');
    assert.equal(
      missing.stderr,
      "portcullis: clients get: missing <client_id>\nRun 'portcullis clients get --help' for usage.\n",
    );

    const unknown = await cli(['users', 'create', '--username', 'dave', '--colour', 'blue']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--colour'/);

    const password = await cli(['users', 'create', '--username', 'dave', '--password', 'hunter2hunter2']);
    assert.equal(password.code, 2);
    assert.match(password.stderr, /passwords are not taken as arguments/);
    const users = parseJson<Record<string, unknown>[]>(await cli(['users', 'list']));
    assert.equal(users.some((user) => user.username === 'dave'), false);

    for (const args of [['--help'], ['clients', '--help'], ['users', 'create', '--help'], ['token', '-h']]) {
      const help = await cli(args, { env: { PORTCULLIS_CLIENT_ID: '', PORTCULLIS_CLIENT_SECRET: '' } });
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /Usage: portcullis/);
    }
  });

  it('a network failure names the issuer', async () => {
    const issuer = `http://127.0.0.1:${await freePort()}`;
    const run = await cli(['users', 'list'], { env: { PORTCULLIS_ISSUER: issuer } });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.ok(run.stderr.startsWith(`portcullis: cannot reach the issuer at ${issuer}: `), run.stderr);
    assert.match(run.stderr, /ECONNREFUSED/);
  });
});
