// The client-credentials fast path (src/oidc/fast-path): the requests it answers get the token
// and response oidc-provider would have produced for them, and everything it does not answer
// (bad credentials, replays, scopes or APIs it does not handle, anything unusual) reaches the
// library intact and gets the library's answer. Which one answered is read from
// portcullis_token_fast_path_requests_total.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CompactSign, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { fastPathServedCount } from '../helpers/fast-path.js';
import { basicAuth, createAdminApi, getAdminToken, readResponse, ResponseLog, type AdminApi, type JsonResponse } from '../helpers/http-support.js';

const ordersApi = 'https://api.test/fast-orders';
const opaqueApi = 'https://api.test/fast-opaque';
const inventoryApi = 'https://api.test/fast-inventory';
const shippingApi = 'https://api.test/fast-shipping';
const exchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';
const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

type Path = 'served' | 'handed_over';

describe(`fast paths: client credentials, token exchange, introspection (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: AdminApi;
  const log = new ResponseLog();
  let basicClient: { id: string; secret: string };
  let postClient: { id: string; secret: string };
  let jwtClient: { id: string; key: CryptoKey; kid: string };
  let inventoryService: { id: string; secret: string };

  async function register(metadata: Record<string, unknown>): Promise<Record<string, unknown>> {
    const created = await admin.call('POST', '/clients', { json: { grant_types: ['client_credentials'], ...metadata } });
    assert.equal(created.status, 201, created.text);
    return created.json!;
  }

  /** Posts a token (or introspection) request and says which path answered it. */
  async function post(
    form: Record<string, string | string[]>,
    headers: Record<string, string> = {},
    endpoint: 'token' | 'introspection' = 'token',
  ): Promise<JsonResponse & { path: Path }> {
    const before = await fastPathServedCount(server.url, endpoint);
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(form)) for (const item of [value].flat()) body.append(name, item);
    const path = endpoint === 'token' ? '/token' : '/token/introspection';
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
    log.record('POST', path, response);
    const answer = await readResponse(response);
    return { ...answer, path: (await fastPathServedCount(server.url, endpoint)) > before ? 'served' : 'handed_over' };
  }

  const introspect = (form: Record<string, string>, headers: Record<string, string> = {}) => post(form, headers, 'introspection');

  const basic = (client = basicClient) => ({ authorization: basicAuth(client.id, client.secret) });

  async function assertion(claims: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: jwtClient.id, sub: jwtClient.id, aud: server.issuer, jti: crypto.randomUUID(), iat: now, exp: now + 60, ...claims };
    return new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES256', kid: jwtClient.kid }).sign(jwtClient.key);
  }

  /** Two successful answers agree on everything but the token's identity and timing. */
  function assertSameIssuance(fast: JsonResponse, library: JsonResponse): void {
    assert.equal(fast.status, 200, fast.text);
    assert.equal(library.status, 200, library.text);
    assert.deepEqual(Object.keys(fast.json!).sort(), Object.keys(library.json!).sort());
    for (const member of ['token_type', 'scope', 'expires_in']) assert.equal(fast.json![member], library.json![member], member);
    for (const header of ['cache-control', 'content-type', 'x-content-type-options']) {
      assert.equal(fast.headers.get(header), library.headers.get(header), header);
    }
    const [fastToken, libraryToken] = [fast, library].map((answer) => answer.json!.access_token as string) as [string, string];
    assert.deepEqual(decodeProtectedHeader(fastToken), decodeProtectedHeader(libraryToken));
    const fastClaims = decodeJwt(fastToken);
    const libraryClaims = decodeJwt(libraryToken);
    assert.deepEqual(Object.keys(fastClaims).sort(), Object.keys(libraryClaims).sort());
    for (const [name, value] of Object.entries(libraryClaims)) {
      if (name === 'jti' || name === 'iat' || name === 'exp' || name === 'iat_ms') continue;
      assert.deepEqual(fastClaims[name], value, name);
    }
    // Both carry the issue time in ms, inside the second `iat` names.
    for (const claims of [fastClaims, libraryClaims]) {
      assert.equal(typeof claims.iat_ms, 'number');
      assert.equal(Math.floor((claims.iat_ms as number) / 1000), claims.iat);
    }
    assert.equal(fastClaims.exp! - fastClaims.iat!, libraryClaims.exp! - libraryClaims.iat!);
    assert.equal(typeof fastClaims.jti, 'string');
    assert.notEqual(fastClaims.jti, libraryClaims.jti);
  }

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    const adminToken = await getAdminToken(server.url, log);
    admin = createAdminApi(server.url, () => adminToken, log);
    for (const api of [
      { identifier: ordersApi, scopes: ['orders.read', 'orders.write', 'orders.audit'], access_token_ttl: 420 },
      { identifier: opaqueApi, scopes: ['opaque.read'], access_token_format: 'opaque' },
    ]) {
      const created = await admin.call('POST', '/resources', { json: api });
      assert.equal(created.status, 201, created.text);
    }
    const scope = 'orders.read orders.write opaque.read';
    const basicCreated = await register({ scope });
    basicClient = { id: basicCreated.client_id as string, secret: basicCreated.client_secret as string };
    const postCreated = await register({ scope, token_endpoint_auth_method: 'client_secret_post' });
    postClient = { id: postCreated.client_id as string, secret: postCreated.client_secret as string };
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const kid = 'fast-path-key';
    const jwtCreated = await register({
      scope,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] },
    });
    jwtClient = { id: jwtCreated.client_id as string, key: privateKey, kid };

    // Token exchange: inventory (acting for its API) trades a caller's token for one to shipping.
    const shipping = await admin.call('POST', '/resources', {
      json: { identifier: shippingApi, scopes: ['shipping.read', 'shipping.write'], access_token_ttl: 120 },
    });
    assert.equal(shipping.status, 201, shipping.text);
    const inventoryCreated = await register({
      grant_types: ['client_credentials', exchangeGrant],
      scope: 'shipping.read shipping.write',
    });
    inventoryService = { id: inventoryCreated.client_id as string, secret: inventoryCreated.client_secret as string };
    const inventory = await admin.call('POST', '/resources', {
      json: { identifier: inventoryApi, scopes: ['inventory.read'], access_token_ttl: 600, client_id: inventoryService.id },
    });
    assert.equal(inventory.status, 201, inventory.text);
    const updated = await admin.call('PUT', `/clients/${encodeURIComponent(basicClient.id)}`, {
      json: { grant_types: ['client_credentials'], scope: `${scope} inventory.read` },
    });
    assert.equal(updated.status, 200, updated.text);
  });

  after(async () => {
    await env?.cleanup();
    log.assertNoServerErrors();
  });

  it('client_secret_basic with resource and scope: served, with the token the library issues for the same request', async () => {
    const form = { grant_type: 'client_credentials', resource: ordersApi, scope: 'orders.read' };
    const fast = await post(form, basic());
    // An unknown parameter (ignored by the library, RFC 6749 §3.2) sends the same request to it.
    const library = await post({ ...form, unrelated: 'x' }, basic());
    assert.equal(fast.path, 'served');
    assert.equal(library.path, 'handed_over');
    assertSameIssuance(fast, library);
    const claims = decodeJwt(fast.json!.access_token as string);
    assert.equal(claims.sub, basicClient.id);
    assert.equal(claims.client_id, basicClient.id);
    assert.equal(claims.aud, ordersApi);
    assert.equal(claims.iss, server.issuer);
    assert.equal(claims.exp! - claims.iat!, 420);
    assert.equal(fast.json!.expires_in, 420);
  });

  it('client_secret_post: served, the same as the library', async () => {
    const form = { grant_type: 'client_credentials', resource: ordersApi, scope: 'orders.write', client_id: postClient.id, client_secret: postClient.secret };
    const fast = await post(form);
    const library = await post({ ...form, unrelated: 'x' });
    assert.equal(fast.path, 'served');
    assert.equal(library.path, 'handed_over');
    assertSameIssuance(fast, library);
  });

  it('private_key_jwt with inline keys: served, the same as the library, and the assertion is spent for both paths', async () => {
    const form = { grant_type: 'client_credentials', resource: ordersApi, client_assertion_type: assertionType };
    const first = await assertion();
    const fast = await post({ ...form, client_assertion: first });
    const library = await post({ ...form, client_assertion: await assertion(), unrelated: 'x' });
    assert.equal(fast.path, 'served');
    assert.equal(library.path, 'handed_over');
    assertSameIssuance(fast, library);
    // RFC 7523 §3 item 7: the assertion the fast path accepted is refused the second time, by the library.
    const replay = await post({ ...form, client_assertion: first });
    assert.equal(replay.path, 'handed_over');
    assert.equal(replay.status, 401);
    assert.equal(replay.json?.error, 'invalid_client');
  });

  it('without scope: every scope the client holds at the API (as the library), duplicates collapse', async () => {
    const fast = await post({ grant_type: 'client_credentials', resource: ordersApi }, basic());
    const library = await post({ grant_type: 'client_credentials', resource: ordersApi, unrelated: 'x' }, basic());
    assert.equal(fast.path, 'served');
    assertSameIssuance(fast, library);
    assert.equal(fast.json!.scope, 'orders.read orders.write');
    const repeated = await post({ grant_type: 'client_credentials', resource: ordersApi, scope: 'orders.write orders.read orders.write' }, basic());
    assert.equal(repeated.path, 'served');
    assert.equal(repeated.json!.scope, 'orders.write orders.read');
  });

  it('a wrong secret, an unknown client or a secret for a private_key_jwt client: the library answers 401 invalid_client', async () => {
    const form = { grant_type: 'client_credentials', resource: ordersApi };
    for (const headers of [
      basic({ id: basicClient.id, secret: 'wrong-secret' }),
      basic({ id: 'no-such-client', secret: basicClient.secret }),
      basic({ id: jwtClient.id, secret: basicClient.secret }),
    ]) {
      const answer = await post(form, headers);
      assert.equal(answer.path, 'handed_over');
      assert.equal(answer.status, 401, answer.text);
      assert.equal(answer.json?.error, 'invalid_client');
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Basic /);
    }
  });

  it('assertions the policy refuses (audience, lifetime, key reference, wrong key) are handed on and refused by the library', async () => {
    const form = { grant_type: 'client_credentials', resource: ordersApi, client_assertion_type: assertionType };
    const now = Math.floor(Date.now() / 1000);
    const { privateKey: otherKey } = await generateKeyPair('ES256');
    const refused = [
      await assertion({ aud: `${server.issuer}/token` }),
      await assertion({ aud: [server.issuer] }),
      await assertion({ exp: now + 24 * 60 * 60 }),
      await assertion({ exp: now - 60, iat: now - 120 }),
      await new CompactSign(Buffer.from(JSON.stringify({ iss: jwtClient.id, sub: jwtClient.id, aud: server.issuer, jti: crypto.randomUUID(), exp: now + 60 })))
        .setProtectedHeader({ alg: 'ES256', kid: jwtClient.kid })
        .sign(otherKey),
    ];
    for (const clientAssertion of refused) {
      const answer = await post({ ...form, client_assertion: clientAssertion });
      assert.equal(answer.path, 'handed_over');
      assert.equal(answer.status, 401, answer.text);
      assert.equal(answer.json?.error, 'invalid_client');
    }
  });

  it('a scope the client does not hold or the API does not define: invalid_scope from the library; the assertion is not spent', async () => {
    for (const scope of ['orders.audit', 'billing.read']) {
      const answer = await post({ grant_type: 'client_credentials', resource: ordersApi, scope }, basic());
      assert.equal(answer.path, 'handed_over');
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.json?.error, 'invalid_scope');
    }
    // OpenID Connect scopes are the library's business (it drops them from an API token).
    const openid = await post({ grant_type: 'client_credentials', resource: ordersApi, scope: 'openid' }, basic());
    assert.equal(openid.path, 'handed_over');
    assert.equal(openid.status, 200, openid.text);
    // The decision is taken before the assertion's jti is consumed: the library gets invalid_scope, not a replay.
    const answer = await post({
      grant_type: 'client_credentials',
      resource: ordersApi,
      scope: 'orders.audit',
      client_assertion_type: assertionType,
      client_assertion: await assertion(),
    });
    assert.equal(answer.status, 400, answer.text);
    assert.equal(answer.json?.error, 'invalid_scope');
  });

  it('requests it does not handle reach the library intact: no resource, an opaque API, a repeated parameter, a browser origin', async () => {
    const noResource = await post({ grant_type: 'client_credentials', scope: 'orders.read' }, basic());
    assert.equal(noResource.path, 'handed_over');
    assert.equal(noResource.status, 200, noResource.text);
    assert.equal(decodeJwt(noResource.json!.access_token as string).aud, ordersApi);

    const opaque = await post({ grant_type: 'client_credentials', resource: opaqueApi }, basic());
    assert.equal(opaque.path, 'handed_over');
    assert.equal(opaque.status, 200, opaque.text);
    assert.equal((opaque.json!.access_token as string).split('.').length, 1, 'an opaque token');

    const repeated = await post({ grant_type: 'client_credentials', resource: [ordersApi, opaqueApi] }, basic());
    assert.equal(repeated.path, 'handed_over');
    assert.equal(repeated.status, 400, repeated.text);

    // RFC 6749 §2.3.1: Basic credentials are form-URL-encoded; a %-escape is the library's to decode.
    const escaped = `%${basicClient.secret.charCodeAt(0).toString(16)}${basicClient.secret.slice(1)}`;
    const encoded = await post(
      { grant_type: 'client_credentials', resource: ordersApi },
      { authorization: `Basic ${Buffer.from(`${basicClient.id}:${escaped}`).toString('base64')}` },
    );
    assert.equal(encoded.path, 'handed_over');
    assert.equal(encoded.status, 200, encoded.text);

    const withOrigin = await post({ grant_type: 'client_credentials', resource: ordersApi }, { ...basic(), origin: 'https://app.example' });
    // clientBasedCORS (oidc/provider.ts): confidential clients call from servers, not browsers.
    assert.equal(withOrigin.path, 'handed_over');
    assert.equal(withOrigin.status, 400, withOrigin.text);
    assert.equal(withOrigin.json?.error, 'invalid_request');
  });

  it('a client that may not use client_credentials, or a deleted client, is refused by the library', async () => {
    const codeOnly = await register({
      grant_types: ['authorization_code'],
      redirect_uris: ['https://rp.example/cb'],
      scope: 'orders.read',
    });
    const refused = await post({ grant_type: 'client_credentials', resource: ordersApi }, basic({ id: codeOnly.client_id as string, secret: codeOnly.client_secret as string }));
    assert.equal(refused.path, 'handed_over');
    assert.equal(refused.status, 400, refused.text);

    const doomed = await register({ scope: 'orders.read' });
    const doomedAuth = basic({ id: doomed.client_id as string, secret: doomed.client_secret as string });
    assert.equal((await post({ grant_type: 'client_credentials', resource: ordersApi }, doomedAuth)).path, 'served');
    assert.equal((await admin.call('DELETE', `/clients/${encodeURIComponent(doomed.client_id as string)}`)).status, 204);
    const gone = await post({ grant_type: 'client_credentials', resource: ordersApi }, doomedAuth);
    assert.equal(gone.path, 'handed_over');
    assert.equal(gone.status, 401, gone.text);
  });

  it('a body that is not a client_credentials form still reaches the library (token exchange, refresh, JSON)', async () => {
    const exchange = await post({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: 'x' }, basic());
    assert.equal(exchange.path, 'handed_over');
    assert.equal(exchange.status, 400, exchange.text);
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...basic() },
      body: JSON.stringify({ grant_type: 'client_credentials', resource: ordersApi }),
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: string }).error, 'invalid_request');
  });

  it('introspection of a JWT by a secret or private_key_jwt client: served, the same answer as the library', async () => {
    const issued = await post({ grant_type: 'client_credentials', resource: ordersApi, scope: 'orders.read' }, basic());
    const token = issued.json!.access_token as string;
    const fast = await introspect({ token }, basic());
    const library = await introspect({ token, unrelated: 'x' }, basic());
    assert.equal(fast.path, 'served');
    assert.equal(library.path, 'handed_over');
    assert.equal(fast.status, 200, fast.text);
    assert.deepEqual(fast.json, library.json);
    assert.equal(fast.json!.active, true);
    assert.equal(fast.json!.client_id, basicClient.id);
    assert.equal(fast.headers.get('cache-control'), library.headers.get('cache-control'));

    const hinted = await introspect({ token, token_type_hint: 'access_token' }, basic());
    assert.equal(hinted.path, 'served');
    assert.deepEqual(hinted.json, fast.json);
    const otherHint = await introspect({ token, token_type_hint: 'refresh_token' }, basic());
    assert.equal(otherHint.path, 'handed_over');
    assert.deepEqual(otherHint.json, fast.json);

    // Another client that neither received the token nor acts for its API learns nothing (RFC 7662 §4).
    const byStranger = await introspect({
      token,
      client_assertion_type: assertionType,
      client_assertion: await assertion({ aud: server.issuer }),
    });
    assert.equal(byStranger.path, 'served');
    assert.deepEqual(byStranger.json, { active: false });
  });

  it('introspection after revocation, of an opaque token, or with bad credentials: the right answer from whichever path', async () => {
    const issued = await post({ grant_type: 'client_credentials', resource: ordersApi }, basic());
    const token = issued.json!.access_token as string;
    const jti = decodeJwt(token).jti as string;
    assert.equal((await admin.call('POST', '/revocations', { json: { jti } })).status < 300, true);
    const revoked = await introspect({ token }, basic());
    assert.equal(revoked.path, 'served');
    assert.deepEqual(revoked.json, { active: false });

    const opaque = await post({ grant_type: 'client_credentials', resource: opaqueApi }, basic());
    const opaqueAnswer = await introspect({ token: opaque.json!.access_token as string }, basic());
    assert.equal(opaqueAnswer.path, 'handed_over');
    assert.equal(opaqueAnswer.json?.active, true);

    const wrongSecret = await introspect({ token }, basic({ id: basicClient.id, secret: 'wrong' }));
    assert.equal(wrongSecret.path, 'handed_over');
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.json?.error, 'invalid_client');

    const garbage = await introspect({ token: 'a.b.c' }, basic());
    assert.equal(garbage.path, 'served');
    assert.deepEqual(garbage.json, { active: false });
  });

  it('token exchange of a JWT for a JWT API: served, the same token, response and audit as the library', async () => {
    const subject = await post({ grant_type: 'client_credentials', resource: inventoryApi }, basic());
    assert.equal(subject.status, 200, subject.text);
    const form = {
      grant_type: exchangeGrant,
      subject_token: subject.json!.access_token as string,
      subject_token_type: accessTokenType,
      resource: shippingApi,
      scope: 'shipping.read',
    };
    const service = basic(inventoryService);
    const fast = await post(form, service);
    const library = await post({ ...form, unrelated: 'x' }, service);
    assert.equal(fast.path, 'served');
    assert.equal(library.path, 'handed_over');
    assertSameIssuance(fast, library);
    assert.equal(fast.json!.issued_token_type, accessTokenType);
    const claims = decodeJwt(fast.json!.access_token as string);
    assert.deepEqual(claims.act, { sub: inventoryService.id });
    assert.equal(claims.sub, basicClient.id);
    assert.equal(claims.client_id, inventoryService.id);
    assert.equal(claims.aud, shippingApi);
    assert.equal(claims.exp! - claims.iat!, 120);

    // Both paths wrote a success record to the audit trail.
    const events = await admin.call('GET', `/events?type=token_exchange&client_id=${encodeURIComponent(inventoryService.id)}`);
    assert.equal(events.status, 200, events.text);
    const records = events.json!.items as { outcome: string; sub: string; details: { target: string; chain: string[] } }[];
    const successes = records.filter((event) => event.outcome === 'success');
    assert.equal(successes.length, 2, events.text);
    assert.deepEqual(successes[0], { ...successes[0], sub: basicClient.id });
    assert.deepEqual(successes[0].details, successes[1]!.details);
    assert.deepEqual(successes[0].details.chain, [inventoryService.id]);
  });

  it('token exchanges the policy refuses are answered (and audited) by the library', async () => {
    const subject = await post({ grant_type: 'client_credentials', resource: ordersApi }, basic());
    const refusals: [Record<string, string>, Record<string, string>, string][] = [
      // Not addressed to an API the caller acts for.
      [{ subject_token: subject.json!.access_token as string, resource: shippingApi }, basic(inventoryService), 'invalid_grant'],
      // A target the caller may not reach.
      [{ subject_token: (await post({ grant_type: 'client_credentials', resource: inventoryApi }, basic())).json!.access_token as string, resource: ordersApi }, basic(inventoryService), 'invalid_target'],
      // A client without the grant type (RFC 6749 §5.2; internals.ts registeredGrantTypeCheck).
      [{ subject_token: subject.json!.access_token as string, resource: shippingApi }, basic(), 'unauthorized_client'],
    ];
    for (const [params, headers, error] of refusals) {
      const answer = await post({ grant_type: exchangeGrant, subject_token_type: accessTokenType, ...params }, headers);
      assert.equal(answer.path, 'handed_over');
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.json?.error, error, answer.text);
    }
  });
});
