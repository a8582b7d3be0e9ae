// A restart keeps everything of record: clients, users, APIs and signing keys live in the
// database and KEYS_DIR, not in the process, so tokens issued before a restart still verify after.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createTestEnvironment, storesLabel, type TestEnvironment } from '../helpers/server.js';
import { clientCredentialsToken, createAdminApi, getAdminToken, ResponseLog } from '../helpers/http-support.js';

const ledgerApi = 'https://api.test/ledger';

async function fetchJwks(server: { url: string }): Promise<JSONWebKeySet> {
  const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
  const response = await fetch(discovery.jwks_uri);
  assert.equal(response.status, 200);
  return (await response.json()) as JSONWebKeySet;
}

describe(`restart (${storesLabel})`, () => {
  let env: TestEnvironment;
  const log = new ResponseLog();

  before(async () => {
    env = await createTestEnvironment();
  });

  after(async () => {
    await env?.cleanup();
  });

  it('keeps clients, users, APIs and signing keys across a restart', async () => {
    // First life.
    const first = await env.start();
    const firstAdmin = await getAdminToken(first.url, log);
    const admin1 = createAdminApi(first.url, () => firstAdmin, log);
    const api = await admin1.call('POST', '/resources', {
      json: { identifier: ledgerApi, name: 'Ledger', scopes: ['ledger.read'], access_token_ttl: 900 },
    });
    assert.equal(api.status, 201, api.text);
    const client = await admin1.call('POST', '/clients', {
      json: { client_name: 'ledger reader', grant_types: ['client_credentials'], scope: 'ledger.read' },
    });
    assert.equal(client.status, 201, client.text);
    const clientId = client.json?.client_id as string;
    const clientSecret = client.json?.client_secret as string;
    const user = await admin1.call('POST', '/users', {
      json: { username: 'frank', password: 'frank-password', email: 'frank@example.test' },
    });
    assert.equal(user.status, 201, user.text);
    const sub = user.json?.sub as string;

    const oldToken = await clientCredentialsToken(first.url, {
      clientId,
      clientSecret,
      params: { resource: ledgerApi, scope: 'ledger.read' },
      log,
    });
    const jwksBefore = await fetchJwks(first);
    await first.close();

    // The first server is gone.
    await assert.rejects(fetch(`${first.url}/healthz`));

    // Second life, on the same DATA_DIR / database, Redis prefix and KEYS_DIR, and the same
    // issuer and port, as a restarted deployment would be.
    const restarted = await env.start({ PORT: String(first.port), ISSUER: first.issuer });
    const second = { ...restarted, url: `http://127.0.0.1:${restarted.port}`, issuer: restarted.config.issuer };
    assert.equal(second.url, first.url);
    assert.equal(second.issuer, first.issuer);

    const jwksAfter = await fetchJwks(second);
    const kids = (set: JSONWebKeySet) => set.keys.map((key) => key.kid).sort();
    assert.deepEqual(kids(jwksAfter), kids(jwksBefore), 'the same signing keys are published');
    assert.deepEqual(jwksAfter.keys.map((key) => key.x ?? key.n).sort(), jwksBefore.keys.map((key) => key.x ?? key.n).sort());

    // The old token verifies against the new JWKS.
    const { payload } = await jwtVerify(oldToken, createLocalJWKSet(jwksAfter), {
      issuer: second.issuer,
      audience: ledgerApi,
      typ: 'at+jwt',
    });
    assert.equal(payload.client_id, clientId);

    // The bootstrap admin client and the registered client still get tokens.
    const secondAdmin = await getAdminToken(second.url, log);
    const admin2 = createAdminApi(second.url, () => secondAdmin, log);
    const newToken = await clientCredentialsToken(second.url, {
      clientId,
      clientSecret,
      params: { resource: ledgerApi, scope: 'ledger.read' },
      log,
    });
    const verified = await jwtVerify(newToken, createLocalJWKSet(jwksAfter), {
      issuer: second.issuer,
      audience: ledgerApi,
      typ: 'at+jwt',
    });
    assert.equal(verified.payload.exp! - verified.payload.iat!, 900, 'the API TTL survived');

    // The user and the API are still there, unchanged.
    const userAfter = await admin2.call('GET', `/users/${encodeURIComponent(sub)}`);
    assert.equal(userAfter.status, 200, userAfter.text);
    assert.equal(userAfter.json?.username, 'frank');
    assert.equal(userAfter.json?.email, 'frank@example.test');
    const apiAfter = await admin2.call('GET', `/resources/${encodeURIComponent(ledgerApi)}`);
    assert.equal(apiAfter.status, 200, apiAfter.text);
    assert.deepEqual(apiAfter.json?.scopes, ['ledger.read']);
    assert.equal(apiAfter.json?.name, 'Ledger');
    const clientAfter = await admin2.call('GET', `/clients/${encodeURIComponent(clientId)}`);
    assert.equal(clientAfter.status, 200);
    assert.equal(clientAfter.json?.client_name, 'ledger reader');

    // The bootstrap did not create a second admin client or replace the first one's secret.
    const clients = await admin2.call('GET', '/clients?limit=200');
    const ids = (clients.json?.items as { client_id: string }[]).map((item) => item.client_id);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(ids.length, 2, `the bootstrap admin and the registered client only: ${ids.join(', ')}`);

    log.assertNoServerErrors();
  });
});
