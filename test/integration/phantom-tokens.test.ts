// Phantom tokens (src/tokens/phantom-token.ts): an API registered with opaque tokens gets them
// outside; its gateway trades each at introspection (Accept: application/jwt) for the RFC 9068 JWT
// a JWT-format token would be — same claims, aud, a jti that names the opaque token without being
// it, exp never later — which services verify offline with portcullis/verify. An unknown, expired
// or revoked token, or a caller that is not the API's gateway, gets 204 and no JWT; a revocation
// of the opaque token reaches the services through the feed. Both the fast path and the library
// path trade.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { verifiedAccessToken } from '../helpers/access-tokens.js';
import { createTokenVerifier, TokenVerificationError } from '../../src/verify/index.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth, clientCredentialsToken, createAdminApi, getAdminToken, readResponse, ResponseLog, type AdminApi } from '../helpers/http-support.js';
import { fastPathServedCount } from '../helpers/fast-path.js';
import { until } from '../helpers/wait.js';
import { dpopKey, dpopProof } from '../helpers/dpop.js';

const opaqueApi = 'https://api.test/phantom-orders';
const shortApi = 'https://api.test/phantom-short';
const jwtApi = 'https://api.test/phantom-jwt';

describe(`phantom tokens: opaque outside, JWT inside (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: AdminApi;
  const log = new ResponseLog();
  let gateway: { id: string; secret: string };
  let app: { id: string; secret: string };

  async function register(metadata: Record<string, unknown>): Promise<{ id: string; secret: string }> {
    const created = await admin.call('POST', '/clients', { json: metadata });
    assert.equal(created.status, 201, created.text);
    return { id: created.json!.client_id as string, secret: created.json!.client_secret as string };
  }

  const token = (resource: string, headers: Record<string, string> = {}) =>
    clientCredentialsToken(server.url, { clientId: app.id, clientSecret: app.secret, params: { resource }, headers, log });

  /** The trade as a gateway makes it; `library` adds an unknown parameter so the library answers. */
  async function trade(value: string, as = gateway, via: 'fast path' | 'library' = 'fast path') {
    const before = await fastPathServedCount(server.url, 'introspection');
    const body = new URLSearchParams({ token: value });
    if (via === 'library') body.set('unrelated', 'x');
    const response = await fetch(`${server.url}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basicAuth(as.id, as.secret), accept: 'application/jwt' },
      body,
    });
    log.record('POST', '/token/introspection', response);
    const text = await response.text();
    const served = (await fastPathServedCount(server.url, 'introspection')) > before;
    return { status: response.status, type: response.headers.get('content-type'), cache: response.headers.get('cache-control'), text, served };
  }

  const verifiedInner = (jwt: string, audience: string) => verifiedAccessToken(server, jwt, audience);

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    const adminToken = await getAdminToken(server.url, log);
    admin = createAdminApi(server.url, () => adminToken, log);
    gateway = await register({ grant_types: ['client_credentials'] });
    for (const api of [
      { identifier: opaqueApi, scopes: ['orders.read'], access_token_format: 'opaque', client_id: gateway.id, access_token_ttl: 600 },
      { identifier: shortApi, scopes: ['short.read'], access_token_format: 'opaque', client_id: gateway.id, access_token_ttl: 30 },
      { identifier: jwtApi, scopes: ['orders.read.jwt'], client_id: gateway.id, access_token_ttl: 600 },
    ]) {
      assert.equal((await admin.call('POST', '/resources', { json: api })).status, 201);
    }
    app = await register({ grant_types: ['client_credentials'], scope: 'orders.read short.read orders.read.jwt' });
  });

  after(async () => {
    await env?.cleanup();
    log.assertNoServerErrors();
  });

  it('the gateway gets the JWT a JWT-format token would be: verified against the JWKS, jti naming the opaque token without it, on both paths', async () => {
    const opaque = await token(opaqueApi);
    assert.equal(opaque.split('.').length, 1, 'opaque outside');
    const fast = await trade(opaque);
    const library = await trade(opaque, gateway, 'library');
    assert.equal(fast.served, true);
    assert.equal(library.served, false);
    const asJwt = decodeJwt(await token(jwtApi));
    for (const answer of [fast, library]) {
      assert.equal(answer.status, 200, answer.text);
      assert.match(String(answer.type), /^application\/jwt/);
      assert.equal(answer.cache, 'no-store');
      const claims = await verifiedInner(answer.text, opaqueApi);
      assert.deepEqual(Object.keys(claims).sort(), Object.keys(asJwt).sort(), 'the claims of a JWT-format token');
      assert.equal(claims.sub, app.id);
      assert.equal(claims.client_id, app.id);
      assert.equal(claims.scope, 'orders.read');
      assert.match(String(claims.jti), /^sha256:/);
      assert.ok(!answer.text.includes(opaque) && !JSON.stringify(claims).includes(opaque), 'the opaque token never goes inside');
      assert.equal(Math.floor((claims.iat_ms as number) / 1000), claims.iat);
    }
    assert.deepEqual(decodeJwt(fast.text), decodeJwt(library.text));
    const introspected = JSON.parse(
      (await readResponse(await fetch(`${server.url}/token/introspection`, { method: 'POST', headers: { authorization: basicAuth(gateway.id, gateway.secret) }, body: new URLSearchParams({ token: opaque }) }))).text,
    ) as { exp: number };
    assert.ok(decodeJwt(fast.text).exp! <= introspected.exp, 'exp never later than the opaque token');
  });

  it('services behind the gateway verify the inner JWT offline; revoking the opaque token stops the trade and reaches them through the feed', async () => {
    const verifier = createTokenVerifier({
      issuer: server.issuer,
      audience: opaqueApi,
      revocationFeed: {
        getAccessToken: async () => {
          const answer = await readResponse(
            await fetch(`${server.url}/token`, {
              method: 'POST',
              headers: { authorization: basicAuth(gateway.id, gateway.secret) },
              body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${server.issuer}/revocations` }),
            }),
          );
          return answer.json!.access_token as string;
        },
      },
    });
    try {
      await verifier.ready();
      const opaque = await token(opaqueApi);
      const inner = (await trade(opaque)).text;
      assert.equal((await verifier.verify(inner, { scope: 'orders.read' })).claims.sub, app.id);
      const revoked = await fetch(`${server.url}/token/revocation`, { method: 'POST', headers: { authorization: basicAuth(app.id, app.secret) }, body: new URLSearchParams({ token: opaque }) });
      assert.equal(revoked.status, 200);
      await revoked.body?.cancel();
      for (const via of ['fast path', 'library'] as const) assert.equal((await trade(opaque, gateway, via)).status, 204, via);
      await until('the feed revokes the inner JWT', async () => (await verifier.verify(inner).then(() => 'live', (error: unknown) => (error as TokenVerificationError).code)) === 'ERR_TOKEN_REVOKED', 5_000);
    } finally {
      verifier.close();
    }
  });

  it('no JWT for anyone but the API\'s gateway, nor for garbage; a JWT-format token is given back to its gateway as it is', async () => {
    const opaque = await token(opaqueApi);
    assert.equal((await trade(opaque, app)).status, 204, 'the token holder itself');
    assert.equal((await trade('no-such-token')).status, 204);
    const jwt = await token(jwtApi);
    const back = await trade(jwt);
    assert.equal(back.status, 200);
    assert.equal(back.text, jwt);
    assert.equal((await trade(jwt, app)).status, 204);
  });

  it('a DPoP-bound opaque token gives an inner JWT with the same cnf.jkt', async () => {
    const key = await dpopKey();
    const opaque = await token(opaqueApi, { dpop: await dpopProof(key, { htu: `${server.issuer}/token` }) });
    const claims = await verifiedInner((await trade(opaque)).text, opaqueApi);
    assert.deepEqual(claims.cnf, { jkt: key.jkt });
  });

  it('an expired opaque token gives no JWT (an API with a 30 s lifetime; a real wait)', async () => {
    const opaque = await token(shortApi);
    const live = await trade(opaque);
    assert.equal(live.status, 200);
    assert.equal(decodeJwt(live.text).exp! - decodeJwt(live.text).iat!, 30);
    await sleep(31_000);
    assert.equal((await trade(opaque)).status, 204);
  });
});
