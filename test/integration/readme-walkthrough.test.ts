// The README's shell blocks marked `<!-- readme-test: … -->` run as a newcomer runs them, so
// that the README cannot rot: the server started the way `npm start` starts it (no admin client
// configured, so it creates one and prints its secret once), on a port that is not 3000, and the
// blocks extracted from README.md and run by bash, one after the other in one shell, from an
// empty directory elsewhere (the README says "in any directory"), with nothing replaced but the
// placeholder for the printed secret. The only help the shell gets is `npx portcullis`, which
// runs this checkout's CLI from its sources (a newcomer runs it in the checkout, see README "CLI").
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createRedisClient } from '../../src/stores/redis-client.js';
import { childProcessEnv, freePort, realStores, storesLabel } from '../helpers/server.js';
import { createPostgresDatabase, deleteRedisKeys, uniqueRedisPrefix } from '../helpers/stores.js';
import { waitForExit } from '../helpers/http-support.js';
import type { Redis } from 'ioredis';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const secretPlaceholder = "'paste the printed secret here'";
const marker = /<!-- readme-test: ([^(\n]+?) \(test\/integration\/readme-walkthrough\.test\.ts runs this block\) -->\n```sh\n([\s\S]*?)\n```/g;

interface Block {
  name: string;
  body: string;
}

function testedBlocks(markdown: string): Block[] {
  return [...markdown.matchAll(marker)].map((match) => ({ name: match[1]!, body: match[2]! }));
}

interface ShellRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Each block's stdout, by block name. */
  outputs: Map<string, string>;
}

function collect(child: ChildProcess): { stdout: string; stderr: string } {
  const output = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  return output;
}

const blockSeparator = (name: string) => `@@readme-block ${name}@@`;

async function runBlocks(blocks: Block[], options: { cwd: string; env: Record<string, string> }): Promise<ShellRun> {
  const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');
  const tsx = import.meta.resolve('tsx');
  const script = [
    'set -euo pipefail',
    // `npx portcullis …` as in the checkout, and nothing else from npx.
    `npx() { if [ "\${1-}" != portcullis ]; then echo "unexpected: npx $*" >&2; return 127; fi; shift; node --import '${tsx}' '${cli}' "$@"; }`,
    ...blocks.flatMap((block) => [`echo '${blockSeparator(block.name)}'`, block.body]),
  ].join('\n');
  const child = spawn('bash', ['-c', script], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collect(child);
  const { code } = await waitForExit(child, 110_000);
  const outputs = new Map<string, string>();
  const parts = output.stdout.split(/^@@readme-block (.+)@@\n/m);
  for (let index = 1; index < parts.length; index += 2) outputs.set(parts[index]!, parts[index + 1]!);
  return { code, ...output, outputs };
}

describe(`the README's walkthrough, run verbatim (${storesLabel})`, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  let blocks: Block[];
  let server: ChildProcess;
  let port: number;
  let admin: { id: string; secret: string };
  let shellDir: string;
  let shellEnv: Record<string, string>;

  async function adminGet(pathname: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const tokenResponse = await fetch(`http://127.0.0.1:${port}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${admin.id}:${admin.secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }),
    });
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
    const response = await fetch(`http://127.0.0.1:${port}/admin${pathname}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  before(async () => {
    blocks = testedBlocks(await fs.readFile(path.join(repoRoot, 'README.md'), 'utf8'));
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-readme-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    shellDir = path.join(dir, 'somewhere-else');
    await fs.mkdir(shellDir);

    port = await freePort();
    const serverEnv: Record<string, string> = {
      ...childProcessEnv(),
      PORT: String(port),
      DATA_DIR: path.join(dir, 'data'),
      KEYS_DIR: path.join(dir, 'keys'),
      LOG_LEVEL: 'warn',
    };
    if (realStores) {
      const database = await createPostgresDatabase();
      cleanups.push(() => database.drop());
      const prefix = uniqueRedisPrefix();
      cleanups.push(async () => {
        const redis = createRedisClient(process.env.REDIS_URL as string);
        try {
          await deleteRedisKeys(redis as Redis, prefix);
        } finally {
          redis.disconnect();
        }
      });
      Object.assign(serverEnv, { DATABASE_URL: database.url, REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: prefix });
    }
    // What `npm start` runs, from the sources (the build is tested on its own), with the start
    // script's memory settings left out.
    server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: repoRoot,
      env: serverEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collect(server);
    cleanups.push(async () => {
      if (server.exitCode === null && server.signalCode === null) {
        server.kill('SIGTERM');
        await waitForExit(server, 20_000);
      }
    });

    // The first start prints the admin client's credentials once; then the server gets ready.
    const deadline = Date.now() + 60_000;
    let ready = false;
    while (!ready) {
      if (server.exitCode !== null) throw new Error(`the server exited:\n${output.stdout}\n${output.stderr}`);
      if (Date.now() > deadline) throw new Error(`the server did not get ready:\n${output.stdout}\n${output.stderr}`);
      const answer = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      ready = answer?.status === 200 && /client_secret: \S+/.test(output.stdout);
      if (!ready) await sleep(100);
    }
    const id = /client_id:\s+(\S+)/.exec(output.stdout)?.[1];
    const secret = /client_secret:\s+(\S+)/.exec(output.stdout)?.[1];
    assert.ok(id && secret, output.stdout);
    admin = { id, secret };
    shellEnv = { ...childProcessEnv(), PORT: String(port) };
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('the README marks the walkthrough, the web app registration and the CLI example for this test', () => {
    assert.deepEqual(
      blocks.map((block) => block.name),
      ['walkthrough', 'web app', 'CLI'],
    );
    const walkthrough = blocks[0]!.body;
    assert.equal(walkthrough.split(secretPlaceholder).length, 2, 'the secret placeholder appears once');
    assert.ok(walkthrough.includes(`ADMIN_ID=${admin.id}`), `the README names the printed client_id ${admin.id}`);
    assert.ok(!/localhost:3000\b/.test(blocks.map((block) => block.body).join('\n')), 'no hard-coded port');
    assert.notEqual(port, 3000);
  });

  it('regression: step 1 silently stored "undefined" with a wrong secret — the walkthrough stops there with the server\'s error', async () => {
    const walkthrough = blocks[0]!;
    const wrong = { ...walkthrough, body: walkthrough.body.replace(secretPlaceholder, "'not-the-secret'") };
    const run = await runBlocks([wrong], { cwd: shellDir, env: shellEnv });
    assert.notEqual(run.code, 0, run.stdout);
    assert.match(run.stderr, /invalid_client/);
    assert.equal(run.outputs.get('walkthrough'), '', 'nothing after step 1 ran');
    const api = await adminGet(`/resources/${encodeURIComponent('https://orders.example.com')}`);
    assert.equal(api.status, 404, 'step 2 did not run');
  });

  it('regression: step 5 hard-coded localhost:3000 and needed the project\'s jose — every block runs from another directory on another port', async () => {
    const runnable = blocks.map((block) => ({ ...block, body: block.body.replace(secretPlaceholder, `'${admin.secret}'`) }));
    const run = await runBlocks(runnable, { cwd: shellDir, env: shellEnv });
    assert.equal(run.code, 0, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);

    // The walkthrough: step 2's answer on one line, then step 5's verified header and claims.
    const [apiLine, ...verified] = run.outputs.get('walkthrough')!.trimEnd().split('\n');
    assert.equal((JSON.parse(apiLine!) as { identifier: string }).identifier, 'https://orders.example.com');
    const { header, claims } = JSON.parse(verified.join('\n')) as {
      header: Record<string, unknown>;
      claims: Record<string, unknown>;
    };
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'ES256');
    assert.equal(claims.iss, `http://localhost:${port}`);
    assert.equal(claims.aud, 'https://orders.example.com');
    assert.equal(claims.client_id, 'billing');
    assert.equal(claims.scope, 'orders.read');
    assert.equal((claims.exp as number) - (claims.iat as number), 600);

    // "Integrating an app": the web app registers with the walkthrough's scope.
    const webApp = JSON.parse(run.outputs.get('web app')!) as Record<string, unknown>;
    assert.equal(webApp.client_name, 'Notes');
    assert.equal(webApp.scope, 'openid profile email offline_access orders.read');
    assert.equal(typeof webApp.client_secret, 'string');

    // The CLI example: a client with the id it names, whose secret it rotated, and the rest.
    const reports = await adminGet('/clients/reports');
    assert.equal(reports.status, 200);
    assert.equal(reports.body.client_name, 'Reports job');
    assert.match(run.outputs.get('CLI')!, /"client_id": "reports"[\s\S]*"client_secret"/);
    const invoices = await adminGet(`/resources/${encodeURIComponent('https://invoices.example.com')}`);
    assert.deepEqual(invoices.body.scopes, ['invoices.read', 'invoices.write']);
    const users = await adminGet('/users');
    assert.ok((users.body.items as { username: string }[]).some((user) => user.username === 'alice'));
    assert.equal(run.stderr, '', 'no block complained');
  });
});
