// The forward-auth endpoint (src/gateway/forward-auth.ts) as a gateway calls it: the caller's
// Authorization (and DPoP proof) with the request it made, the gateway's own credentials in
// Gateway-Authorization; 200 with the inner JWT in Authorization, or 401 with the challenge a
// resource server would send, or 403 for a gateway that is not who it says.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { createTokenVerifier } from '../../src/verify/index.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth, clientCredentialsToken, createAdminApi, getAdminToken, ResponseLog, type AdminApi } from '../helpers/http-support.js';
import { dpopKey, dpopProof, type DpopKey } from '../helpers/dpop.js';

const opaqueApi = 'https://api.test/fa-orders';
const jwtApi = 'https://api.test/fa-jwt';
const boundApi = 'https://api.test/fa-bound';
const publicUrl = 'https://gateway.example.test/orders/7';

describe(`forward-auth for gateways (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: AdminApi;
  const log = new ResponseLog();
  let gateway: { id: string; secret: string };
  let app: { id: string; secret: string };

  async function register(metadata: Record<string, unknown>) {
    const created = await admin.call('POST', '/clients', { json: metadata });
    assert.equal(created.status, 201, created.text);
    return { id: created.json!.client_id as string, secret: created.json!.client_secret as string };
  }

  const token = async (resource: string, key?: DpopKey) =>
    clientCredentialsToken(server.url, {
      clientId: app.id,
      clientSecret: app.secret,
      params: { resource },
      headers: key ? { dpop: await dpopProof(key, { htu: `${server.issuer}/token` }) } : {},
      log,
    });

  async function check(headers: Record<string, string>, as: { id: string; secret: string } | null = gateway) {
    const response = await fetch(`${server.url}/forward-auth`, {
      headers: {
        'x-forwarded-method': 'GET',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'gateway.example.test',
        'x-forwarded-uri': '/orders/7?expand=lines',
        ...(as ? { 'gateway-authorization': basicAuth(as.id, as.secret) } : {}),
        ...headers,
      },
    });
    log.record('GET', '/forward-auth', response);
    await response.body?.cancel();
    return {
      status: response.status,
      inner: /^Bearer (.+)$/.exec(response.headers.get('authorization') ?? '')?.[1],
      challenge: response.headers.get('www-authenticate'),
      cache: response.headers.get('cache-control'),
    };
  }

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    const adminToken = await getAdminToken(server.url, log);
    admin = createAdminApi(server.url, () => adminToken, log);
    gateway = await register({ grant_types: ['client_credentials'] });
    for (const api of [
      { identifier: opaqueApi, scopes: ['orders.read'], access_token_format: 'opaque', client_id: gateway.id },
      { identifier: jwtApi, scopes: ['jwt.read'], client_id: gateway.id },
      { identifier: boundApi, scopes: ['bound.read'], access_token_format: 'opaque', client_id: gateway.id, dpop_bound_access_tokens: true },
    ]) {
      assert.equal((await admin.call('POST', '/resources', { json: api })).status, 201);
    }
    app = await register({ grant_types: ['client_credentials'], scope: 'orders.read jwt.read bound.read' });
  });

  after(async () => {
    await env?.cleanup();
    log.assertNoServerErrors();
  });

  it('an opaque Bearer token: 200 with the inner JWT, reusable for at most 30 s; a service verifies it offline', async () => {
    const opaque = await token(opaqueApi);
    const answer = await check({ authorization: `Bearer ${opaque}` });
    assert.equal(answer.status, 200);
    assert.ok(answer.inner);
    assert.match(String(answer.cache), /^max-age=([12]?\d|30)$/);
    const verifier = createTokenVerifier({ issuer: server.issuer, audience: opaqueApi, revocationFeed: false });
    try {
      assert.equal((await verifier.verify(answer.inner, { scope: 'orders.read' })).claims.sub, app.id);
    } finally {
      verifier.close();
    }
    const jwt = await token(jwtApi);
    assert.equal((await check({ authorization: `Bearer ${jwt}` })).inner, jwt, 'a JWT is its own inner token');
  });

  it('401 with a challenge for no token, garbage, a revoked token, an API the gateway does not act for; 403 for a wrong gateway', async () => {
    const none = await check({});
    assert.equal(none.status, 401);
    assert.match(String(none.challenge), /^Bearer realm="gateway"$/);
    const garbage = await check({ authorization: 'Bearer not-a-token' });
    assert.equal(garbage.status, 401);
    assert.match(String(garbage.challenge), /error="invalid_token"/);
    const opaque = await token(opaqueApi);
    const revoked = await fetch(`${server.url}/token/revocation`, { method: 'POST', headers: { authorization: basicAuth(app.id, app.secret) }, body: new URLSearchParams({ token: opaque }) });
    assert.equal(revoked.status, 200);
    await revoked.body?.cancel();
    assert.equal((await check({ authorization: `Bearer ${opaque}` })).status, 401);
    const other = await register({ grant_types: ['client_credentials'] });
    assert.equal((await check({ authorization: `Bearer ${await token(opaqueApi)}` }, other)).status, 401, 'not this gateway\'s API');
    assert.equal((await check({ authorization: `Bearer ${await token(opaqueApi)}` }, { id: gateway.id, secret: 'wrong' })).status, 403);
    assert.equal((await check({ authorization: `Bearer ${await token(opaqueApi)}` }, null)).status, 403);
  });

  it('DPoP: the proof is checked against the request the caller made; a bound token without it, a replay or another key is refused', async () => {
    const key = await dpopKey();
    const bound = await token(boundApi, key);
    const withProof = (proofKey = key, extra = {}) => dpopProof(proofKey, { htm: 'GET', htu: publicUrl, accessToken: bound, ...extra });
    const proof = await withProof();
    const ok = await check({ authorization: `DPoP ${bound}`, dpop: proof });
    assert.equal(ok.status, 200, String(ok.challenge));
    assert.equal(ok.cache, 'no-store', 'a DPoP answer is not reused: each proof is single-use');
    assert.deepEqual(decodeJwt(ok.inner!).cnf, { jkt: key.jkt });
    // Behind the gateway, a service that trusts it to check proofs takes the bound inner token as Bearer.
    const behind = createTokenVerifier({ issuer: server.issuer, audience: boundApi, revocationFeed: false, dpopCheckedUpstream: true });
    const strict = createTokenVerifier({ issuer: server.issuer, audience: boundApi, revocationFeed: false });
    try {
      assert.equal((await behind.verify(ok.inner!)).claims.sub, app.id);
      await assert.rejects(strict.verify(ok.inner!), /DPoP-bound/);
    } finally {
      behind.close();
      strict.close();
    }
    const replay = await check({ authorization: `DPoP ${bound}`, dpop: proof });
    assert.equal(replay.status, 401);
    assert.match(String(replay.challenge), /^DPoP .*error="invalid_dpop_proof"/);
    assert.equal((await check({ authorization: `DPoP ${bound}`, dpop: await withProof(await dpopKey()) })).status, 401);
    assert.equal((await check({ authorization: `Bearer ${bound}` })).status, 401);
    assert.equal((await check({ authorization: `DPoP ${bound}`, dpop: await withProof(key, { htu: 'https://gateway.example.test/elsewhere' }) })).status, 401);
    // An API that takes only bound tokens gets no bearer token through the gateway either.
    const unbound = await check({ authorization: `Bearer ${await token(opaqueApi)}` });
    assert.equal(unbound.status, 200);
  });
});
