// RFC 9701 JWT introspection answers: a client registered with introspection_signed_response_alg
// that asks with Accept: application/token-introspection+jwt gets the answer as a JWT signed by
// the server (typ token-introspection+jwt, iss, aud = that client, iat, token_introspection), for
// our JWT access tokens, opaque tokens and refresh tokens alike; with
// introspection_encrypted_response_alg it is encrypted to the client's key. oauth4webapi, a
// certified client library, validates it. Who may learn about which token does not change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compactDecrypt, createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type CryptoKey } from 'jose';
import * as oauth from 'oauth4webapi';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth, createAdminApi, getAdminToken, readResponse, ResponseLog, type AdminApi } from '../helpers/http-support.js';
import { createUser } from '../helpers/admin.js';
import { BrowserlessUser, authorizationRequest } from '../helpers/http-login.js';

const ordersApi = 'https://api.test/jwt-introspection-orders';
const opaqueApi = 'https://api.test/jwt-introspection-opaque';
const callback = 'http://127.0.0.1:9/jwt-introspection-callback';
const jwtAccept = 'application/token-introspection+jwt';
const insecure = { [oauth.allowInsecureRequests]: true };

describe(`RFC 9701 JWT introspection answers (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: AdminApi;
  let as: oauth.AuthorizationServer;
  const log = new ResponseLog();
  const clients: Record<'gateway' | 'sealed' | 'plain' | 'web', { id: string; secret: string }> = {} as never;
  let sealedKey: CryptoKey;

  async function register(name: keyof typeof clients, metadata: Record<string, unknown>): Promise<void> {
    const created = await admin.call('POST', '/clients', { json: { client_id: `jwt-introspection-${name}`, ...metadata } });
    assert.equal(created.status, 201, created.text);
    clients[name] = { id: created.json!.client_id as string, secret: created.json!.client_secret as string };
  }

  async function token(client: { id: string; secret: string }, resource: string): Promise<string> {
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth(client.id, client.secret) },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource }),
    });
    const answer = await readResponse(response);
    assert.equal(answer.status, 200, answer.text);
    return answer.json!.access_token as string;
  }

  async function introspect(client: { id: string; secret: string }, value: string, accept = jwtAccept) {
    const response = await fetch(`${server.url}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basicAuth(client.id, client.secret), accept },
      body: new URLSearchParams({ token: value }),
    });
    log.record('POST', '/token/introspection', response);
    return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
  }

  /** The signed answer verified against the published JWKS, with the RFC 9701 §5 header and claims. */
  async function verified(body: string, audience: string): Promise<Record<string, unknown>> {
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: [] };
    const { payload, protectedHeader } = await jwtVerify(body, createLocalJWKSet(jwks), { issuer: server.issuer, audience, typ: 'token-introspection+jwt' });
    assert.equal(typeof payload.iat, 'number');
    assert.ok(protectedHeader.kid);
    return payload.token_introspection as Record<string, unknown>;
  }

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    const adminToken = await getAdminToken(server.url, log);
    admin = createAdminApi(server.url, () => adminToken, log);
    const { privateKey, publicKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    sealedKey = privateKey;
    await register('gateway', { grant_types: ['client_credentials'], introspection_signed_response_alg: 'ES256' });
    for (const api of [
      { identifier: ordersApi, scopes: ['orders.read'], client_id: clients.gateway.id },
      { identifier: opaqueApi, scopes: ['opaque.read'], access_token_format: 'opaque', client_id: clients.gateway.id },
    ]) {
      assert.equal((await admin.call('POST', '/resources', { json: api })).status, 201);
    }
    await register('sealed', {
      grant_types: ['client_credentials'],
      scope: 'orders.read opaque.read',
      introspection_signed_response_alg: 'RS256',
      introspection_encrypted_response_alg: 'RSA-OAEP-256',
      introspection_encrypted_response_enc: 'A256GCM',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'sealed-enc', use: 'enc', alg: 'RSA-OAEP-256' }] },
    });
    await register('plain', { grant_types: ['client_credentials'], scope: 'orders.read opaque.read' });
    await register('web', {
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [callback],
      scope: 'openid offline_access',
      first_party: true,
      introspection_signed_response_alg: 'ES256',
    });
    await createUser(server.url, adminToken, { username: 'nina', password: 'jwt introspection password' });
    as = await oauth.processDiscoveryResponse(new URL(server.issuer), await oauth.discoveryRequest(new URL(server.issuer), insecure));
  });

  after(async () => {
    await env?.cleanup();
    log.assertNoServerErrors();
  });

  it('discovery advertises the signing (and encryption) algorithms', () => {
    assert.deepEqual(as.introspection_signing_alg_values_supported, ['RS256', 'ES256']);
    const metadata = as as Record<string, unknown>;
    assert.ok((metadata.introspection_encryption_alg_values_supported as string[]).includes('RSA-OAEP-256'));
  });

  it('a JWT access token: oauth4webapi validates the signed answer; the same answer as JSON without the Accept', async () => {
    const value = await token(clients.plain, ordersApi);
    const client: oauth.Client = { client_id: clients.gateway.id, introspection_signed_response_alg: 'ES256' };
    const response = await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic(clients.gateway.secret), value, { requestJwtResponse: true, ...insecure });
    assert.match(String(response.headers.get('content-type')), /^application\/token-introspection\+jwt/);
    const validated = await oauth.processIntrospectionResponse(as, client, response);
    assert.equal(validated.active, true);
    assert.equal(validated.client_id, clients.plain.id);
    assert.equal(validated.aud, ordersApi);

    const asJwt = await introspect(clients.gateway, value);
    assert.equal(decodeProtectedHeader(asJwt.body).typ, 'token-introspection+jwt');
    const inner = await verified(asJwt.body, clients.gateway.id);
    const asJson = await introspect(clients.gateway, value, 'application/json');
    assert.match(String(asJson.type), /^application\/json/);
    assert.deepEqual(inner, JSON.parse(asJson.body));
  });

  it('an opaque token and a refresh token get signed answers too', async () => {
    const opaque = await token(clients.plain, opaqueApi);
    assert.equal(opaque.split('.').length, 1);
    const inner = await verified((await introspect(clients.gateway, opaque)).body, clients.gateway.id);
    assert.equal(inner.active, true);
    assert.equal(inner.aud, opaqueApi);

    const request = authorizationRequest(server.issuer, clients.web.id, callback, { scope: 'openid offline_access', prompt: 'consent' });
    const redirected = await new BrowserlessUser(callback).authorize(request.url, 'nina', 'jwt introspection password');
    const tokens = await readResponse(
      await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(clients.web.id, clients.web.secret) },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: redirected.searchParams.get('code')!, redirect_uri: callback, code_verifier: request.verifier }),
      }),
    );
    assert.equal(tokens.status, 200, tokens.text);
    const refresh = await verified((await introspect(clients.web, tokens.json!.refresh_token as string)).body, clients.web.id);
    assert.equal(refresh.active, true);
    assert.equal(refresh.client_id, clients.web.id);
  });

  it('encrypted to the client key when it registered introspection_encrypted_response_alg (a nested JWT)', async () => {
    const value = await token(clients.plain, ordersApi);
    const answer = await introspect(clients.sealed, value);
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.body.split('.').length, 5, 'a JWE');
    const { plaintext, protectedHeader } = await compactDecrypt(answer.body, sealedKey);
    assert.equal(protectedHeader.alg, 'RSA-OAEP-256');
    assert.equal(protectedHeader.enc, 'A256GCM');
    const inner = await verified(new TextDecoder().decode(plaintext), clients.sealed.id);
    assert.equal(inner.active, false, 'plain holds this token and sealed does not act for its API: the policy is unchanged');
    const own = await verified(new TextDecoder().decode((await compactDecrypt((await introspect(clients.sealed, await token(clients.sealed, ordersApi))).body, sealedKey)).plaintext), clients.sealed.id);
    assert.equal(own.active, true);
  });

  it('a client that registered no alg gets RS256 when it asks (RFC 9701 §6 default), JSON otherwise; the policy holds inside the JWT', async () => {
    const value = await token(clients.plain, ordersApi);
    const signed = await introspect(clients.plain, value);
    assert.equal(decodeProtectedHeader(signed.body).alg, 'RS256');
    assert.equal((await verified(signed.body, clients.plain.id)).active, true);
    const plain = await introspect(clients.plain, value, 'application/json');
    assert.match(String(plain.type), /^application\/json/);
    assert.equal((JSON.parse(plain.body) as { active: boolean }).active, true);
    const other = await token(clients.sealed, ordersApi);
    const refused = await verified((await introspect(clients.web, other)).body, clients.web.id);
    assert.deepEqual(refused, { active: false });
  });
});
