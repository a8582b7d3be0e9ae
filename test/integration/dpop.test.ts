// DPoP (RFC 9449) at the token endpoint: a certified client library (oauth4webapi) gets a
// DPoP-bound token, a third-party resource-server validator (oauth4webapi's
// validateJwtAccessToken) accepts it with a proof by the right key and refuses another key, and
// every check of §4.3 refuses with invalid_dpop_proof and a description naming it. Each proof is
// accepted once, however many requests carry it at once (src/tokens/dpop-proofs.ts).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth, createAdminApi, getAdminToken, readResponse, ResponseLog, type AdminApi, type JsonResponse } from '../helpers/http-support.js';
import { dpopKey, dpopProof } from '../helpers/dpop.js';

const ordersApi = 'https://api.test/dpop-orders';
const insecure = { [oauth.allowInsecureRequests]: true };

describe(`DPoP at the token endpoint (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: AdminApi;
  let as: oauth.AuthorizationServer;
  const log = new ResponseLog();
  let service: { id: string; secret: string };

  const tokenUrl = () => `${server.url}/token`;

  async function tokenRequest(headers: Record<string, string>, form: Record<string, string> = {}): Promise<JsonResponse> {
    const response = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(service.id, service.secret), ...headers },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: ordersApi, scope: 'orders.read', ...form }),
    });
    log.record('POST', '/token', response);
    return readResponse(response);
  }

  function assertRefused(answer: JsonResponse, check: RegExp): void {
    assert.equal(answer.status, 400, answer.text);
    assert.equal(answer.json?.error, 'invalid_dpop_proof', answer.text);
    assert.match(String(answer.json?.error_description), check);
    assert.equal(answer.json?.access_token, undefined);
  }

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    const adminToken = await getAdminToken(server.url, log);
    admin = createAdminApi(server.url, () => adminToken, log);
    const api = await admin.call('POST', '/resources', { json: { identifier: ordersApi, scopes: ['orders.read'], access_token_ttl: 300 } });
    assert.equal(api.status, 201, api.text);
    const created = await admin.call('POST', '/clients', { json: { grant_types: ['client_credentials'], scope: 'orders.read' } });
    assert.equal(created.status, 201, created.text);
    service = { id: created.json!.client_id as string, secret: created.json!.client_secret as string };
    as = await oauth.processDiscoveryResponse(new URL(server.issuer), await oauth.discoveryRequest(new URL(server.issuer), insecure));
  });

  after(async () => {
    await env?.cleanup();
    log.assertNoServerErrors();
  });

  it('discovery advertises the proof algorithms, asymmetric only (§5.1)', () => {
    const algs = as.dpop_signing_alg_values_supported;
    assert.ok(Array.isArray(algs) && algs.includes('ES256'), String(algs));
    assert.ok(algs.every((alg) => alg !== 'none' && !alg.startsWith('HS')), String(algs));
  });

  it('oauth4webapi gets a DPoP-bound token: token_type DPoP, cnf.jkt of its key; a resource-server validator accepts it with a proof and refuses another key', async () => {
    const keyPair = await generateKeyPair('ES256');
    const client: oauth.Client = { client_id: service.id };
    const dpop = oauth.DPoP(client, keyPair);
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(service.secret), { resource: ordersApi, scope: 'orders.read' }, { DPoP: dpop, ...insecure });
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    assert.equal(result.token_type, 'dpop');
    const claims = decodeJwt(result.access_token);
    assert.deepEqual(claims.cnf, { jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256') });

    // The API side: oauth4webapi's RFC 9068 validator with its DPoP check (RFC 9449 §7).
    const apiUrl = 'https://api.test/dpop-orders/orders';
    const asResource = async (key: CryptoKeyPair) => {
      const proof = await new SignJWT({ htm: 'GET', htu: apiUrl, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), ath: crypto.hash('sha256', result.access_token, 'base64url') })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(key.publicKey) })
        .sign(key.privateKey);
      const request = new Request(apiUrl, { headers: { authorization: `DPoP ${result.access_token}`, dpop: proof } });
      return oauth.validateJwtAccessToken(as, request, ordersApi, insecure);
    };
    const validated = await asResource(keyPair);
    assert.equal(validated.client_id, service.id);
    await assert.rejects(asResource(await generateKeyPair('ES256')), /confirmation mismatch/);
  });

  it('a proof is accepted once: its replay is refused, and of 20 parallel uses exactly one gets a token (§11.1)', async () => {
    const key = await dpopKey();
    const proof = await dpopProof(key, { htu: tokenUrl() });
    const first = await tokenRequest({ dpop: proof });
    assert.equal(first.status, 200, first.text);
    assertRefused(await tokenRequest({ dpop: proof }), /used already/);

    const shared = await dpopProof(key, { htu: tokenUrl() });
    const answers = await Promise.all(Array.from({ length: 20 }, () => tokenRequest({ dpop: shared })));
    assert.equal(answers.filter((answer) => answer.status === 200).length, 1, answers.map((answer) => answer.status).join(','));
    for (const answer of answers.filter((candidate) => candidate.status !== 200)) assertRefused(answer, /used already/);
  });

  it('refuses each failed check of §4.3 with invalid_dpop_proof naming it', async () => {
    const key = await dpopKey();
    const now = Math.floor(Date.now() / 1000);
    const hmacProof = await new SignJWT({ htm: 'POST', htu: tokenUrl(), iat: now, jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk })
      .sign(Buffer.from('secretsecretsecretsecret'));
    const privateJwk = await exportJWK(key.privateKey);
    const cases: [string, Record<string, string>, RegExp][] = [
      ['wrong htu', { dpop: await dpopProof(key, { htu: `${server.url}/other` }) }, /htu/],
      ['htu of another host', { dpop: await dpopProof(key, { htu: 'https://elsewhere.example/token' }) }, /htu/],
      ['wrong htm', { dpop: await dpopProof(key, { htu: tokenUrl(), htm: 'GET' }) }, /htm/],
      ['HMAC', { dpop: hmacProof }, /alg/],
      ['future', { dpop: await dpopProof(key, { htu: tokenUrl(), iat: now + 120 }) }, /iat.*future/],
      ['no jti', { dpop: await dpopProof(key, { htu: tokenUrl(), claims: { jti: undefined } }) }, /jti/],
      ['wrong typ', { dpop: await dpopProof(key, { htu: tokenUrl(), header: { typ: 'JWT' } }) }, /typ/],
      ['private key in the header', { dpop: await dpopProof(key, { htu: tokenUrl(), header: { jwk: privateJwk } }) }, /public/],
      ['another key signed it', { dpop: await dpopProof({ ...(await dpopKey()), publicJwk: key.publicJwk }, { htu: tokenUrl() }) }, /signature/],
      ['not a JWT', { dpop: 'not-a-jwt' }, /not a JWT/],
    ];
    for (const [name, headers, check] of cases) {
      const answer = await tokenRequest(headers);
      assert.equal(answer.status, 400, `${name}: ${answer.text}`);
      assert.equal(answer.json?.error, 'invalid_dpop_proof', `${name}: ${answer.text}`);
      assert.match(String(answer.json?.error_description), check, name);
    }
  });

  it('a stale proof is refused, with a nonce too; a proof with a nonce of this server is accepted, a forged nonce gets use_dpop_nonce and a good one (§8)', async () => {
    const key = await dpopKey();
    const stale = await tokenRequest({ dpop: await dpopProof(key, { htu: tokenUrl(), iat: Math.floor(Date.now() / 1000) - 600 }) });
    assertRefused(stale, /iat is more than 300 s old/);
    const nonce = stale.headers.get('dpop-nonce') ?? (await tokenRequest({ dpop: await dpopProof(key, { htu: tokenUrl(), nonce: 'forged' }) })).headers.get('dpop-nonce');
    assert.ok(nonce, 'a DPoP-Nonce header');
    assertRefused(await tokenRequest({ dpop: await dpopProof(key, { htu: tokenUrl(), iat: Math.floor(Date.now() / 1000) - 600, nonce }) }), /iat/);
    const withNonce = await tokenRequest({ dpop: await dpopProof(key, { htu: tokenUrl(), nonce }) });
    assert.equal(withNonce.status, 200, withNonce.text);
    assert.equal(withNonce.json?.token_type, 'DPoP');
    const forged = await tokenRequest({ dpop: await dpopProof(key, { htu: tokenUrl(), nonce: 'not-a-nonce-of-this-server' }) });
    assert.equal(forged.status, 400, forged.text);
    assert.equal(forged.json?.error, 'use_dpop_nonce');
    assert.ok(forged.headers.get('dpop-nonce'));
  });

  it('refuses two DPoP headers (§4.3 item 1)', async () => {
    const key = await dpopKey();
    const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(service.id, service.secret) });
    headers.append('dpop', await dpopProof(key, { htu: tokenUrl() }));
    headers.append('dpop', await dpopProof(key, { htu: tokenUrl() }));
    const answer = await readResponse(
      await fetch(tokenUrl(), { method: 'POST', headers, body: new URLSearchParams({ grant_type: 'client_credentials', resource: ordersApi }) }),
    );
    assertRefused(answer, /exactly one DPoP header/);
  });

  it('without a proof the token stays a Bearer token without cnf', async () => {
    const answer = await tokenRequest({});
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json?.token_type, 'Bearer');
    assert.equal(decodeJwt(answer.json.access_token as string).cnf, undefined);
  });
});
