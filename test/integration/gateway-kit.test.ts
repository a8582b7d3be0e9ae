// The gateway kit on real gateways (Debian's nginx 1.22 and HAProxy 2.6, installed by .ci/run):
// deploy/nginx/portcullis-gateway.conf and deploy/haproxy/portcullis-gateway.cfg rendered with this
// test's ports and credentials. For each: an opaque token in → the upstream sees a JWT that
// verifies against the JWKS, never the opaque token; garbage, expired and revoked tokens → 401 at
// the gateway with Portcullis' challenge; a DPoP-bound token passes with its proof for the
// gateway's URL, and its replay does not.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { createTestEnvironment, freePort, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth, clientCredentialsToken, createAdminApi, getAdminToken, ResponseLog } from '../helpers/http-support.js';
import { verifiedAccessToken } from '../helpers/access-tokens.js';
import { dpopKey, dpopProof, type DpopKey } from '../helpers/dpop.js';
import { deployDirectory, renderDeployFile, startGateway, startSampleUpstream, stateDirectory, type RunningGateway, type SampleUpstream } from '../helpers/gateways.js';

interface Kit {
  name: string;
  /** Writes the rendered config into stateDir and starts the gateway on port. */
  start(values: Record<string, string>, stateDir: string, port: number): Promise<RunningGateway>;
  /** Where its answers are reused from within Portcullis' max-age. */
  cache: string;
}

const kits: Kit[] = [
  {
    name: 'nginx, deploy/nginx',
    cache: "nginx's auth cache",
    async start(values, stateDir, port) {
      const file = path.join(stateDir, 'nginx.conf');
      await fs.writeFile(file, await renderDeployFile('nginx/portcullis-gateway.conf', { ...values, STATE_DIR: stateDir }));
      return startGateway('nginx', ['-p', stateDir, '-c', file, '-g', 'daemon off;'], port, stateDir);
    },
  },
  {
    name: 'HAProxy, deploy/haproxy',
    cache: "the Lua action's cache",
    async start(values, stateDir, port) {
      const file = path.join(stateDir, 'haproxy.cfg');
      await fs.writeFile(file, await renderDeployFile('haproxy/portcullis-gateway.cfg', { ...values, DEPLOY_DIR: deployDirectory('haproxy') }));
      return startGateway('haproxy', ['-db', '-f', file], port, stateDir);
    },
  },
];

for (const kit of kits) {
  const slug = kit.name.split(',')[0]!.toLowerCase();
  const opaqueApi = `https://api.test/${slug}-orders`;
  const shortApi = `https://api.test/${slug}-short`;

  describe(`${kit.name} as the gateway (${storesLabel})`, () => {
    let env: TestEnvironment;
    let server: TestServer;
    let upstream: SampleUpstream;
    let gateway: RunningGateway;
    const log = new ResponseLog();
    let app: { id: string; secret: string };
    let shortToken: string;
    let shortIssuedAt: number;

    const token = async (resource: string, key?: DpopKey) =>
      clientCredentialsToken(server.url, {
        clientId: app.id,
        clientSecret: app.secret,
        params: { resource },
        headers: key ? { dpop: await dpopProof(key, { htu: `${server.issuer}/token` }) } : {},
        log,
      });

    async function call(headers: Record<string, string>, pathname = '/orders/7') {
      const before = upstream.seen.length;
      const response = await fetch(`${gateway.url}${pathname}`, { headers });
      const body = await response.text();
      return { status: response.status, body, challenge: response.headers.get('www-authenticate'), reached: upstream.seen.slice(before) };
    }

    const innerOf = (seen: { authorization?: string }) => /^Bearer (.+)$/.exec(String(seen.authorization))![1]!;

    before(async () => {
      env = await createTestEnvironment();
      server = await env.start();
      const adminToken = await getAdminToken(server.url, log);
      const admin = createAdminApi(server.url, () => adminToken, log);
      const created = await admin.call('POST', '/clients', { json: { grant_types: ['client_credentials'] } });
      const gatewayClient = { id: created.json!.client_id as string, secret: created.json!.client_secret as string };
      for (const api of [
        { identifier: opaqueApi, scopes: ['orders.read'], access_token_format: 'opaque', client_id: gatewayClient.id },
        { identifier: shortApi, scopes: ['short.read'], access_token_format: 'opaque', client_id: gatewayClient.id, access_token_ttl: 30 },
      ]) {
        assert.equal((await admin.call('POST', '/resources', { json: api })).status, 201);
      }
      const appCreated = await admin.call('POST', '/clients', { json: { grant_types: ['client_credentials'], scope: 'orders.read short.read' } });
      app = { id: appCreated.json!.client_id as string, secret: appCreated.json!.client_secret as string };
      // Expires while the other cases run (a real 30 s lifetime).
      shortIssuedAt = Date.now();
      shortToken = await token(shortApi);

      upstream = await startSampleUpstream();
      const port = await freePort();
      gateway = await kit.start(
        {
          LISTEN: `127.0.0.1:${port}`,
          PORTCULLIS_URL: server.url,
          GATEWAY_BASIC: Buffer.from(`${gatewayClient.id}:${gatewayClient.secret}`).toString('base64'),
          UPSTREAM: `127.0.0.1:${upstream.port}`,
        },
        await stateDirectory(slug),
        port,
      );
    });

    after(async () => {
      await gateway?.stop();
      await upstream?.close();
      if (gateway) await fs.rm(gateway.stateDir, { recursive: true, force: true });
      await env?.cleanup();
      log.assertNoServerErrors();
    });

    it('an opaque token in: the upstream sees a JWT that verifies against the JWKS, never the opaque token', async () => {
      const opaque = await token(opaqueApi);
      const answer = await call({ authorization: `Bearer ${opaque}` });
      assert.equal(answer.status, 200, answer.body);
      assert.equal(answer.reached.length, 1);
      const [seen] = answer.reached;
      const claims = await verifiedAccessToken(server, innerOf(seen!), opaqueApi);
      assert.equal(claims.sub, app.id);
      assert.equal(claims.scope, 'orders.read');
      assert.ok(!JSON.stringify(seen).includes(opaque), 'the upstream never sees the opaque token');
      const again = await call({ authorization: `Bearer ${opaque}` });
      assert.equal(again.status, 200);
      assert.equal(again.reached[0]!.authorization, seen!.authorization, `reused from ${kit.cache}: the same inner JWT`);
    });

    it('garbage, no token and a revoked token: 401 at the gateway with the challenge, nothing reaches the upstream', async () => {
      const garbage = await call({ authorization: 'Bearer garbage' });
      assert.equal(garbage.status, 401);
      assert.match(String(garbage.challenge), /^Bearer realm="gateway", error="invalid_token"/);
      assert.equal(garbage.reached.length, 0);
      const none = await call({});
      assert.equal(none.status, 401);
      assert.equal(none.reached.length, 0);
      const opaque = await token(opaqueApi);
      const revoked = await fetch(`${server.url}/token/revocation`, { method: 'POST', headers: { authorization: basicAuth(app.id, app.secret) }, body: new URLSearchParams({ token: opaque }) });
      assert.equal(revoked.status, 200);
      await revoked.body?.cancel();
      const refused = await call({ authorization: `Bearer ${opaque}` });
      assert.equal(refused.status, 401);
      assert.equal(refused.reached.length, 0);
    });

    it('a DPoP-bound token passes with its proof for the gateway URL; the same proof again does not', async () => {
      const key = await dpopKey();
      const bound = await token(opaqueApi, key);
      const proof = await dpopProof(key, { htm: 'GET', htu: `${gateway.url}/orders/7`, accessToken: bound });
      const passed = await call({ authorization: `DPoP ${bound}`, dpop: proof });
      assert.equal(passed.status, 200, passed.body);
      assert.equal(passed.reached[0]!.dpop, undefined, 'the proof stops at the gateway');
      assert.deepEqual(decodeJwt(innerOf(passed.reached[0]!)).cnf, { jkt: key.jkt });
      const replayed = await call({ authorization: `DPoP ${bound}`, dpop: proof });
      assert.equal(replayed.status, 401);
      assert.match(String(replayed.challenge), /^DPoP .*invalid_dpop_proof/);
      assert.equal(replayed.reached.length, 0);
    });

    it('an expired token: 401 at the gateway', async () => {
      await sleep(Math.max(0, shortIssuedAt + 31_000 - Date.now()));
      const expired = await call({ authorization: `Bearer ${shortToken}` });
      assert.equal(expired.status, 401);
      assert.equal(expired.reached.length, 0);
    });
  });
}
