// DPoP replay and nonce state is shared by every instance and survives losing Redis's data
// (RFC 9449 §11.1, §8): a proof spent on one instance is refused on the other, 20 parallel uses
// spread over both get one token, a nonce one instance handed out is good on the other, and a
// proof used before Redis was flushed is refused after it. DPOP_REQUIRE_NONCE makes every proof
// carry a nonce; oauth4webapi's retry on use_dpop_nonce gets the token.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPair } from 'jose';
import { Redis } from 'ioredis';
import * as oauth from 'oauth4webapi';
import { createTestEnvironment, freePort, realStores, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { startRedisServer } from '../helpers/stores.js';
import { basicAuth, createAdminApi, getAdminToken, readResponse, ResponseLog, type JsonResponse } from '../helpers/http-support.js';
import { dpopKey, dpopProof } from '../helpers/dpop.js';

const ordersApi = 'https://api.test/dpop-instances-orders';
const insecure = { [oauth.allowInsecureRequests]: true };

async function registerService(server: TestServer, log: ResponseLog): Promise<{ id: string; secret: string }> {
  const adminToken = await getAdminToken(server.url, log);
  const admin = createAdminApi(server.url, () => adminToken, log);
  const api = await admin.call('POST', '/resources', { json: { identifier: ordersApi, scopes: ['orders.read'] } });
  assert.equal(api.status, 201, api.text);
  const created = await admin.call('POST', '/clients', { json: { grant_types: ['client_credentials'], scope: 'orders.read' } });
  assert.equal(created.status, 201, created.text);
  return { id: created.json!.client_id as string, secret: created.json!.client_secret as string };
}

/** A client_credentials request to `url` with this DPoP header; the proof names the issuer's token endpoint. */
async function tokenWith(url: string, service: { id: string; secret: string }, proof: string, log: ResponseLog): Promise<JsonResponse> {
  const response = await fetch(`${url}/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(service.id, service.secret), dpop: proof },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: ordersApi }),
  });
  log.record('POST', '/token', response);
  return readResponse(response);
}

if (realStores) {
  describe('DPoP on two instances of one issuer (Postgres + Redis)', () => {
    let env: TestEnvironment;
    let first: TestServer;
    let second: TestServer;
    const log = new ResponseLog();
    let service: { id: string; secret: string };

    before(async () => {
      env = await createTestEnvironment();
      first = await env.start({ DPOP_REQUIRE_NONCE: 'true' });
      second = await env.start({ ISSUER: first.issuer, DPOP_REQUIRE_NONCE: 'true' });
      service = await registerService(first, log);
    });

    after(async () => {
      await env?.cleanup();
      log.assertNoServerErrors();
    });

    it('a nonce from one instance is good on the other; a proof spent on one is refused on the other; of 20 parallel uses over both, one gets a token', async () => {
      const key = await dpopKey();
      const htu = `${first.issuer}/token`;
      const asked = await tokenWith(first.url, service, await dpopProof(key, { htu }), log);
      assert.equal(asked.status, 400, asked.text);
      assert.equal(asked.json?.error, 'use_dpop_nonce');
      const nonce = asked.headers.get('dpop-nonce')!;
      assert.ok(nonce);

      const proof = await dpopProof(key, { htu, nonce });
      const served = await tokenWith(second.url, service, proof, log);
      assert.equal(served.status, 200, served.text);
      const replayed = await tokenWith(first.url, service, proof, log);
      assert.equal(replayed.status, 400, replayed.text);
      assert.equal(replayed.json?.error, 'invalid_dpop_proof');
      assert.match(String(replayed.json?.error_description), /used already/);

      const shared = await dpopProof(key, { htu, nonce });
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => tokenWith(i % 2 ? first.url : second.url, service, shared, log)));
      assert.equal(answers.filter((answer) => answer.status === 200).length, 1, answers.map((answer) => answer.status).join(','));
    });
  });
}

describe(`DPoP proofs after a Redis data loss, and required nonces (dedicated Redis, ${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let redisDir: string;
  let redisPort: number;
  let redis: { stop(): Promise<void> };
  const log = new ResponseLog();
  let service: { id: string; secret: string };

  before(async () => {
    env = await createTestEnvironment();
    redisPort = await freePort();
    redisDir = await fs.mkdtemp(path.join(os.tmpdir(), 'portcullis-dpop-redis-'));
    redis = await startRedisServer(redisPort, redisDir);
    server = await env.start({ REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    service = await registerService(server, log);
  });

  after(async () => {
    await env?.cleanup();
    await redis?.stop();
    if (redisDir) await fs.rm(redisDir, { recursive: true, force: true });
    log.assertNoServerErrors();
  });

  it('a proof used before a FLUSHALL is refused after it, and so is one made before it and never used; a fresh one works', async () => {
    const key = await dpopKey();
    const htu = `${server.issuer}/token`;
    const used = await dpopProof(key, { htu });
    const issued = await tokenWith(server.url, service, used, log);
    assert.equal(issued.status, 200, issued.text);
    const neverUsed = await dpopProof(key, { htu });
    // `iat` names a whole second, and a proof of the second the markers began counts as after it
    // (src/tokens/dpop-proofs.ts): the loss comes in a later second. A real wait: Redis's clock.
    await sleep(1000 - (Date.now() % 1000) + 20);
    const flusher = new Redis({ port: redisPort, host: '127.0.0.1', lazyConnect: true });
    try {
      await flusher.connect();
      assert.equal(await flusher.flushall(), 'OK');
    } finally {
      flusher.disconnect();
    }
    const replayed = await tokenWith(server.url, service, used, log);
    assert.equal(replayed.status, 400, replayed.text);
    assert.equal(replayed.json?.error, 'invalid_dpop_proof');
    assert.match(String(replayed.json?.error_description), /lost its replay state/);
    assert.match(String((await tokenWith(server.url, service, neverUsed, log)).json?.error_description), /lost its replay state/);
    const fresh = await dpopProof(key, { htu });
    assert.equal((await tokenWith(server.url, service, fresh, log)).status, 200);
    assert.match(String((await tokenWith(server.url, service, fresh, log)).json?.error_description), /used already/);
  });

});

describe(`DPOP_REQUIRE_NONCE (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  const log = new ResponseLog();
  let service: { id: string; secret: string };

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start({ DPOP_REQUIRE_NONCE: 'true' });
    service = await registerService(server, log);
  });

  after(async () => {
    await env?.cleanup();
    log.assertNoServerErrors();
  });

  it('oauth4webapi is asked for a nonce and gets its token on the retry; a bearer request is unaffected', async () => {
    const as = await oauth.processDiscoveryResponse(new URL(server.issuer), await oauth.discoveryRequest(new URL(server.issuer), insecure));
    const client: oauth.Client = { client_id: service.id };
    const dpop = oauth.DPoP(client, await generateKeyPair('ES256'));
    const request = (options = { DPoP: dpop, ...insecure }) =>
      oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(service.secret), { resource: ordersApi }, options);
    const first = await oauth.processClientCredentialsResponse(as, client, await request()).then(
      () => assert.fail('a nonce is required'),
      (error: unknown) => error,
    );
    assert.ok(oauth.isDPoPNonceError(first), String(first));
    const issued = await oauth.processClientCredentialsResponse(as, client, await request());
    assert.equal(issued.token_type, 'dpop');
    const bearer = await oauth.processClientCredentialsResponse(as, client, await request({ ...insecure } as never));
    assert.equal(bearer.token_type, 'bearer');
  });
});
