// deploy/haproxy/portcullis-gateway.cfg (with portcullis-auth.lua) on a real HAProxy (Debian's
// 2.6): an opaque token in → the upstream sees a JWT that verifies against the JWKS, never the
// opaque token; garbage, expired and revoked tokens → 401 at the gateway with Portcullis'
// challenge; a DPoP-bound token passes with its proof for the gateway's URL, its replay does not.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { createTestEnvironment, freePort, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth, createAdminApi, getAdminToken, readResponse, ResponseLog, type AdminApi } from '../helpers/http-support.js';
import { dpopKey, dpopProof, type DpopKey } from '../helpers/dpop.js';
import { deployDirectory, renderDeployFile, startGateway, startSampleUpstream, stateDirectory, type RunningGateway, type SampleUpstream } from '../helpers/gateways.js';

const opaqueApi = 'https://api.test/haproxy-orders';
const shortApi = 'https://api.test/haproxy-short';

describe(`HAProxy as the gateway, deploy/haproxy (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: AdminApi;
  let upstream: SampleUpstream;
  let gateway: RunningGateway;
  const log = new ResponseLog();
  let app: { id: string; secret: string };
  let shortToken: string;
  let shortIssuedAt: number;

  async function token(resource: string, key?: DpopKey): Promise<string> {
    const answer = await readResponse(
      await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(app.id, app.secret), ...(key ? { dpop: await dpopProof(key, { htu: `${server.issuer}/token` }) } : {}) },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource }),
      }),
    );
    assert.equal(answer.status, 200, answer.text);
    return answer.json!.access_token as string;
  }

  async function call(headers: Record<string, string>, pathname = '/orders/7') {
    const before = upstream.seen.length;
    const response = await fetch(`${gateway.url}${pathname}`, { headers });
    const body = await response.text();
    return { status: response.status, body, challenge: response.headers.get('www-authenticate'), reached: upstream.seen.slice(before) };
  }

  async function verifiedInner(jwt: string, audience: string) {
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: [] };
    return (await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: server.issuer, audience, typ: 'at+jwt', algorithms: ['ES256'] })).payload;
  }

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    const adminToken = await getAdminToken(server.url, log);
    admin = createAdminApi(server.url, () => adminToken, log);
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
    const stateDir = await stateDirectory('haproxy');
    const port = await freePort();
    const conf = await renderDeployFile('haproxy/portcullis-gateway.cfg', {
      DEPLOY_DIR: deployDirectory('haproxy'),
      LISTEN: `127.0.0.1:${port}`,
      PORTCULLIS_URL: server.url,
      GATEWAY_BASIC: Buffer.from(`${gatewayClient.id}:${gatewayClient.secret}`).toString('base64'),
      UPSTREAM: `127.0.0.1:${upstream.port}`,
    });
    const confFile = path.join(stateDir, 'haproxy.cfg');
    await fs.writeFile(confFile, conf);
    gateway = await startGateway('haproxy', ['-db', '-f', confFile], port, stateDir);
  });

  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    if (gateway && !process.env.KEEP_GATEWAY_STATE) await fs.rm(gateway.stateDir, { recursive: true, force: true });
    await env?.cleanup();
    log.assertNoServerErrors();
  });

  it('an opaque token in: the upstream sees a JWT that verifies against the JWKS, never the opaque token', async () => {
    const opaque = await token(opaqueApi);
    const answer = await call({ authorization: `Bearer ${opaque}` });
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.reached.length, 1);
    const [seen] = answer.reached;
    const inner = /^Bearer (.+)$/.exec(String(seen!.authorization))![1]!;
    const claims = await verifiedInner(inner, opaqueApi);
    assert.equal(claims.sub, app.id);
    assert.equal(claims.scope, 'orders.read');
    assert.ok(!JSON.stringify(seen).includes(opaque), 'the upstream never sees the opaque token');
    // The answer is reused from the Lua action's cache within its max-age: the same inner JWT again.
    const again = await call({ authorization: `Bearer ${opaque}` });
    assert.equal(again.status, 200);
    assert.equal(again.reached[0]!.authorization, seen!.authorization);
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
    assert.deepEqual(decodeJwt(/^Bearer (.+)$/.exec(String(passed.reached[0]!.authorization))![1]!).cnf, { jkt: key.jkt });
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
