// packages/verify as another repository's API gets it: `npm pack` of the package (its prepack
// script compiles src/verify/), the tarball installed into an empty directory with npm, then
// imported there by plain Node and type-checked by a TypeScript consumer, and used to verify a
// real token from a running server. Issue #14 item 18: the module was not installable anywhere
// but inside this repository.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { adminRequest, basicAuth, getAdminToken } from '../helpers/admin.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const packageDir = path.join(repoRoot, 'packages', 'verify');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function succeeded(result: Run, what: string): string {
  assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

describe(`@portcullis/verify as a package of its own (${storesLabel})`, () => {
  let work: string;
  let tarball: string;
  let consumer: string;
  let env: TestEnvironment;
  let server: TestServer;

  before(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-verify-package-'));
    // --json: the file name, without parsing npm's notices.
    const packed = succeeded(
      await run('npm', ['pack', '--json', '--pack-destination', work], packageDir),
      'npm pack',
    );
    const [info] = JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(work, info!.filename);

    consumer = path.join(work, 'an-api');
    await fs.mkdir(consumer);
    await fs.writeFile(
      path.join(consumer, 'package.json'),
      JSON.stringify({ name: 'an-api', version: '1.0.0', private: true, type: 'module' }),
    );
    succeeded(
      await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], consumer),
      'npm install of the tarball',
    );
    env = await createTestEnvironment();
    server = await env.start();
  });

  after(async () => {
    await env?.cleanup();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  it('the tarball holds the compiled module and its types, and depends on jose only', async () => {
    const listed = succeeded(await run('tar', ['-tzf', tarball], work), 'tar').trim().split('\n').sort();
    // Every module of src/verify/, compiled, with its declarations; no sources, no maps.
    const modules = (await fs.readdir(path.join(repoRoot, 'src', 'verify'))).filter((name) => name.endsWith('.ts'));
    const expected = modules.flatMap((name) => [`package/dist/${name.replace(/\.ts$/, '.d.ts')}`, `package/dist/${name.replace(/\.ts$/, '.js')}`]);
    assert.deepEqual(listed, ['package/README.md', ...expected, 'package/package.json'].sort());
    assert.ok(modules.includes('index.ts'));
    const installed = JSON.parse(
      await fs.readFile(path.join(consumer, 'node_modules', '@portcullis', 'verify', 'package.json'), 'utf8'),
    ) as { dependencies: Record<string, string>; exports: Record<string, unknown> };
    assert.deepEqual(Object.keys(installed.dependencies), ['jose']);
    const root = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.equal(installed.dependencies.jose, root.dependencies.jose, 'the same jose range as the server');
    await fs.access(path.join(consumer, 'node_modules', 'jose', 'package.json'));
  });

  it('regression: portcullis/verify could not be installed outside this repository — the installed package verifies a real token', async () => {
    const adminToken = await getAdminToken(server.url);
    const audience = 'https://orders.verify-package.test';
    await adminRequest(server.url, adminToken, 'POST', '/admin/resources', { identifier: audience, scopes: ['orders.read'] });
    const client = await adminRequest(server.url, adminToken, 'POST', '/admin/clients', {
      grant_types: ['client_credentials'],
      scope: 'orders.read',
    });
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth(client.client_id as string, client.client_secret as string) },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: audience, scope: 'orders.read' }),
    });
    const { access_token: token } = (await response.json()) as { access_token: string };
    assert.equal(response.status, 200);

    // Plain Node in the consumer's directory: the bare specifier resolves to the installed copy.
    const script = `
      import { createTokenVerifier, TokenVerificationError } from '@portcullis/verify';
      const verifier = createTokenVerifier({ issuer: process.env.ISSUER, audience: process.env.AUDIENCE, revocationFeed: false });
      await verifier.ready();
      const { claims, scopes } = await verifier.verify(process.env.TOKEN, { scope: 'orders.read' });
      let refused;
      try { await verifier.verify(process.env.TOKEN, { scope: 'orders.write' }); } catch (error) {
        refused = error instanceof TokenVerificationError ? error.code : String(error);
      }
      verifier.close();
      console.log(JSON.stringify({ aud: claims.aud, client_id: claims.client_id, scopes, refused,
        resolved: import.meta.resolve('@portcullis/verify') }));`;
    const output = succeeded(
      await run(process.execPath, ['--input-type=module', '-e', script], consumer, {
        ISSUER: server.issuer,
        AUDIENCE: audience,
        TOKEN: token,
      }),
      'the consumer script',
    );
    const result = JSON.parse(output) as Record<string, unknown>;
    assert.equal(result.aud, audience);
    assert.equal(result.client_id, client.client_id);
    assert.deepEqual(result.scopes, ['orders.read']);
    assert.equal(result.refused, 'ERR_INSUFFICIENT_SCOPE');
    const resolved = fileURLToPath(result.resolved as string);
    assert.ok(resolved.startsWith(path.join(consumer, 'node_modules')), `resolved inside the consumer: ${resolved}`);
  });

  it('its types check in a TypeScript consumer (moduleResolution nodenext)', async () => {
    await fs.writeFile(
      path.join(consumer, 'check.ts'),
      [
        "import { createTokenVerifier, TokenVerificationError, type VerifiedToken } from '@portcullis/verify';",
        "const verifier = createTokenVerifier({ issuer: 'https://id.example.com', audience: 'https://a.example.com', revocationFeed: false });",
        "export async function scopesOf(token: string): Promise<string[]> {",
        "  const verified: VerifiedToken = await verifier.verify(token, { scope: ['a.r'] });",
        '  return verified.scopes;',
        '}',
        "export const isTokenError = (error: unknown): boolean => error instanceof TokenVerificationError && error.code === 'ERR_TOKEN_REVOKED';",
        '',
      ].join('\n'),
    );
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    succeeded(
      await run(
        process.execPath,
        [
          // --skipLibCheck: the consumer's use of the declarations is checked, not @types/node itself.
          ...[tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext'],
          ...['--target', 'es2023', '--types', 'node', '--typeRoots', path.join(repoRoot, 'node_modules', '@types')],
          'check.ts',
        ],
        consumer,
      ),
      'tsc on the consumer',
    );
  });
});
