// Store outages: with Redis or Postgres unreachable the server fails closed (503, never a token
// or `active: true` from partial state), /readyz goes red, and everything recovers by itself
// when the store returns — without a restart, and nothing acknowledged is lost.
// Redis is a dedicated redis-server on its own port, stopped and started again; Postgres is
// reached through a TCP proxy that the test takes down and brings back.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminRequest, basicAuth, createUser, getAdminToken } from '../helpers/admin.js';
import { BrowserlessUser } from '../helpers/http-login.js';
import { createTestEnvironment, freePort, realStores, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { startRedisServer, startTcpProxy, type TestRedisServer } from '../helpers/stores.js';
import { until } from '../helpers/wait.js';

const callback = 'https://app.example.test/callback';
const password = 'fault tolerant password';

if (realStores) {
  describe('store faults (dedicated Redis, proxied Postgres)', () => {
    let env: TestEnvironment;
    let server: TestServer;
    let redis: TestRedisServer;
    let redisPort: number;
    let redisDir: string;
    let postgresProxy: { port: number; stop(): Promise<void> };
    let secret: string;

    before(async () => {
      env = await createTestEnvironment();
      redisPort = await freePort();
      redisDir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-redis-'));
      redis = await startRedisServer(redisPort, redisDir);
      const database = new URL(env.env.DATABASE_URL!);
      postgresProxy = await startTcpProxy({ host: database.hostname, port: Number(database.port || 5432) });
      const proxied = new URL(database);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(postgresProxy.port);
      server = await env.start({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, DATABASE_URL: proxied.toString() });
      const admin = await getAdminToken(server.url);
      const client = await adminRequest(server.url, admin, 'POST', '/admin/clients', {
        client_id: 'faulty-web',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [callback],
        scope: 'openid offline_access',
        first_party: true,
      });
      secret = client.client_secret as string;
      await createUser(server.url, admin, { username: 'gina', password });
    });

    after(async () => {
      await server?.close();
      await postgresProxy?.stop();
      await redis?.stop();
      await fs.rm(redisDir, { recursive: true, force: true });
      await env?.cleanup();
    });

    async function token(body: Record<string, string>) {
      const response = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth('faulty-web', secret) },
        body: new URLSearchParams(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    }

    async function login(): Promise<Record<string, string>> {
      const verifier = crypto.randomBytes(32).toString('base64url');
      const url = new URL(`${server.url}/auth`);
      url.search = new URLSearchParams({
        client_id: 'faulty-web',
        response_type: 'code',
        redirect_uri: callback,
        scope: 'openid offline_access',
        prompt: 'consent',
        code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      const redirect = await new BrowserlessUser(callback).authorize(url.href, 'gina', password);
      const issued = await token({ grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, code_verifier: verifier, redirect_uri: callback });
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      return issued.body;
    }

    it('fails closed while Redis is down and recovers by itself when it returns', async () => {
      const tokens = await login();
      await redis.stop();

      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 503);
      const refresh = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
      assert.equal(refresh.status, 503, JSON.stringify(refresh.body));
      assert.equal(refresh.body.error, 'temporarily_unavailable');
      assert.equal(refresh.body.access_token, undefined);

      const introspection = await fetch(`${server.url}/token/introspection`, {
        method: 'POST',
        headers: { authorization: basicAuth('faulty-web', secret) },
        body: new URLSearchParams({ token: tokens.refresh_token! }),
      });
      assert.equal(introspection.status, 503, 'never active:true from a guess');
      const revocation = await fetch(`${server.url}/token/revocation`, {
        method: 'POST',
        headers: { authorization: basicAuth('faulty-web', secret) },
        body: new URLSearchParams({ token: tokens.refresh_token! }),
      });
      assert.equal(revocation.status, 503, 'revocation never says 200 when it could not record');

      const page = await fetch(
        `${server.url}/auth?client_id=faulty-web&response_type=code&redirect_uri=${encodeURIComponent(callback)}&scope=openid&code_challenge=${crypto.randomBytes(32).toString('base64url')}&code_challenge_method=S256`,
        { redirect: 'manual' },
      );
      assert.equal(page.status, 503);
      assert.match(await page.text(), /temporarily unavailable/);

      redis = await startRedisServer(redisPort, redisDir);
      await until('ready again', async () => (await fetch(`${server.url}/readyz`)).status === 200, 10_000, 100);
      // This Redis keeps nothing on disk, so what it held is gone: refresh tokens from before
      // the outage no longer work (fail closed), and new logins work again.
      const again = await login();
      const rotated = await token({ grant_type: 'refresh_token', refresh_token: again.refresh_token! });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      const old = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
      assert.equal(old.body.error, 'invalid_grant');
    });

    it('fails closed while Postgres is unreachable and recovers by itself', async () => {
      const admin = await getAdminToken(server.url);
      await postgresProxy.stop();
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 503);
      const list = await fetch(`${server.url}/admin/users`, { headers: { authorization: `Bearer ${admin}` } });
      assert.equal(list.status, 503);
      assert.equal(((await list.json()) as { error: string }).error, 'temporarily_unavailable');
      const revoke = await fetch(`${server.url}/admin/revocations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sub: 'someone' }),
      });
      assert.equal(revoke.status, 503, 'a revocation that could not be recorded is never acknowledged');

      postgresProxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(env.env.DATABASE_URL!).port || 5432) }, postgresProxy.port);
      await until('ready again', async () => (await fetch(`${server.url}/readyz`)).status === 200, 15_000, 100);
      const users = await adminRequest(server.url, admin, 'GET', '/admin/users');
      assert.ok(Array.isArray(users.items));
    });
  });
}
