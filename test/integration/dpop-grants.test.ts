// DPoP (RFC 9449) on every grant and where bound tokens are used: authorization code with
// dpop_jkt (in the authorization request and in PAR, §10), refresh tokens of public clients bound
// to the key (§5), client credentials and token exchange on the fast paths and the library paths
// alike, the client and API policies (dpop_bound_access_tokens), introspection, revocation,
// userinfo and our own admin API. The client side is openid-client, a certified library.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import * as oidc from 'openid-client';
import { createTestEnvironment, storesLabel, adminClientId, adminClientSecret, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth, createAdminApi, getAdminToken, readResponse, ResponseLog, type AdminApi, type JsonResponse } from '../helpers/http-support.js';
import { createUser } from '../helpers/admin.js';
import { BrowserlessUser } from '../helpers/http-login.js';
import { fastPathServedCount } from '../helpers/fast-path.js';
import { dpopKey, dpopProof, type DpopKey } from '../helpers/dpop.js';

const callback = 'http://127.0.0.1:9/dpop-callback';
const inventoryApi = 'https://api.test/dpop-inventory';
const shippingApi = 'https://api.test/dpop-shipping';
const exchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';
const insecure = { execute: [oidc.allowInsecureRequests] };
const username = 'dpop-alice';
const password = 'correct horse battery staple dpop';

describe(`DPoP on every grant (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: AdminApi;
  const log = new ResponseLog();
  let caller: { id: string; secret: string };
  let inventory: { id: string; secret: string };
  let strictClient: { id: string; secret: string };

  const tokenUrl = () => `${server.url}/token`;

  async function post(path: string, form: Record<string, string>, headers: Record<string, string>): Promise<JsonResponse & { served: boolean }> {
    const endpoint = path === '/token' ? 'token' : 'introspection';
    const before = await fastPathServedCount(server.url, endpoint);
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form),
    });
    log.record('POST', path, response);
    const answer = await readResponse(response);
    return { ...answer, served: (await fastPathServedCount(server.url, endpoint)) > before };
  }

  async function clientCredentials(client: { id: string; secret: string }, resource: string, key?: DpopKey, extra: Record<string, string> = {}) {
    const headers: Record<string, string> = { authorization: basicAuth(client.id, client.secret) };
    if (key) headers.dpop = await dpopProof(key, { htu: tokenUrl() });
    return post('/token', { grant_type: 'client_credentials', resource, ...extra }, headers);
  }

  async function exchange(subjectToken: string, resource: string, key?: DpopKey, extra: Record<string, string> = {}, as = inventory) {
    const headers: Record<string, string> = { authorization: basicAuth(as.id, as.secret) };
    if (key) headers.dpop = await dpopProof(key, { htu: tokenUrl() });
    return post(
      '/token',
      { grant_type: exchangeGrant, subject_token: subjectToken, subject_token_type: accessTokenType, resource, ...extra },
      headers,
    );
  }

  const introspect = async (token: string) =>
    (await post('/token/introspection', { token }, { authorization: basicAuth(adminClientId, adminClientSecret) })).json!;

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    const adminToken = await getAdminToken(server.url, log);
    admin = createAdminApi(server.url, () => adminToken, log);
    const register = async (metadata: Record<string, unknown>) => {
      const created = await admin.call('POST', '/clients', { json: metadata });
      assert.equal(created.status, 201, created.text);
      return { id: created.json!.client_id as string, secret: created.json!.client_secret as string };
    };
    const registerApi = async (api: Record<string, unknown>) => {
      const created = await admin.call('POST', '/resources', { json: api });
      assert.equal(created.status, 201, created.text);
    };
    await registerApi({ identifier: shippingApi, scopes: ['shipping.read'], dpop_bound_access_tokens: true });
    inventory = await register({ grant_types: ['client_credentials', exchangeGrant], scope: 'shipping.read' });
    await registerApi({ identifier: inventoryApi, scopes: ['inventory.read'], client_id: inventory.id });
    caller = await register({ grant_types: ['client_credentials'], scope: 'inventory.read shipping.read' });
    strictClient = await register({ grant_types: ['client_credentials'], scope: 'inventory.read', dpop_bound_access_tokens: true });
    const created = await admin.call('POST', '/clients', {
      json: {
        client_id: 'dpop-spa',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [callback],
        token_endpoint_auth_method: 'none',
        scope: 'openid offline_access',
        first_party: true,
      },
    });
    assert.equal(created.status, 201, created.text);
    await createUser(server.url, adminToken, { username, password });
  });

  after(async () => {
    await env?.cleanup();
    log.assertNoServerErrors();
  });

  describe('authorization code and refresh (openid-client, a public client)', () => {
    let config: oidc.Configuration;
    before(async () => {
      config = await oidc.discovery(new URL(server.issuer), 'dpop-spa', { token_endpoint_auth_method: 'none' }, oidc.None(), insecure);
    });

    async function signIn(params: Record<string, string>, options: { par?: oidc.DPoPHandle } = {}) {
      const verifier = oidc.randomPKCECodeVerifier();
      const all = {
        redirect_uri: callback,
        scope: 'openid offline_access',
        prompt: 'consent',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        ...params,
      };
      const url = options.par ? await oidc.buildAuthorizationUrlWithPAR(config, all, { DPoP: options.par }) : oidc.buildAuthorizationUrl(config, all);
      const redirected = await new BrowserlessUser(callback).authorize(url.href, username, password);
      return { redirected, verifier };
    }

    it('dpop_jkt in the authorization request: the code is redeemed only with that key; the tokens are DPoP-bound, userinfo takes them with a proof, refresh is bound to the key', async () => {
      const keyPair = await oidc.randomDPoPKeyPair('ES256');
      const dpop = oidc.getDPoPHandle(config, keyPair);
      const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256');

      // Another key cannot redeem a code bound to this one.
      const stolen = await signIn({ dpop_jkt: jkt });
      const otherKey = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
      await assert.rejects(
        oidc.authorizationCodeGrant(config, stolen.redirected, { pkceCodeVerifier: stolen.verifier }, undefined, { DPoP: otherKey }),
        (error: { error?: string }) => error.error === 'invalid_grant',
      );

      const { redirected, verifier } = await signIn({ dpop_jkt: jkt });
      const tokens = await oidc.authorizationCodeGrant(config, redirected, { pkceCodeVerifier: verifier }, undefined, { DPoP: dpop });
      assert.equal(tokens.token_type, 'dpop');
      assert.ok(tokens.refresh_token, 'a refresh token');
      const introspected = await introspect(tokens.access_token);
      assert.equal(introspected.active, true);
      assert.equal(introspected.token_type, 'DPoP');
      assert.deepEqual(introspected.cnf, { jkt });

      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck, { DPoP: dpop });
      assert.equal(typeof userinfo.sub, 'string');
      // As a Bearer token, the bound token is refused (§7.1).
      const asBearer = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(asBearer.status, 401);
      await asBearer.body?.cancel();

      // §5: a public client's refresh token is bound to the key: another key or no proof is refused.
      await assert.rejects(
        oidc.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: otherKey }),
        (error: { error?: string }) => error.error === 'invalid_grant',
      );
      const withoutProof = await post('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'dpop-spa' }, {});
      assert.equal(withoutProof.status, 400, withoutProof.text);
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: dpop });
      assert.equal(refreshed.token_type, 'dpop');
    });

    it('PAR with a DPoP proof binds the code to its key (§10.1)', async () => {
      const keyPair = await oidc.randomDPoPKeyPair('ES256');
      const dpop = oidc.getDPoPHandle(config, keyPair);
      const pushed = await signIn({}, { par: dpop });
      const otherKey = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
      await assert.rejects(
        oidc.authorizationCodeGrant(config, pushed.redirected, { pkceCodeVerifier: pushed.verifier }, undefined, { DPoP: otherKey }),
        (error: { error?: string }) => error.error === 'invalid_grant',
      );
      const again = await signIn({}, { par: dpop });
      const tokens = await oidc.authorizationCodeGrant(config, again.redirected, { pkceCodeVerifier: again.verifier }, undefined, { DPoP: dpop });
      assert.equal(tokens.token_type, 'dpop');
    });
  });

  describe('client credentials and the policies', () => {
    it('a proof binds the token on the fast path as on the library path: the same claims, cnf.jkt included', async () => {
      const key = await dpopKey();
      const fast = await clientCredentials(caller, inventoryApi, key);
      const library = await clientCredentials(caller, inventoryApi, key, { unrelated: 'x' });
      assert.equal(fast.served, true, fast.text);
      assert.equal(library.served, false, library.text);
      for (const answer of [fast, library]) {
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.json?.token_type, 'DPoP');
        assert.deepEqual(decodeJwt(answer.json.access_token as string).cnf, { jkt: key.jkt });
      }
      const [fastClaims, libraryClaims] = [fast, library].map((answer) => decodeJwt(answer.json!.access_token as string));
      assert.deepEqual(Object.keys(fastClaims!), Object.keys(libraryClaims!));
    });

    it('an API with dpop_bound_access_tokens gets no bearer token: 400 without a proof, a bound token with one', async () => {
      const refused = await clientCredentials(caller, shippingApi);
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.json?.error, 'invalid_request');
      assert.match(String(refused.json?.error_description), /accepts only DPoP-bound access tokens/);
      const key = await dpopKey();
      const bound = await clientCredentials(caller, shippingApi, key);
      assert.equal(bound.status, 200, bound.text);
      assert.equal(bound.served, true);
      assert.deepEqual(decodeJwt(bound.json!.access_token as string).cnf, { jkt: key.jkt });
    });

    it('a client with dpop_bound_access_tokens gets no token without a proof (§5.2)', async () => {
      const refused = await clientCredentials(strictClient, inventoryApi);
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.json?.error, 'invalid_grant');
      const bound = await clientCredentials(strictClient, inventoryApi, await dpopKey());
      assert.equal(bound.status, 200, bound.text);
      assert.equal(bound.served, true);
      assert.equal(bound.json?.token_type, 'DPoP');
    });

    it('introspection says DPoP with cnf.jkt; revocation of a bound token works as for any other', async () => {
      const key = await dpopKey();
      const token = (await clientCredentials(caller, inventoryApi, key)).json!.access_token as string;
      const introspected = await introspect(token);
      assert.equal(introspected.active, true);
      assert.equal(introspected.token_type, 'DPoP');
      assert.deepEqual(introspected.cnf, { jkt: key.jkt });
      const revoked = await fetch(`${server.url}/token/revocation`, {
        method: 'POST',
        headers: { authorization: basicAuth(caller.id, caller.secret) },
        body: new URLSearchParams({ token }),
      });
      assert.equal(revoked.status, 200);
      await revoked.body?.cancel();
      assert.equal((await introspect(token)).active, false);
    });
  });

  describe('token exchange', () => {
    it("a bound subject token is exchanged by the API it is addressed to; the result is bound to the caller's key, the act chain kept; fast and library paths alike", async () => {
      const holderKey = await dpopKey();
      const subject = (await clientCredentials(caller, inventoryApi, holderKey)).json!.access_token as string;
      assert.deepEqual(decodeJwt(subject).cnf, { jkt: holderKey.jkt });
      const callerKey = await dpopKey();
      const fast = await exchange(subject, shippingApi, callerKey);
      const library = await exchange(subject, shippingApi, callerKey, { unrelated: 'x' });
      assert.equal(fast.served, true, fast.text);
      assert.equal(library.served, false, library.text);
      for (const answer of [fast, library]) {
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.json?.token_type, 'DPoP');
        const claims = decodeJwt(answer.json.access_token as string);
        assert.deepEqual(claims.cnf, { jkt: callerKey.jkt }, 'bound to the caller, not to the holder');
        assert.deepEqual(claims.act, { sub: inventory.id });
        assert.equal(claims.sub, caller.id);
      }
    });

    it('openid-client drives the exchange with its DPoP handle: the result is bound to that key', async () => {
      const subject = (await clientCredentials(caller, inventoryApi, await dpopKey())).json!.access_token as string;
      const config = await oidc.discovery(new URL(server.issuer), inventory.id, inventory.secret, undefined, insecure);
      const keyPair = await oidc.randomDPoPKeyPair('ES256');
      const exchanged = await oidc.genericGrantRequest(
        config,
        exchangeGrant,
        { subject_token: subject, subject_token_type: accessTokenType, resource: shippingApi },
        { DPoP: oidc.getDPoPHandle(config, keyPair) },
      );
      assert.equal(exchanged.token_type, 'dpop');
      assert.deepEqual(decodeJwt(exchanged.access_token).cnf, { jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256') });
    });

    it('without a proof: a bearer result, except for a target API that takes only bound tokens', async () => {
      const subject = (await clientCredentials(caller, inventoryApi, await dpopKey())).json!.access_token as string;
      const refused = await exchange(subject, shippingApi);
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.json?.error, 'invalid_request');
      assert.match(String(refused.json?.error_description), /DPoP-bound/);
    });

    it('a bound subject token presented by a client the token is not addressed to is refused', async () => {
      const subject = (await clientCredentials(caller, inventoryApi, await dpopKey())).json!.access_token as string;
      const outsider = await admin.call('POST', '/clients', { json: { grant_types: ['client_credentials', exchangeGrant], scope: 'shipping.read' } });
      assert.equal(outsider.status, 201, outsider.text);
      const answer = await exchange(subject, shippingApi, await dpopKey(), {}, { id: outsider.json!.client_id as string, secret: outsider.json!.client_secret as string });
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.json?.error, 'invalid_grant');
      assert.match(String(answer.json?.error_description), /not addressed to an API this client acts for/);
    });
  });

  describe('our own APIs take bound tokens only with a proof (the admin API)', () => {
    it('Bearer is refused, DPoP with a proof by the key is accepted, another key or a replay is refused', async () => {
      const key = await dpopKey();
      const issued = await post(
        '/token',
        { grant_type: 'client_credentials', scope: 'admin' },
        { authorization: basicAuth(adminClientId, adminClientSecret), dpop: await dpopProof(key, { htu: tokenUrl() }) },
      );
      assert.equal(issued.status, 200, issued.text);
      const token = issued.json!.access_token as string;
      const url = `${server.url}/admin/clients`;
      const call = async (headers: Record<string, string>) => {
        const response = await fetch(url, { headers });
        return { status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.text() };
      };
      const bearer = await call({ authorization: `Bearer ${token}` });
      assert.equal(bearer.status, 401, bearer.body);
      assert.match(String(bearer.challenge), /^DPoP .*error="invalid_token"/);
      const proof = await dpopProof(key, { htm: 'GET', htu: url, accessToken: token });
      assert.equal((await call({ authorization: `DPoP ${token}`, dpop: proof })).status, 200);
      const replay = await call({ authorization: `DPoP ${token}`, dpop: proof });
      assert.equal(replay.status, 401, replay.body);
      assert.match(String(replay.challenge), /invalid_dpop_proof/);
      const other = await dpopKey();
      const wrongKey = await call({ authorization: `DPoP ${token}`, dpop: await dpopProof(other, { htm: 'GET', htu: url, accessToken: token }) });
      assert.equal(wrongKey.status, 401, wrongKey.body);
      const noAth = await call({ authorization: `DPoP ${token}`, dpop: await dpopProof(key, { htm: 'GET', htu: url, jti: crypto.randomUUID() }) });
      assert.equal(noAth.status, 401, noAth.body);
      assert.match(String(noAth.challenge), /ath/);
    });
  });
});
