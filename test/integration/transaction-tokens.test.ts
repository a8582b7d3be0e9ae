// The Transaction Token Service (draft-ietf-oauth-transaction-tokens-10, src/tokens/transaction-token.ts):
// a workload that acts for the API a caller's token is addressed to, authenticating with
// private_key_jwt, trades that token at the token endpoint for a short-lived Txn-Token for the trust
// domain, which carries sub, scope (never wider), req_wl, tctx and rctx. Every refusal of the rules,
// and a Txn-Token is never taken as an access token.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CompactSign, createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type CryptoKey } from 'jose';
import { createTokenVerifier, forwardTransactionToken, TokenVerificationError } from '../../src/verify/index.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth, clientCredentialsToken, createAdminApi, getAdminToken, readResponse, ResponseLog, type AdminApi, type JsonResponse } from '../helpers/http-support.js';

const edgeApi = 'https://api.test/txn-edge';
const otherApi = 'https://api.test/txn-other';
const trustDomain = 'https://trust.example.test';
const exchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';
const txnType = 'urn:ietf:params:oauth:token-type:txn_token';
const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe(`Transaction Tokens (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let admin: AdminApi;
  const log = new ResponseLog();
  let edge: { id: string; key: CryptoKey };
  let stranger: { id: string; key: CryptoKey };
  let secretWorkload: { id: string; secret: string };
  let app: { id: string; secret: string };

  async function keyedClient(metadata: Record<string, unknown>): Promise<{ id: string; key: CryptoKey }> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const created = await admin.call('POST', '/clients', {
      json: { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }, ...metadata },
    });
    assert.equal(created.status, 201, created.text);
    return { id: created.json!.client_id as string, key: privateKey };
  }

  async function assertion(client: { id: string; key: CryptoKey }): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: client.id, sub: client.id, aud: server.issuer, jti: crypto.randomUUID(), iat: now, exp: now + 60 };
    return new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(client.key);
  }

  async function txnRequest(params: Record<string, string>, as: { id: string; key: CryptoKey } | { id: string; secret: string } = edge): Promise<JsonResponse> {
    const body = new URLSearchParams({ grant_type: exchangeGrant, requested_token_type: txnType, subject_token_type: accessTokenType, audience: trustDomain, ...params });
    const headers: Record<string, string> = {};
    if ('key' in as) {
      body.set('client_assertion_type', assertionType);
      body.set('client_assertion', await assertion(as));
    } else {
      headers.authorization = basicAuth(as.id, as.secret);
    }
    const response = await fetch(`${server.url}/token`, { method: 'POST', headers, body });
    log.record('POST', '/token', response);
    return readResponse(response);
  }

  const userToken = (resource = edgeApi, scope = 'edge.read edge.write') =>
    clientCredentialsToken(server.url, { clientId: app.id, clientSecret: app.secret, params: { resource, scope }, log });

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start({ TRUST_DOMAIN: trustDomain, TXN_TOKEN_LIFETIME: '60' });
    const adminToken = await getAdminToken(server.url, log);
    admin = createAdminApi(server.url, () => adminToken, log);
    edge = await keyedClient({ grant_types: [exchangeGrant] });
    stranger = await keyedClient({ grant_types: [exchangeGrant] });
    const created = await admin.call('POST', '/clients', { json: { grant_types: [exchangeGrant] } });
    secretWorkload = { id: created.json!.client_id as string, secret: created.json!.client_secret as string };
    for (const api of [
      { identifier: edgeApi, scopes: ['edge.read', 'edge.write'], client_id: edge.id },
      { identifier: otherApi, scopes: ['other.read'], client_id: secretWorkload.id },
    ]) {
      assert.equal((await admin.call('POST', '/resources', { json: api })).status, 201);
    }
    const appCreated = await admin.call('POST', '/clients', { json: { grant_types: ['client_credentials'], scope: 'edge.read edge.write other.read' } });
    app = { id: appCreated.json!.client_id as string, secret: appCreated.json!.client_secret as string };
  });

  after(async () => {
    await env?.cleanup();
    log.assertNoServerErrors();
  });

  it('issues a Txn-Token: typ txntoken+jwt, signed with a published key, aud the trust domain, the draft-10 claims, N_A and no refresh token', async () => {
    const subject = await userToken();
    const answer = await txnRequest({
      subject_token: subject,
      scope: 'edge.read',
      request_details: JSON.stringify({ action: 'checkout', amount: 42 }),
      request_context: JSON.stringify({ req_ip: '203.0.113.7', authn: 'pwd' }),
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json!.issued_token_type, txnType);
    assert.equal(answer.json!.token_type, 'N_A');
    assert.equal(answer.json!.refresh_token, undefined);
    const txnToken = answer.json!.access_token as string;
    const header = decodeProtectedHeader(txnToken);
    assert.equal(header.typ, 'txntoken+jwt');
    assert.ok(header.kid);
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: [] };
    const { payload } = await jwtVerify(txnToken, createLocalJWKSet(jwks), { audience: trustDomain, typ: 'txntoken+jwt' });
    assert.equal(payload.sub, app.id);
    assert.equal(payload.scope, 'edge.read');
    assert.equal(payload.req_wl, edge.id);
    assert.match(String(payload.txn), /^[0-9a-f-]{36}$/);
    assert.deepEqual(payload.tctx, { action: 'checkout', amount: 42 });
    assert.deepEqual(payload.rctx, { req_ip: '203.0.113.7', authn: 'pwd' });
    assert.ok(payload.exp! - payload.iat! <= 60);
    assert.ok(payload.exp! <= decodeJwt(subject).exp!, 'never beyond the subject token');
    assert.equal(answer.json!.expires_in, payload.exp! - payload.iat!);
    // Without scope: the subject token's.
    const all = await txnRequest({ subject_token: subject });
    assert.equal(decodeJwt(all.json!.access_token as string).scope, 'edge.read edge.write');
  });

  it('refuses: a client acting for no API, a workload with a secret, another audience, a wider scope, a subject for another API, garbage, a revoked token, bad JSON', async () => {
    const subject = await userToken();
    const cases: [string, Promise<JsonResponse>, number, string][] = [
      ['not a workload', txnRequest({ subject_token: subject }, stranger), 400, 'unauthorized_client'],
      ['a workload with a secret', txnRequest({ subject_token: await userToken(otherApi, 'other.read') }, secretWorkload), 400, 'unauthorized_client'],
      ['another audience', txnRequest({ subject_token: subject, audience: 'https://elsewhere.test' }), 400, 'invalid_target'],
      ['a resource too', txnRequest({ subject_token: subject, resource: edgeApi }), 400, 'invalid_target'],
      ['a wider scope', txnRequest({ subject_token: await userToken(edgeApi, 'edge.read'), scope: 'edge.write' }), 400, 'invalid_scope'],
      ['a subject for another API', txnRequest({ subject_token: await userToken(otherApi, 'other.read') }), 400, 'invalid_grant'],
      ['garbage', txnRequest({ subject_token: 'garbage' }), 400, 'invalid_grant'],
      ['request_details not JSON', txnRequest({ subject_token: subject, request_details: '{oops' }), 400, 'invalid_request'],
      ['request_context an array', txnRequest({ subject_token: subject, request_context: '[1]' }), 400, 'invalid_request'],
    ];
    for (const [name, made, status, error] of cases) {
      const answer = await made;
      assert.equal(answer.status, status, `${name}: ${answer.text}`);
      assert.equal(answer.json?.error, error, `${name}: ${answer.text}`);
    }
    const revokedToken = await userToken();
    const revoked = await fetch(`${server.url}/token/revocation`, { method: 'POST', headers: { authorization: basicAuth(app.id, app.secret) }, body: new URLSearchParams({ token: revokedToken }) });
    assert.equal(revoked.status, 200);
    await revoked.body?.cancel();
    const answer = await txnRequest({ subject_token: revokedToken });
    assert.equal(answer.status, 400, answer.text);
    assert.equal(answer.json?.error, 'invalid_grant');
  });

  it('two services verify it from the Txn-Token header with portcullis/verify and forward it unmodified; in Authorization it is refused', async () => {
    const answer = await txnRequest({ subject_token: await userToken(), scope: 'edge.read', request_details: JSON.stringify({ action: 'checkout' }) });
    const txnToken = answer.json!.access_token as string;
    const services = ['https://api.test/txn-payments', 'https://api.test/txn-ledger'].map((audience) =>
      createTokenVerifier({ issuer: server.issuer, audience, revocationFeed: false, trustDomain }),
    );
    try {
      const first = { method: 'POST', url: 'https://payments.internal/charge', headers: { 'txn-token': txnToken } };
      const seen = await services[0]!.transactionToken(first);
      assert.equal(seen.sub, app.id);
      assert.deepEqual(seen.scopes, ['edge.read']);
      assert.equal(seen.reqWl, edge.id);
      assert.deepEqual(seen.tctx, { action: 'checkout' });
      // The first service calls the second with the same token, unmodified.
      const onward = forwardTransactionToken(first, { 'content-type': 'application/json' });
      assert.equal(onward['Txn-Token'], txnToken);
      const second = await services[1]!.transactionToken({ method: 'GET', url: 'https://ledger.internal/x', headers: { 'txn-token': onward['Txn-Token'] } });
      assert.equal(second.txn, seen.txn);

      const codeOf = (promise: Promise<unknown>) => promise.then(() => 'ok', (error: unknown) => (error as TokenVerificationError).code);
      assert.equal(await codeOf(services[0]!.transactionToken({ method: 'GET', url: 'https://x', headers: { authorization: `Bearer ${txnToken}`, 'txn-token': txnToken } })), 'ERR_TXN_TOKEN_INVALID');
      assert.equal(await codeOf(services[0]!.authenticate({ method: 'GET', url: 'https://x', headers: { authorization: `Bearer ${txnToken}` } })), 'ERR_TOKEN_INVALID');
      assert.equal(await codeOf(services[0]!.transactionToken({ method: 'GET', url: 'https://x', headers: {} })), 'ERR_TXN_TOKEN_MISSING');
      const [h, , sig] = txnToken.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(txnToken), scope: 'edge.write' })).toString('base64url')}.${sig}`;
      assert.equal(await codeOf(services[0]!.transactionToken({ method: 'GET', url: 'https://x', headers: { 'txn-token': tampered } })), 'ERR_TXN_TOKEN_INVALID');
      const elsewhere = createTokenVerifier({ issuer: server.issuer, audience: 'https://api.test/x', revocationFeed: false, trustDomain: 'https://other.trust.test' });
      assert.equal(await codeOf(elsewhere.transactionToken(first)), 'ERR_TXN_TOKEN_INVALID', 'another trust domain');
      elsewhere.close();
    } finally {
      for (const service of services) service.close();
    }
  });

  it('a replacement keeps txn, sub, aud and the context, never widens the scope or moves exp later, grows req_wl, and is limited', async () => {
    const first = (await txnRequest({ subject_token: await userToken(), scope: 'edge.read edge.write', request_details: JSON.stringify({ order: 7 }) })).json!
      .access_token as string;
    const payments = await keyedClient({ grant_types: [exchangeGrant] });
    assert.equal((await admin.call('POST', '/resources', { json: { identifier: 'https://api.test/txn-payments-api', scopes: ['pay.read'], client_id: payments.id } })).status, 201);
    const replace = (token: string, as: { id: string; key: CryptoKey }, extra: Record<string, string> = {}) =>
      txnRequest({ subject_token: token, subject_token_type: txnType, ...extra }, as);

    const narrower = await replace(first, payments, { scope: 'edge.read' });
    assert.equal(narrower.status, 200, narrower.text);
    const [before, after] = [decodeJwt(first), decodeJwt(narrower.json!.access_token as string)];
    for (const claim of ['txn', 'sub', 'aud', 'tctx']) assert.deepEqual(after[claim], before[claim], claim);
    assert.equal(after.scope, 'edge.read');
    assert.ok(after.exp! <= before.exp!, 'exp never later');
    assert.equal(after.req_wl, `${edge.id},${payments.id}`);
    assert.equal(decodeProtectedHeader(narrower.json!.access_token as string).typ, 'txntoken+jwt');

    const wider = await replace(narrower.json!.access_token as string, payments, { scope: 'edge.write' });
    assert.equal(wider.status, 400, wider.text);
    assert.equal(wider.json?.error, 'invalid_scope');
    const notOurs = await replace('eyJhbGciOiJFUzI1NiJ9.e30.c2ln', payments);
    assert.equal(notOurs.json?.error, 'invalid_grant');

    // TXN_TOKEN_MAX_REPLACEMENTS (3 by default): the chain holds the asker and three replacers.
    let token = narrower.json!.access_token as string;
    for (let round = 2; round <= 3; round += 1) {
      const next = await replace(token, payments);
      assert.equal(next.status, 200, `replacement ${round}: ${next.text}`);
      token = next.json!.access_token as string;
    }
    const tooMany = await replace(token, payments);
    assert.equal(tooMany.status, 400, tooMany.text);
    assert.equal(tooMany.json?.error, 'invalid_grant');
    assert.match(String(tooMany.json?.error_description), /replaced 3 times/);
  });

  it('a Txn-Token is never an access token: refused by the admin API, userinfo and token exchange', async () => {
    const txnToken = (await txnRequest({ subject_token: await userToken() })).json!.access_token as string;
    const adminCall = await fetch(`${server.url}/admin/clients`, { headers: { authorization: `Bearer ${txnToken}` } });
    assert.equal(adminCall.status, 401);
    await adminCall.body?.cancel();
    const userinfo = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${txnToken}` } });
    assert.equal(userinfo.status, 401);
    await userinfo.body?.cancel();
    const body = new URLSearchParams({
      grant_type: exchangeGrant,
      subject_token: txnToken,
      subject_token_type: accessTokenType,
      resource: edgeApi,
      client_assertion_type: assertionType,
      client_assertion: await assertion(edge),
    });
    const exchanged = await readResponse(await fetch(`${server.url}/token`, { method: 'POST', body }));
    assert.equal(exchanged.status, 400, exchanged.text);
    assert.equal(exchanged.json?.error, 'invalid_grant');
  });

  it('the audit trail records txn, sub and the requesting workload, never the token', async () => {
    const answer = await txnRequest({ subject_token: await userToken() });
    const txnToken = answer.json!.access_token as string;
    const txn = decodeJwt(txnToken).txn;
    const events = await admin.call('GET', '/events?type=txn_token');
    assert.equal(events.status, 200, events.text);
    const items = events.json!.items as { details: Record<string, unknown>; sub: string; client_id: string }[];
    const event = items.find((item) => item.details.txn === txn);
    assert.ok(event, 'the issuance is in the trail');
    assert.equal(event.details.req_wl, edge.id);
    assert.equal(event.sub, app.id);
    assert.ok(!events.text.includes(txnToken), 'never the token itself');
  });
});
