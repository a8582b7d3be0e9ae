// portcullis/verify checks DPoP-bound tokens with their proofs (RFC 9449 §7): an API on Node's
// http (the README's example) serves oauth4webapi's DPoP requests, refuses the bound token as
// Bearer, a replayed proof, a proof for another URL or by another key, and answers with the RFC's
// WWW-Authenticate: DPoP challenges (which oauth4webapi reads: its use_dpop_nonce retry works).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair } from 'jose';
import * as oauth from 'oauth4webapi';
import { authenticationFailure, createTokenVerifier, TokenVerificationError, type TokenVerifier } from '../../src/verify/index.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth, createAdminApi, getAdminToken, readResponse, ResponseLog } from '../helpers/http-support.js';
import { dpopKey, dpopProof, type DpopKey } from '../helpers/dpop.js';

const ordersApi = 'https://api.test/verify-dpop-orders';
const insecure = { [oauth.allowInsecureRequests]: true };

/** The README's Node http API: authenticate, then answer the failure as the verifier says. */
async function startApi(verifier: TokenVerifier): Promise<{ url: string; close(): Promise<void> }> {
  let base = '';
  const server = http.createServer((req, res) => {
    const request = { method: req.method!, url: new URL(req.url!, base).href, headers: req.headers };
    verifier.authenticate(request, { scope: 'orders.read' }).then(
      ({ claims, scheme }) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: claims.sub, scheme }));
      },
      (error: unknown) => {
        const failure = authenticationFailure(error, request, { realm: 'orders', scope: 'orders.read' });
        res.writeHead(failure.status, { ...failure.headers, 'content-type': 'application/json' }).end(JSON.stringify(failure.body));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `${base}/orders`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe(`portcullis/verify with DPoP-bound tokens (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  const log = new ResponseLog();
  let service: { id: string; secret: string };

  async function boundToken(key: DpopKey): Promise<string> {
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth(service.id, service.secret), dpop: await dpopProof(key, { htu: `${server.url}/token` }) },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: ordersApi }),
    });
    const answer = await readResponse(response);
    assert.equal(answer.status, 200, answer.text);
    return answer.json!.access_token as string;
  }

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
    const adminToken = await getAdminToken(server.url, log);
    const admin = createAdminApi(server.url, () => adminToken, log);
    assert.equal((await admin.call('POST', '/resources', { json: { identifier: ordersApi, scopes: ['orders.read'] } })).status, 201);
    const created = await admin.call('POST', '/clients', { json: { grant_types: ['client_credentials'], scope: 'orders.read' } });
    service = { id: created.json!.client_id as string, secret: created.json!.client_secret as string };
  });

  after(async () => {
    await env?.cleanup();
    log.assertNoServerErrors();
  });

  it('an API on node:http serves oauth4webapi with its DPoP key and refuses the same token as Bearer or with another key', async () => {
    const verifier = createTokenVerifier({ issuer: server.issuer, audience: ordersApi, revocationFeed: false });
    const api = await startApi(verifier);
    try {
      const as = await oauth.processDiscoveryResponse(new URL(server.issuer), await oauth.discoveryRequest(new URL(server.issuer), insecure));
      const client: oauth.Client = { client_id: service.id };
      const keyPair = await generateKeyPair('ES256');
      const dpop = oauth.DPoP(client, keyPair);
      const issued = await oauth.processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(service.secret), { resource: ordersApi }, { DPoP: dpop, ...insecure }),
      );
      const served = await oauth.protectedResourceRequest(issued.access_token, 'GET', new URL(api.url), undefined, undefined, { DPoP: dpop, ...insecure });
      assert.equal(served.status, 200);
      assert.deepEqual(await served.json(), { sub: service.id, scheme: 'DPoP' });

      const asBearer = await fetch(api.url, { headers: { authorization: `Bearer ${issued.access_token}` } });
      assert.equal(asBearer.status, 401);
      assert.match(String(asBearer.headers.get('www-authenticate')), /^DPoP realm="orders", error="invalid_token"/);
      await asBearer.body?.cancel();

      const otherKey = oauth.DPoP(client, await generateKeyPair('ES256'));
      // oauth4webapi reads the challenge itself: the 401 comes back as its WWWAuthenticateChallengeError.
      const stolen = await oauth.protectedResourceRequest(issued.access_token, 'GET', new URL(api.url), undefined, undefined, { DPoP: otherKey, ...insecure }).then(
        () => assert.fail('another key must be refused'),
        (error: unknown) => error,
      );
      assert.ok(stolen instanceof oauth.WWWAuthenticateChallengeError, String(stolen));
      assert.equal(stolen.status, 401);
      const [challenge] = stolen.cause;
      assert.equal(challenge?.scheme, 'dpop');
      assert.equal(challenge?.parameters.error, 'invalid_dpop_proof');
      assert.match(String(challenge?.parameters.error_description), /key the access token is bound to/);
    } finally {
      await api.close();
      verifier.close();
    }
  });

  it('refuses a replayed proof, one for another URL or method, and a bound token given to verify(); stable codes', async () => {
    const verifier = createTokenVerifier({ issuer: server.issuer, audience: ordersApi, revocationFeed: false });
    try {
      const key = await dpopKey();
      const token = await boundToken(key);
      const url = 'https://orders.test/orders/7';
      const request = async (proofOptions: Parameters<typeof dpopProof>[1], method = 'GET') => ({
        method,
        url: `${url}?expand=lines`,
        headers: { authorization: `DPoP ${token}`, dpop: await dpopProof(key, proofOptions) },
      });
      const codeOf = async (promise: Promise<unknown>) => {
        const error = await promise.then(() => undefined, (caught: unknown) => caught);
        assert.ok(error instanceof TokenVerificationError, String(error));
        return error.code;
      };
      const good = await request({ htm: 'GET', htu: url, accessToken: token });
      assert.equal((await verifier.authenticate(good)).scheme, 'DPoP', 'the query is not part of htu (§4.3 item 9)');
      assert.equal(await codeOf(verifier.authenticate(good)), 'ERR_DPOP_PROOF_REPLAYED');
      assert.equal(await codeOf(verifier.authenticate(await request({ htm: 'GET', htu: 'https://orders.test/other', accessToken: token }))), 'ERR_DPOP_PROOF_INVALID');
      assert.equal(await codeOf(verifier.authenticate(await request({ htm: 'POST', htu: url, accessToken: token }))), 'ERR_DPOP_PROOF_INVALID');
      assert.equal(await codeOf(verifier.authenticate(await request({ htm: 'GET', htu: url }))), 'ERR_DPOP_PROOF_INVALID', 'no ath');
      assert.equal(await codeOf(verifier.authenticate({ method: 'GET', url, headers: { authorization: `DPoP ${token}` } })), 'ERR_DPOP_PROOF_INVALID');
      assert.equal(await codeOf(verifier.verify(token)), 'ERR_DPOP_BOUND_TOKEN');
      assert.equal(await codeOf(verifier.authenticate({ method: 'GET', url, headers: {} })), 'ERR_TOKEN_MISSING');
      const missing = authenticationFailure(new TokenVerificationError('ERR_TOKEN_MISSING', 'an access token is required'), { method: 'GET', url, headers: {} });
      assert.equal(missing.status, 401);
      assert.match(missing.headers['WWW-Authenticate']!, /^Bearer, DPoP algs="ES256/);
    } finally {
      verifier.close();
    }
  });

  it('requireDpop refuses bearer tokens; an API nonce (§9) is asked for with use_dpop_nonce, and oauth4webapi retries with it', async () => {
    const secret = crypto.randomBytes(32);
    const nonceOf = (minute: number) => crypto.createHmac('sha256', secret).update(String(minute)).digest('base64url');
    const nonces = {
      required: true,
      next: () => nonceOf(Math.floor(Date.now() / 60_000)),
      isValid: (nonce: string) => [0, 1].some((age) => nonce === nonceOf(Math.floor(Date.now() / 60_000) - age)),
    };
    const verifier = createTokenVerifier({ issuer: server.issuer, audience: ordersApi, revocationFeed: false, requireDpop: true, dpopNonces: nonces });
    const api = await startApi(verifier);
    try {
      const bearer = await readResponse(
        await fetch(`${server.url}/token`, {
          method: 'POST',
          headers: { authorization: basicAuth(service.id, service.secret) },
          body: new URLSearchParams({ grant_type: 'client_credentials', resource: ordersApi }),
        }),
      );
      const refused = await fetch(api.url, { headers: { authorization: `Bearer ${bearer.json!.access_token as string}` } });
      assert.equal(refused.status, 401);
      assert.match(String(refused.headers.get('www-authenticate')), /^DPoP .*accepts only DPoP-bound/);
      await refused.body?.cancel();

      const key = await dpopKey();
      const token = await boundToken(key);
      const client: oauth.Client = { client_id: service.id };
      const dpop = oauth.DPoP(client, { privateKey: key.privateKey, publicKey: key.publicKey });
      const first = await oauth.protectedResourceRequest(token, 'GET', new URL(api.url), undefined, undefined, { DPoP: dpop, ...insecure }).then(
        () => assert.fail('the first request has no nonce'),
        (error: unknown) => error,
      );
      assert.ok(oauth.isDPoPNonceError(first), String(first));
      const retried = await oauth.protectedResourceRequest(token, 'GET', new URL(api.url), undefined, undefined, { DPoP: dpop, ...insecure });
      assert.equal(retried.status, 200);
    } finally {
      await api.close();
      verifier.close();
    }
  });
});
