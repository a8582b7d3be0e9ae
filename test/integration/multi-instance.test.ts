// Many instances behave as one server: two instances of one issuer on one Postgres + Redis
// (login on one, redeem / refresh / revoke on the other), and WORKERS=2 under node:cluster.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminRequest, basicAuth, createUser, getAdminToken } from '../helpers/admin.js';
import { BrowserlessUser } from '../helpers/http-login.js';
import { createTestEnvironment, freePort, realStores, type TestEnvironment, type TestServer } from '../helpers/server.js';

const callback = 'https://app.example.test/callback';
const password = 'two instances password';
const api = 'https://shared.api.test';

if (realStores) {
  describe('two instances on one Postgres + Redis', () => {
    let env: TestEnvironment;
    let first: TestServer;
    let second: TestServer;
    let secret: string;

    before(async () => {
      env = await createTestEnvironment();
      first = await env.start();
      second = await env.start({ ISSUER: first.issuer });
      const admin = await getAdminToken(first.url);
      await adminRequest(first.url, admin, 'POST', '/admin/resources', { identifier: api, scopes: ['shared.read'] });
      const client = await adminRequest(first.url, admin, 'POST', '/admin/clients', {
        client_id: 'shared-web',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [callback],
        scope: 'openid offline_access shared.read',
      });
      secret = client.client_secret as string;
      await createUser(first.url, admin, { username: 'hana', password });
    });

    after(() => env.cleanup());

    async function token(url: string, body: Record<string, string>) {
      const response = await fetch(`${url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth('shared-web', secret) },
        body: new URLSearchParams(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    }

    it('logs in on one, redeems and refreshes on the other, and revokes everywhere at once', async () => {
      const verifier = crypto.randomBytes(32).toString('base64url');
      const url = new URL(`${first.url}/auth`);
      url.search = new URLSearchParams({
        client_id: 'shared-web',
        response_type: 'code',
        redirect_uri: callback,
        scope: 'openid offline_access shared.read',
        resource: api,
        prompt: 'consent',
        code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      const redirect = await new BrowserlessUser(callback).authorize(url.href, 'hana', password);

      const issued = await token(second.url, {
        grant_type: 'authorization_code',
        code: redirect.searchParams.get('code')!,
        code_verifier: verifier,
        redirect_uri: callback,
        resource: api,
      });
      assert.equal(issued.status, 200, JSON.stringify(issued.body));

      const refreshed = await token(second.url, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token!, resource: api });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));

      const introspect = async (url: string) => {
        const response = await fetch(`${url}/token/introspection`, {
          method: 'POST',
          headers: { authorization: basicAuth('shared-web', secret) },
          body: new URLSearchParams({ token: refreshed.body.access_token! }),
        });
        return ((await response.json()) as { active: boolean }).active;
      };
      assert.equal(await introspect(first.url), true);
      const revoked = await fetch(`${second.url}/token/revocation`, {
        method: 'POST',
        headers: { authorization: basicAuth('shared-web', secret) },
        body: new URLSearchParams({ token: refreshed.body.access_token! }),
      });
      assert.equal(revoked.status, 200);
      assert.equal(await introspect(first.url), false, 'revoked at one instance, inactive at the other at once');

      // Last, as a replayed code revokes the whole grant (RFC 9700 §4.2.4).
      const reuse = await token(first.url, {
        grant_type: 'authorization_code',
        code: redirect.searchParams.get('code')!,
        code_verifier: verifier,
        redirect_uri: callback,
      });
      assert.equal(reuse.body.error, 'invalid_grant', 'a code redeemed at one instance is spent at the other');
    });

    it('sees an admin change to a client on every instance within a second', async () => {
      const admin = await getAdminToken(first.url);
      const created = await adminRequest(first.url, admin, 'POST', '/admin/clients', {
        client_id: 'svc-shared',
        grant_types: ['client_credentials'],
        scope: 'shared.read',
      });
      const basic = basicAuth('svc-shared', created.client_secret as string);
      const ask = (url: string) =>
        fetch(`${url}/token`, { method: 'POST', headers: { authorization: basic }, body: new URLSearchParams({ grant_type: 'client_credentials', resource: api }) });
      assert.equal((await ask(second.url)).status, 200);
      await adminRequest(first.url, admin, 'DELETE', '/admin/clients/svc-shared');
      const started = Date.now();
      while ((await ask(second.url)).status === 200) {
        assert.ok(Date.now() - started < 1_000, 'the deletion reached the other instance within a second');
        await sleep(20);
      }
    });
  });

  describe('WORKERS=2 under node:cluster', () => {
    let env: TestEnvironment;
    before(async () => {
      env = await createTestEnvironment();
    });
    after(() => env.cleanup());

    it('serves from two worker processes on one port and stops cleanly on SIGTERM', async () => {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: { ...process.env, ...env.env, PORT: String(port), HOST: '127.0.0.1', ISSUER: `http://127.0.0.1:${port}`, WORKERS: '2', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      try {
        const deadline = Date.now() + 60_000;
        const listening = () => output.split('\n').filter((line) => line.includes('Portcullis listening')).length;
        while (listening() < 2) {
          assert.ok(Date.now() < deadline, `two workers within 60 s:\n${output}`);
          await sleep(100);
        }
        const pids = new Set(
          output
            .split('\n')
            .filter((line) => line.includes('Portcullis listening'))
            .map((line) => (JSON.parse(line) as { pid: number }).pid),
        );
        assert.equal(pids.size, 2, 'two distinct worker processes');
        const tokens = await Promise.all(Array.from({ length: 10 }, () => getAdminToken(`http://127.0.0.1:${port}`)));
        assert.equal(tokens.length, 10);
      } finally {
        child.kill('SIGTERM');
      }
      assert.equal(await exited, 0);
    });
  });
}
