// Running the server as an operator does: health and readiness probes, the process entry points
// (`src/main.ts`, `src/migrate.ts`) with real environment variables, configuration errors, clean
// shutdown on SIGTERM, and logs that never carry a secret or a token.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { listMigrations, defaultMigrationsDir } from '../../src/stores/migrate.js';
import {
  adminClientId,
  adminClientSecret,
  childProcessEnv,
  createTestEnvironment,
  freePort,
  realStores,
  storesLabel,
  type TestEnvironment,
} from '../helpers/server.js';
import { createPostgresDatabase, startTcpProxy } from '../helpers/stores.js';
import { basicAuth, readResponse, requestToken, waitForExit } from '../helpers/http-support.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function startScript(script: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: repoRoot,
    env: { ...childProcessEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  return { child, output };
}

async function runScript(script: string, env: Record<string, string>, timeoutMs = 60_000): Promise<ProcessResult> {
  const { child, output } = startScript(script, env);
  const exit = await waitForExit(child, timeoutMs);
  return { ...exit, ...output };
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-ops-'));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe(`health and readiness (${storesLabel})`, () => {
  let env: TestEnvironment;
  let url: string;

  before(async () => {
    env = await createTestEnvironment();
    url = (await env.start()).url;
  });

  after(async () => {
    await env?.cleanup();
  });

  it('GET /healthz is 200, no-store', async () => {
    const answer = await readResponse(await fetch(`${url}/healthz`));
    assert.equal(answer.status, 200);
    assert.equal(answer.json?.status, 'ok');
    assert.equal(answer.headers.get('cache-control'), 'no-store');
  });

  it('GET /readyz is 200 with every check ok', async () => {
    const answer = await readResponse(await fetch(`${url}/readyz`));
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json?.status, 'ready');
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    const checks = answer.json?.checks as Record<string, string>;
    assert.deepEqual(Object.keys(checks).sort(), realStores ? ['postgres', 'redis'] : ['ephemeral', 'pglite']);
    for (const [name, state] of Object.entries(checks)) assert.equal(state, 'ok', `${name} is ok`);
  });

  it('sends the security headers on every response', async () => {
    for (const route of ['/healthz', '/.well-known/openid-configuration', '/no-such-page']) {
      const response = await fetch(`${url}${route}`);
      await response.body?.cancel();
      assert.ok(response.status < 500, `${route}: ${response.status}`);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', route);
      assert.equal(response.headers.get('x-frame-options'), 'DENY', route);
      assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, route);
    }
  });
});

if (realStores) {
  describe('readiness when Redis is unreachable (Postgres + Redis)', () => {
    let env: TestEnvironment;

    before(async () => {
      env = await createTestEnvironment();
    });

    after(async () => {
      await env?.cleanup();
    });

    it('GET /readyz turns 503 naming redis, and 200 again when it is back', async () => {
      const redis = new URL(env.env.REDIS_URL!);
      const target = { host: redis.hostname, port: Number(redis.port || 6379) };
      let proxy = await startTcpProxy(target);
      const proxiedUrl = new URL(redis);
      proxiedUrl.host = `127.0.0.1:${proxy.port}`;
      const server = await env.start({ REDIS_URL: proxiedUrl.toString() });

      const ready = await readResponse(await fetch(`${server.url}/readyz`));
      assert.equal(ready.status, 200, ready.text);

      await proxy.stop();
      const down = await readResponse(await fetch(`${server.url}/readyz`));
      assert.equal(down.status, 503, down.text);
      assert.equal(down.json?.status, 'unavailable');
      const checks = down.json?.checks as Record<string, string>;
      assert.equal(checks.postgres, 'ok');
      assert.match(checks.redis ?? '', /^down/);
      // Liveness does not depend on Redis.
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);

      proxy = await startTcpProxy(target, proxy.port);
      try {
        let status = 0;
        for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) {
          await sleep(200);
          status = (await fetch(`${server.url}/readyz`)).status;
        }
        assert.equal(status, 200, 'ready again after Redis came back');
      } finally {
        await server.close();
        await proxy.stop();
      }
    });
  });
}

describe('configuration errors stop the process with one line naming the variable', () => {
  const cases: [string, Record<string, string>][] = [
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['ISSUER', { ISSUER: 'ftp://x' }],
    ['ISSUER', { ISSUER: 'not a url' }],
    ['ISSUER', { ISSUER: 'https://auth.example.test/?tenant=1' }],
    ['ISSUER', { ISSUER: 'http://auth.example.test', NODE_ENV: 'production' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db.example.test/portcullis' }],
    ['REDIS_URL', { REDIS_URL: 'http://cache.example.test' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'chatty' }],
    ['BOOTSTRAP_ADMIN_CLIENT_ID', { BOOTSTRAP_ADMIN_CLIENT_SECRET: 'a-secret-without-an-id-0123456789' }],
  ];
  for (const [variable, badEnv] of cases) {
    it(`${JSON.stringify(badEnv)} names ${variable}`, async () => {
      await withTempDir(async (dir) => {
        const result = await runScript('src/main.ts', {
          KEYS_DIR: path.join(dir, 'keys'),
          DATA_DIR: path.join(dir, 'data'),
          ...badEnv,
        });
        assert.notEqual(result.code, 0, 'exits non-zero');
        assert.notEqual(result.code, null, `exits by itself, not by ${result.signal}`);
        const lines = result.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, `one stderr line, got:\n${result.stderr}`);
        assert.ok(lines[0]!.includes(variable), `the line names ${variable}: ${lines[0]}`);
        assert.ok(!/\bat .*\.(ts|js):\d+/.test(result.stderr), 'no stack trace');
        // It stopped before touching anything.
        await assert.rejects(fs.access(path.join(dir, 'keys', 'signing-keys.json')));
        // The secret given in the environment is not echoed.
        if (badEnv.BOOTSTRAP_ADMIN_CLIENT_SECRET) {
          assert.ok(!result.stderr.includes(badEnv.BOOTSTRAP_ADMIN_CLIENT_SECRET));
          assert.ok(!result.stdout.includes(badEnv.BOOTSTRAP_ADMIN_CLIENT_SECRET));
        }
      });
    });
  }
});

describe(`src/main.ts as a process (${storesLabel})`, () => {
  let env: TestEnvironment;

  before(async () => {
    env = await createTestEnvironment();
  });

  after(async () => {
    await env?.cleanup();
  });

  it('serves, stops with exit 0 on SIGTERM, and never logs a secret or a token', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { child, output } = startScript('src/main.ts', {
      ...env.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: url,
      LOG_LEVEL: 'debug',
    });
    const secrets: string[] = [adminClientSecret, basicAuth(adminClientId, adminClientSecret).slice('Basic '.length)];
    try {
      let healthy = false;
      for (let attempt = 0; attempt < 300 && !healthy && child.exitCode === null; attempt += 1) {
        healthy = await fetch(`${url}/healthz`).then(
          (response) => response.ok,
          () => false,
        );
        if (!healthy) await sleep(100);
      }
      assert.ok(healthy, `the server came up; stderr:\n${output.stderr}`);

      // Requests that carry every kind of secret we have.
      const adminToken = await requestToken(url, {
        clientId: adminClientId,
        clientSecret: adminClientSecret,
        params: { grant_type: 'client_credentials', scope: 'admin' },
      });
      assert.equal(adminToken.status, 200, adminToken.text);
      const bearer = adminToken.json?.access_token as string;
      secrets.push(bearer);
      const adminCall = (method: string, route: string, body?: unknown) =>
        fetch(`${url}/admin${route}`, {
          method,
          headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }).then(readResponse);

      assert.equal(
        (await adminCall('POST', '/resources', { identifier: 'https://api.test/logs', scopes: ['logs.read'] })).status,
        201,
      );
      const client = await adminCall('POST', '/clients', {
        grant_types: ['client_credentials'],
        scope: 'logs.read',
        token_endpoint_auth_method: 'client_secret_post',
      });
      assert.equal(client.status, 201, client.text);
      const clientId = client.json?.client_id as string;
      const clientSecret = client.json?.client_secret as string;
      secrets.push(clientSecret);

      const apiToken = await requestToken(url, {
        clientId,
        clientSecret,
        method: 'post',
        params: { grant_type: 'client_credentials', resource: 'https://api.test/logs', scope: 'logs.read' },
      });
      assert.equal(apiToken.status, 200, apiToken.text);
      secrets.push(apiToken.json?.access_token as string);

      const wrongSecret = `wrong-${clientSecret}`;
      secrets.push(wrongSecret);
      const refused = await requestToken(url, { clientId, clientSecret: wrongSecret, method: 'post', params: { grant_type: 'client_credentials' } });
      assert.equal(refused.status, 401);

      const password = 'log-test-password-do-not-print';
      secrets.push(password);
      assert.equal((await adminCall('POST', '/users', { username: 'logged', password })).status, 201);
      assert.equal((await adminCall('POST', '/users', { username: 'x', password: 'short' })).status, 400);

      const rotated = await adminCall('POST', `/clients/${encodeURIComponent(clientId)}/secret`);
      assert.equal(rotated.status, 200);
      secrets.push(rotated.json?.client_secret as string);

      const introspection = await fetch(`${url}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token: apiToken.json?.access_token as string,
          client_id: clientId,
          client_secret: rotated.json?.client_secret as string,
        }),
      });
      await introspection.body?.cancel();
      assert.ok(introspection.status < 500);

      const forgedBearer = 'eyJhbGciOiJFUzI1NiJ9.eyJzZWNyZXQiOiJsZWFrIn0.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtYmUtbG9nZ2Vk';
      secrets.push(forgedBearer);
      const forged = await fetch(`${url}/admin/clients`, { headers: { authorization: `Bearer ${forgedBearer}` } });
      await forged.body?.cancel();
      assert.equal(forged.status, 401);
    } finally {
      child.kill('SIGTERM');
    }
    const exit = await waitForExit(child, 20_000);
    assert.equal(exit.signal, null, `exited by itself, not killed by ${exit.signal}`);
    assert.equal(exit.code, 0, `exit code 0 after SIGTERM; stderr:\n${output.stderr}`);

    const lines = output.stdout.split('\n').filter(Boolean);
    assert.ok(lines.length >= 2, `the server logged something:\n${output.stdout}`);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.equal(typeof entry.level, 'string', `a JSON log line: ${line}`);
    }
    assert.ok(lines.some((line) => /listening/i.test(line)), 'a startup line');
    assert.ok(lines.some((line) => /SIGTERM|shutting down/i.test(line)), 'a shutdown line');
    for (const secret of secrets) {
      assert.ok(secret && secret.length >= 8);
      assert.ok(!output.stdout.includes(secret), `stdout must not contain ${secret.slice(0, 12)}…`);
      assert.ok(!output.stderr.includes(secret), `stderr must not contain ${secret.slice(0, 12)}…`);
    }
  });
});

describe(`src/migrate.ts (${storesLabel})`, () => {
  const targets: [string, () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>][] = [
    [
      'a fresh DATA_DIR (embedded PGlite)',
      async () => {
        const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-migrate-'));
        return {
          env: { DATA_DIR: path.join(dir, 'data'), KEYS_DIR: path.join(dir, 'keys') },
          cleanup: () => fs.rm(dir, { recursive: true, force: true }),
        };
      },
    ],
  ];
  if (realStores) {
    targets.push([
      'a fresh Postgres database (DATABASE_URL)',
      async () => {
        const database = await createPostgresDatabase();
        return { env: { DATABASE_URL: database.url }, cleanup: () => database.drop() };
      },
    ]);
  }

  for (const [label, makeTarget] of targets) {
    it(`applies every migration to ${label}, then reports it up to date`, async () => {
      const target = await makeTarget();
      try {
        const migrations = (await listMigrations(defaultMigrationsDir)).map((migration) => migration.name);
        assert.ok(migrations.length >= 2);

        const first = await runScript('src/migrate.ts', target.env);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(first.stderr, '');
        assert.match(first.stdout, /^applied: /);
        for (const name of migrations) assert.ok(first.stdout.includes(name), `${name} is reported`);

        const second = await runScript('src/migrate.ts', target.env);
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stdout, /up to date/);
        for (const name of migrations) assert.ok(!second.stdout.includes(name), `${name} is not applied twice`);
      } finally {
        await target.cleanup();
      }
    });
  }

  it('stops with one line naming the variable on a bad configuration', async () => {
    const result = await runScript('src/migrate.ts', { DATABASE_URL: 'mysql://db.example.test/x' });
    assert.notEqual(result.code, 0);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.ok(lines[0]!.includes('DATABASE_URL'), lines[0]);
  });
});
